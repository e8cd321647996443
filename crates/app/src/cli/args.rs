//! Command-line arguments (clap derive); each `///` comment is the flag's `--help` text.

use std::path::PathBuf;

use app::{BackendKind, LrSchedule, RunConfig, ScaleFit, SeriesConfig, TrainingConfig};
use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use data::SyntheticConfig;
use data::{CalendarFeature, ColumnRef, FillPolicy, PowerChoice, ScaleKind, TransformRequest};
use model::{CellActivation, CellKind, GateActivation};

/// Train an LSTM on the Keras tutorial's data with Burn, evaluate it and plot its predictions.
#[derive(Debug, Parser)]
#[command(name = "app", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
// Parsed once per process: the size of `TrainArgs` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit the LSTM with Adam and MSE, print the evaluation loss and save the run.
    Train(TrainArgs),
    /// Plot a saved run: loss.png (loss per epoch), and predictions.png (actual vs predicted) for
    /// the synthetic data or forecast.png for a series.
    Plot(PlotArgs),
    /// Forecast with a run trained on a series (--csv): the test part from every window (rolling
    /// origin) and the values after the end; writes forecast.csv, forecast.png and metrics.json.
    Forecast(ForecastArgs),
    /// Backtest a series run: forecasts from every origin after --start, each from a model
    /// trained on the values before it alone (once, or again every --refit-every origins),
    /// scored overall and per step beside the baselines; writes backtest.csv, backtest.json
    /// and backtest.png. Takes train's flags.
    Backtest(BacktestArgs),
    /// Measure training and inference speed on the workloads W1 (the tutorial), W2 and W3.
    Bench(BenchArgs),
    /// Evaluate a saved run: the tutorial's `Loss:` (MSE over the synthetic sequences), or the
    /// test metrics of a series run against the linear and naive baselines.
    Evaluate(EvaluateArgs),
    /// Write the synthetic data set as CSV (columns x0..x{steps-1},y), exactly as NumPy makes it.
    Dataset(DatasetArgs),
}

/// How the learning rate changes per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// --learning-rate throughout.
    Constant,
    /// Multiplied by --lr-factor every --lr-step-epochs epochs.
    Step,
    /// Half a cosine from --learning-rate to zero over --epochs.
    Cosine,
    /// Multiplied by --lr-factor after --lr-patience epochs without improvement of the
    /// validation loss (the training loss without a validation part), like Keras'
    /// ReduceLROnPlateau.
    Plateau,
}

/// The synthetic data: `np.random.seed(SEED); X = randn(SAMPLES, STEPS, 1); y = sin(mean(X, 1))`.
#[derive(Clone, Debug, Args)]
pub struct DataArgs {
    /// Random seed: NumPy's seed for the data, and the seed of weight initialisation and
    /// shuffling (0 to 4294967295).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Number of sequences.
    #[arg(long, default_value_t = 100, value_parser = at_least_one())]
    pub samples: usize,
    /// Time steps per sequence.
    #[arg(long, default_value_t = 10, value_parser = at_least_one())]
    pub steps: usize,
}

/// A real series: `--csv FILE --column NAME_OR_INDEX` instead of the synthetic data.
#[derive(Clone, Debug, Args)]
pub struct SeriesArgs {
    /// Train on a series from this CSV file instead of the synthetic data.
    #[arg(long, requires = "column", conflicts_with_all = ["samples", "steps"])]
    pub csv: Option<PathBuf>,
    /// The value column of --csv (the target of the forecasts), by header name or 0-based index.
    #[arg(long, visible_alias = "target", requires = "csv", value_parser = parse_column)]
    pub column: Option<ColumnRef>,
    /// Further columns of --csv the model reads beside the target at every step of its window
    /// (observed up to each forecast's origin), comma-separated names or indexes.
    #[arg(long, value_name = "COL,...", value_delimiter = ',', requires = "csv", value_parser = parse_column)]
    pub features: Vec<ColumnRef>,
    /// Columns of --csv whose values are known ahead (planned promotions, holidays, a weather
    /// forecast): read over the window and over the horizon after each origin; `forecast` past
    /// the end of the file needs their values for the horizon (--future-csv).
    #[arg(long, value_name = "COL,...", value_delimiter = ',', requires = "csv", value_parser = parse_column)]
    pub future_features: Vec<ColumnRef>,
    /// Calendar inputs computed from --date-column, each a sine and cosine pair, known ahead
    /// like --future-features: month, weekday, day (of the month), yearday, hour (the time of
    /// day) or minute.
    #[arg(
        long,
        value_name = "NAME,...",
        value_enum,
        value_delimiter = ',',
        requires = "csv"
    )]
    pub calendar: Vec<CalendarFeature>,
    /// A date (or label) column of --csv, for plot axes and forecast.csv (and, with
    /// --calendar, the dates it computes from).
    #[arg(long, requires = "csv", value_parser = parse_column)]
    pub date_column: Option<ColumnRef>,
    /// Empty, NaN or infinite values: refuse them (none) or repair them.
    #[arg(long, value_enum, default_value_t = FillPolicy::None, requires = "csv")]
    pub fill: FillPolicy,
    /// Past values the model sees per forecast.
    #[arg(long, default_value_t = 12, value_parser = at_least_one(), requires = "csv")]
    pub window: usize,
    /// Future values predicted per forecast (direct multi-step).
    #[arg(long, default_value_t = 1, value_parser = at_least_one(), requires = "csv")]
    pub horizon: usize,
    /// Fraction of the series, at its end, kept for testing.
    #[arg(long, default_value_t = 0.2, value_parser = fraction, requires = "csv")]
    pub test_fraction: f64,
    /// Fraction just before the test part used for validation (0 for none).
    #[arg(long, default_value_t = 0.1, value_parser = fraction, requires = "csv")]
    pub validation_fraction: f64,
    /// Power transform of the series before differencing and scaling: auto takes the log when
    /// the training part's spread grows with its level and every value is positive; box-cox
    /// fits its lambda on the training part. Undone for every number reported.
    #[arg(long, value_enum, default_value_t = PowerChoice::Auto, requires = "csv")]
    pub transform: PowerChoice,
    /// First differences to take after the power transform (default: as many as a KPSS test on
    /// the training part asks for, at most 2).
    #[arg(long, value_name = "N", requires = "csv")]
    pub difference: Option<usize>,
    /// Take a seasonal difference of lag --season (default: when the training part's seasonal
    /// strength is above 0.64); --seasonal-difference=false never does.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", requires = "csv")]
    pub seasonal_difference: Option<bool>,
    /// Scaling of the transformed series before training, fitted on the training part; undone
    /// for metrics and plots [default: standard].
    #[arg(long, value_enum, requires = "csv")]
    pub scale: Option<ScaleKind>,
    /// The values the scaler is fitted on.
    #[arg(long, value_enum, default_value_t = ScaleFit::Train, requires = "csv")]
    pub scale_fit: ScaleFit,
    /// Season length for the seasonal-naive baseline (e.g. 12 for monthly data).
    #[arg(long, value_parser = at_least_one(), requires = "csv")]
    pub season: Option<usize>,
    /// Ridge penalty of the linear baseline (scikit-learn's Ridge alpha, in training units)
    /// [default: ordinary least squares].
    #[arg(long, value_name = "ALPHA", value_parser = non_negative_float, requires = "csv")]
    pub linear_ridge: Option<f64>,
}

/// `train` options; the defaults are the tutorial's.
#[derive(Clone, Debug, Args)]
pub struct TrainArgs {
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    pub backend: BackendKind,
    /// Passes over the training data.
    #[arg(long, default_value_t = 100, value_parser = at_least_one())]
    pub epochs: usize,
    /// Sequences per gradient step (the last batch of an epoch may be smaller) [default: 32, and
    /// 16 for a series].
    #[arg(long, value_parser = at_least_one())]
    pub batch_size: Option<usize>,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.001, value_parser = positive_float)]
    pub learning_rate: f64,
    /// Adam's epsilon (Keras' default; Burn's own default is 1e-5).
    #[arg(long, default_value_t = 1e-7, value_parser = positive_float)]
    pub adam_epsilon: f64,
    /// LSTM units.
    #[arg(long, default_value_t = 50, value_parser = at_least_one())]
    pub hidden: usize,
    /// Cell activation.
    #[arg(long, value_enum, default_value_t = CellActivation::Relu)]
    pub activation: CellActivation,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellKind::Lstm)]
    pub cell: CellKind,
    /// Gate activation (Keras' recurrent_activation).
    #[arg(long, value_enum, default_value_t = GateActivation::Sigmoid)]
    pub gate_activation: GateActivation,
    /// Stacked recurrent layers (each feeds its whole output sequence to the next).
    #[arg(long, default_value_t = 1, value_parser = at_least_one())]
    pub layers: usize,
    /// Read each sequence both ways and concatenate the outputs (Keras' Bidirectional).
    #[arg(long)]
    pub bidirectional: bool,
    /// Dropout probability between layers and before the head (training only).
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub dropout: f64,
    /// Predict these quantiles of every forecast step (each above 0 and below 1, comma-separated,
    /// e.g. 0.1,0.5,0.9), trained with the pinball loss; the median is the point forecast and is
    /// added when missing [default: one point forecast, trained with the squared error].
    #[arg(long, value_name = "Q,...", value_delimiter = ',', requires = "csv")]
    pub quantiles: Vec<f64>,
    /// Decoupled weight decay (AdamW); 0 is plain Adam.
    #[arg(long, default_value_t = 0.0, value_parser = non_negative_float)]
    pub weight_decay: f64,
    /// Clip each parameter's gradient to this L2 norm (Keras' clipnorm).
    #[arg(long, value_parser = positive_float)]
    pub grad_clip: Option<f64>,
    /// Learning-rate schedule, applied per epoch.
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    pub lr_schedule: ScheduleArg,
    /// Multiplier of the step and plateau schedules.
    #[arg(long, default_value_t = 0.1, value_parser = open_fraction)]
    pub lr_factor: f64,
    /// Epochs between reductions of the step schedule.
    #[arg(long, default_value_t = 10, value_parser = at_least_one())]
    pub lr_step_epochs: usize,
    /// Epochs without improvement before the plateau schedule reduces the rate.
    #[arg(long, default_value_t = 10, value_parser = at_least_one())]
    pub lr_patience: usize,
    /// The lowest rate the plateau schedule goes to.
    #[arg(long, default_value_t = 0.0, value_parser = non_negative_float)]
    pub min_lr: f64,
    /// Fraction of the synthetic sequences, at the end and before any shuffling, held out for
    /// validation (Keras' validation_split); series runs use --validation-fraction.
    #[arg(long, default_value_t = 0.0, value_parser = fraction, conflicts_with = "csv")]
    pub validation_split: f64,
    /// Stop when the validation loss (the training loss without a validation part) has not
    /// improved for this many epochs, and keep the best epoch's weights; 0 turns it off
    /// [default: off, and 20 for a series].
    #[arg(long)]
    pub early_stopping: Option<usize>,
    /// Continue the run saved in --artifact-dir from its last checkpoint; --epochs is the total
    /// (after 5 epochs, `--epochs 10 --resume` trains epochs 6 to 10). Give the same model and
    /// data flags as the first run.
    #[arg(long)]
    pub resume: bool,
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// A real series instead.
    #[command(flatten)]
    pub series: SeriesArgs,
    /// Directory for the model, its configuration, the loss history and the plots.
    #[arg(long, default_value = "artifacts")]
    pub artifact_dir: PathBuf,
}

impl TrainArgs {
    /// The run these flags ask for. A series' scaler is fitted by training.
    pub fn run_config(&self) -> RunConfig {
        let run = match &self.series.csv {
            None => RunConfig::synthetic(
                SyntheticConfig::new()
                    .with_samples(self.data.samples)
                    .with_steps(self.data.steps)
                    .with_seed(self.data.seed),
            ),
            Some(csv) => {
                let series = &self.series;
                RunConfig::series(
                    SeriesConfig::new(
                        std::path::absolute(csv).unwrap_or_else(|_| csv.clone()),
                        series.column.clone().unwrap_or(ColumnRef::Index(0)),
                    )
                    .with_features(series.features.clone())
                    .with_future_features(series.future_features.clone())
                    .with_calendar(series.calendar.clone())
                    .with_date_column(series.date_column.clone())
                    .with_fill(series.fill)
                    .with_window(series.window)
                    .with_horizon(series.horizon)
                    .with_test_fraction(series.test_fraction)
                    .with_validation_fraction(series.validation_fraction)
                    .with_transform(TransformRequest {
                        power: series.transform,
                        differences: series.difference,
                        seasonal_difference: series.seasonal_difference,
                    })
                    .with_scale(series.scale.unwrap_or(SeriesConfig::DEFAULT_SCALE))
                    .with_scale_fit(series.scale_fit)
                    .with_season(series.season)
                    .with_linear_ridge(series.linear_ridge),
                )
            }
        };
        let model = run
            .model
            .clone()
            .with_hidden(self.hidden)
            .with_activation(self.activation)
            .with_cell(self.cell)
            .with_gate_activation(self.gate_activation)
            .with_layers(self.layers)
            .with_bidirectional(self.bidirectional)
            .with_dropout(self.dropout);
        // What the library chose for this kind of run, unless a flag says otherwise.
        let defaults = &run.training;
        let training = TrainingConfig::new()
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size.unwrap_or(defaults.batch_size))
            .with_learning_rate(self.learning_rate)
            .with_adam_epsilon(self.adam_epsilon)
            .with_seed(self.data.seed)
            .with_backend(self.backend)
            .with_weight_decay(self.weight_decay)
            .with_grad_clip(self.grad_clip)
            .with_lr_schedule(match self.lr_schedule {
                ScheduleArg::Constant => LrSchedule::Constant,
                ScheduleArg::Step => LrSchedule::Step {
                    every: self.lr_step_epochs,
                    factor: self.lr_factor,
                },
                ScheduleArg::Cosine => LrSchedule::Cosine,
                ScheduleArg::Plateau => LrSchedule::Plateau {
                    factor: self.lr_factor,
                    patience: self.lr_patience,
                    min_rate: self.min_lr,
                },
            })
            .with_early_stopping(match self.early_stopping {
                Some(0) => None,
                Some(patience) => Some(patience),
                None => defaults.early_stopping,
            })
            .with_validation_split(self.validation_split);
        let run = run.with_model(model).with_training(training);
        match self.quantiles.is_empty() {
            true => run,
            false => run.with_quantiles(self.quantiles.clone()),
        }
    }
}

/// `backtest` options: where the origins lie and how often to train, then train's flags.
#[derive(Clone, Debug, Args)]
pub struct BacktestArgs {
    /// The first forecast origin: the share of the series before it (0.8 backtests the last
    /// 20%), or a date of --date-column (the first value forecast), or a row without dates.
    #[arg(long, value_name = "FRACTION|DATE", default_value = "0.8")]
    pub start: String,
    /// Steps between forecast origins.
    #[arg(long, default_value_t = 1, value_parser = at_least_one())]
    pub stride: usize,
    /// Train a new model every K origins, on all the values before the first of them
    /// (expanding window) [default: train once, on the values before --start].
    #[arg(long, value_name = "K", value_parser = at_least_one())]
    pub refit_every: Option<usize>,
    /// The run to backtest: train's flags (--csv and --column at least).
    #[command(flatten)]
    pub train: TrainArgs,
}

/// `plot` options.
#[derive(Clone, Debug, Args)]
pub struct PlotArgs {
    /// Compute backend for the predictions.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    pub backend: BackendKind,
    /// Directory of a run saved by `train`; the plots are written there too.
    #[arg(long, default_value = "artifacts")]
    pub artifact_dir: PathBuf,
}

/// `forecast` options.
#[derive(Clone, Debug, Args)]
pub struct ForecastArgs {
    /// Compute backend for the forecasts.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    pub backend: BackendKind,
    /// Directory of a run saved by `train --csv`; the results are written there too.
    #[arg(long, default_value = "artifacts")]
    pub artifact_dir: PathBuf,
    /// Forecast this CSV file (same columns) instead of the one the run was trained on, e.g. the
    /// same series with newer values appended.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// The future features' values after the end of the series, for a run trained with
    /// --future-features: a CSV file with those columns whose first rows are the steps after
    /// the end (at least the horizon's).
    #[arg(long, value_name = "FILE")]
    pub future_csv: Option<PathBuf>,
}

/// `evaluate` options.
#[derive(Clone, Debug, Args)]
pub struct EvaluateArgs {
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    pub backend: BackendKind,
    /// Directory of a run saved by `train`.
    #[arg(long, default_value = "artifacts")]
    pub artifact_dir: PathBuf,
}

/// `bench` options.
#[derive(Clone, Debug, Args)]
pub struct BenchArgs {
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendKind::Ndarray)]
    pub backend: BackendKind,
    /// Small sizes, for a smoke run (the figures mean nothing).
    #[arg(long)]
    pub quick: bool,
    /// The workloads to measure, comma-separated (default all: W1, W2, W3, W2-GRU, W2-BiLSTM,
    /// W2-BiGRU, W3-GRU).
    #[arg(long, value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Epochs trained before the timed ones, and an inference pass before the timed one, left
    /// out of the figures: kernel compilation and autotuning happen there. Default 1 on wgpu and
    /// cuda, 0 on ndarray (whose first epoch is like the others).
    #[arg(long)]
    pub warmup_epochs: Option<usize>,
    /// Measure only this workload, in this process (how the table's rows are made).
    #[arg(long, hide = true)]
    pub only: Option<String>,
}

/// `dataset` options.
#[derive(Clone, Debug, Args)]
pub struct DatasetArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// CSV file to write; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn at_least_one() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

fn parse_column(text: &str) -> Result<ColumnRef, String> {
    match text.parse::<ColumnRef>() {
        Ok(ColumnRef::Name(name)) if name.trim().is_empty() => Err("must not be empty".into()),
        Ok(column) => Ok(column),
        Err(never) => match never {},
    }
}

fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..1.0).contains(&value) => Ok(value),
        Ok(_) => Err("must be at least 0 and below 1".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

fn open_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value > 0.0 && value < 1.0 => Ok(value),
        Ok(_) => Err("must be above 0 and below 1".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

fn non_negative_float(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        Ok(_) => Err("must be a number of at least 0".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

fn positive_float(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        Ok(_) => Err("must be a positive number".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::DataSource;
    use burn::config::Config;

    #[test]
    fn defaults_are_the_tutorials() {
        let cli = Cli::try_parse_from(["app", "train"]).expect("defaults parse");
        let Command::Train(args) = cli.command else {
            panic!("expected train")
        };
        assert_eq!(args.backend, BackendKind::Ndarray);
        assert_eq!((args.epochs, args.hidden), (100, 50));
        let training = args.run_config().training;
        assert_eq!((training.batch_size, training.early_stopping), (32, None));
        assert_eq!((args.learning_rate, args.adam_epsilon), (1e-3, 1e-7));
        assert_eq!(args.activation, CellActivation::Relu);
        assert_eq!(
            (args.data.seed, args.data.samples, args.data.steps),
            (0, 100, 10)
        );
        assert_eq!(args.artifact_dir, PathBuf::from("artifacts"));
    }

    #[test]
    fn zero_sizes_and_bad_rates_are_refused() {
        for flags in [
            ["--epochs", "0"],
            ["--batch-size", "0"],
            ["--hidden", "0"],
            ["--samples", "0"],
            ["--steps", "0"],
            ["--learning-rate", "0"],
            ["--learning-rate", "-1"],
            ["--learning-rate", "nan"],
            ["--seed", "-1"],
            ["--column", "x"],
            ["--window", "3"],
            ["--layers", "0"],
            ["--dropout", "1"],
            ["--dropout", "-0.1"],
            ["--weight-decay", "-1"],
            ["--grad-clip", "0"],
            ["--lr-factor", "1"],
            ["--early-stopping", "-1"],
            ["--validation-split", "1"],
            ["--cell", "rnn"],
            ["--gate-activation", "relu"],
            ["--lr-schedule", "linear"],
        ] {
            let result = Cli::try_parse_from(["app", "train", flags[0], flags[1]]);
            assert!(result.is_err(), "{flags:?} should be refused");
        }
    }

    #[test]
    fn a_series_gets_its_own_defaults_and_explicit_flags_win() {
        let series = ["--csv", "s.csv", "--column", "v", "--season", "12"];
        let config = train_args(&series).run_config();
        let DataSource::Series(data) = &config.data else {
            panic!("a series")
        };
        assert_eq!(data.transform, TransformRequest::auto());
        assert_eq!(data.scaler.kind, ScaleKind::Standard);
        assert_eq!(
            (config.training.batch_size, config.training.early_stopping),
            (16, Some(20))
        );
        let mut flags = series.to_vec();
        flags.extend([
            "--transform",
            "box-cox",
            "--difference",
            "1",
            "--seasonal-difference=false",
            "--scale",
            "minmax",
            "--batch-size",
            "32",
            "--early-stopping",
            "0",
        ]);
        let config = train_args(&flags).run_config();
        let DataSource::Series(data) = &config.data else {
            panic!("a series")
        };
        assert_eq!(
            data.transform,
            TransformRequest {
                power: PowerChoice::BoxCox,
                differences: Some(1),
                seasonal_difference: Some(false),
            }
        );
        assert_eq!(data.scaler.kind, ScaleKind::MinMax);
        assert_eq!(
            (config.training.batch_size, config.training.early_stopping),
            (32, None)
        );
        let mut flags = series.to_vec();
        flags.push("--seasonal-difference");
        let config = train_args(&flags).run_config();
        let DataSource::Series(data) = &config.data else {
            panic!("a series")
        };
        assert_eq!(data.transform.seasonal_difference, Some(true));
    }

    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn series_flags_are_checked() {
        let parse = |flags: &[&str]| Cli::try_parse_from(["app", "train"].iter().chain(flags));
        assert!(parse(&["--csv", "a.csv", "--column", "v"]).is_ok());
        assert!(parse(&["--csv", "a.csv"]).is_err(), "--csv needs --column");
        assert!(parse(&["--csv", "a.csv", "--column", "v", "--samples", "5"]).is_err());
        assert!(parse(&["--csv", "a.csv", "--column", "v", "--test-fraction", "1"]).is_err());
        assert!(parse(&["--csv", "a.csv", "--column", "v", "--horizon", "0"]).is_err());
    }

    #[test]
    fn help_documents_every_train_flag() {
        use clap::CommandFactory;
        let mut command = Cli::command();
        let train = command.find_subcommand_mut("train").expect("train exists");
        for arg in train.get_arguments() {
            if arg.get_id() != "help" {
                assert!(arg.get_help().is_some(), "--{} has no help", arg.get_id());
            }
        }
    }

    fn train_args(flags: &[&str]) -> TrainArgs {
        let cli = Cli::try_parse_from(["app", "train"].iter().chain(flags)).expect("valid flags");
        match cli.command {
            Command::Train(args) => args,
            other => panic!("expected train, got {other:?}"),
        }
    }

    #[test]
    fn run_config_round_trips_through_json() {
        let args = train_args(&[
            "--hidden",
            "8",
            "--activation",
            "tanh",
            "--seed",
            "5",
            "--steps",
            "4",
        ]);
        let config = args.run_config();
        assert_eq!(config.model.hidden, 8);
        assert!(matches!(&config.data, DataSource::Synthetic(s) if s.steps == 4));
        assert_eq!(config.training.seed, 5);
        let loaded = RunConfig::load_binary(config.to_string().as_bytes()).expect("valid JSON");
        assert_eq!(loaded, config);
    }

    #[test]
    fn quantiles_multiply_the_outputs_and_add_the_median() {
        let series = ["--csv", "series.csv", "--column", "0", "--horizon", "3"];
        let with = |extra: &[&str]| train_args(&[&series[..], extra].concat()).run_config();
        let config = with(&["--quantiles", "0.9,0.1"]);
        assert_eq!(config.quantiles(), [0.1, 0.5, 0.9]);
        assert_eq!(config.model.outputs, 9);
        assert!(config.check().is_ok());
        assert_eq!(with(&[]).model.outputs, 3);
        assert!(with(&[]).quantiles().is_empty());
        let refused = |extra: &[&str]| with(extra).check().expect_err("refused").to_string();
        assert_eq!(
            refused(&["--quantiles", "0.1,1.5"]),
            "quantile 1.5 is not between 0 and 1 (both excluded)"
        );
        assert_eq!(
            refused(&["--quantiles", "0.1,0.9,0.1"]),
            "quantile 0.1 is asked for twice"
        );
        let synthetic = RunConfig::tutorial().with_quantiles(vec![0.1, 0.9]);
        assert_eq!(
            synthetic.check().expect_err("refused").to_string(),
            "quantiles are for series runs; the synthetic data is scored by its squared error"
        );
        let mut unsorted = with(&["--quantiles", "0.1,0.9"]);
        unsorted.model.quantiles = vec![0.9, 0.5, 0.1];
        assert!(unsorted.check().is_err(), "a hand-built descending list");
        let bare = Cli::try_parse_from(["app", "train", "--quantiles", "0.1"]);
        assert!(bare.is_err(), "--quantiles needs --csv");
        let none = Cli::try_parse_from([
            "app",
            "train",
            "--csv",
            "s.csv",
            "--column",
            "0",
            "--quantiles",
            "",
        ]);
        assert!(none.is_err(), "at least one quantile");
    }

    #[test]
    fn series_run_predicts_the_horizon_and_round_trips() {
        let args = train_args(&[
            "--csv",
            "series.csv",
            "--column",
            "passengers",
            "--date-column",
            "0",
            "--window",
            "6",
            "--horizon",
            "3",
            "--season",
            "12",
            "--scale",
            "standard",
        ]);
        let config = args.run_config();
        assert_eq!((config.model.input_features, config.model.outputs), (1, 3));
        let DataSource::Series(series) = &config.data else {
            panic!("expected a series run")
        };
        assert!(series.csv.is_absolute());
        assert_eq!(series.column, ColumnRef::Name("passengers".into()));
        assert_eq!(series.date_column, Some(ColumnRef::Index(0)));
        assert_eq!(series.scaler.kind, ScaleKind::Standard);
        assert_eq!(series.season, Some(12));
        let loaded = RunConfig::load_binary(config.to_string().as_bytes()).expect("valid JSON");
        assert_eq!(loaded, config);
    }

    #[test]
    fn training_options_are_recorded() {
        let args = train_args(&[
            "--cell",
            "gru",
            "--layers",
            "2",
            "--bidirectional",
            "--dropout",
            "0.2",
            "--weight-decay",
            "0.01",
            "--grad-clip",
            "1.5",
            "--lr-schedule",
            "plateau",
            "--lr-factor",
            "0.5",
            "--lr-patience",
            "3",
            "--early-stopping",
            "4",
            "--validation-split",
            "0.25",
        ]);
        let config = args.run_config();
        assert_eq!(
            config.model.describe(),
            "2 × bidirectional gru(50, relu), dropout 0.2"
        );
        let training = &config.training;
        assert_eq!(training.weight_decay, 0.01);
        assert_eq!(training.grad_clip, Some(1.5));
        assert_eq!(
            training.lr_schedule,
            LrSchedule::Plateau {
                factor: 0.5,
                patience: 3,
                min_rate: 0.0
            }
        );
        assert_eq!(training.early_stopping, Some(4));
        assert_eq!(training.validation_split, 0.25);
        let loaded = RunConfig::load_binary(config.to_string().as_bytes()).expect("valid JSON");
        assert_eq!(loaded, config);
    }

    #[test]
    fn features_widen_the_models_input_and_target_names_the_column() {
        let args = train_args(&[
            "--csv",
            "weather.csv",
            "--target",
            "max_temp",
            "--features",
            "min_temp,wind,3",
        ]);
        let config = args.run_config();
        let DataSource::Series(series) = &config.data else {
            panic!("expected a series run")
        };
        assert_eq!(series.column, ColumnRef::Name("max_temp".into()));
        assert_eq!(
            series.features,
            vec![
                ColumnRef::Name("min_temp".into()),
                ColumnRef::Name("wind".into()),
                ColumnRef::Index(3)
            ]
        );
        assert_eq!(config.model.input_features, 4);
        assert!(config.check().is_ok());
        let refused = Cli::try_parse_from(["app", "train", "--features", "wind"]);
        assert!(refused.is_err(), "--features needs --csv");
    }

    #[test]
    fn inputs_known_ahead_widen_and_lengthen_the_models_input() {
        let args = train_args(&[
            "--csv",
            "sales.csv",
            "--target",
            "sales",
            "--date-column",
            "date",
            "--features",
            "price",
            "--future-features",
            "promo,holiday",
            "--calendar",
            "month,weekday",
            "--window",
            "14",
            "--horizon",
            "7",
        ]);
        let config = args.run_config();
        let DataSource::Series(series) = &config.data else {
            panic!("expected a series run")
        };
        assert_eq!(
            series.calendar,
            [CalendarFeature::Month, CalendarFeature::Weekday]
        );
        // The target, price, promo, holiday, two sine/cosine pairs and the flag; 14 + 7 steps.
        assert_eq!((series.known_inputs(), config.model.input_features), (6, 9));
        assert_eq!(series.steps(), 21);
        let options = series.csv_options();
        assert_eq!(
            options.features.len(),
            3,
            "the features, then the future features"
        );
        assert!(options.parse_dates);
        assert!(config.check().is_ok());
        for refused in [
            vec!["app", "train", "--future-features", "promo"],
            vec!["app", "train", "--calendar", "month"],
            vec![
                "app",
                "train",
                "--csv",
                "f.csv",
                "--column",
                "v",
                "--calendar",
                "season",
            ],
        ] {
            assert!(Cli::try_parse_from(&refused).is_err(), "{refused:?}");
        }
        let plain = train_args(&["--csv", "f.csv", "--column", "v", "--window", "5"]).run_config();
        let DataSource::Series(plain) = &plain.data else {
            panic!("expected a series run")
        };
        assert_eq!(
            (plain.steps(), plain.input_features()),
            (5, 1),
            "no flag without them"
        );
    }

    #[test]
    fn resume_conflicts_name_the_setting_and_both_values() {
        let saved = train_args(&["--hidden", "8", "--epochs", "5"]).run_config();
        let more_epochs = train_args(&[
            "--hidden",
            "8",
            "--epochs",
            "10",
            "--learning-rate",
            "0.0005",
        ])
        .run_config();
        assert!(more_epochs.resume_conflict(&saved).is_none());
        let other = train_args(&["--hidden", "16", "--cell", "gru"]).run_config();
        let conflict = other.resume_conflict(&saved).expect("differs");
        assert_eq!(
            crate::cli::messages::render(&conflict),
            "model.cell was \"lstm\" in the saved run, this command asks for \"gru\""
        );
    }
}
