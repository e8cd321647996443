//! Command-line arguments (clap derive); each `///` comment is the flag's `--help` text.

use std::path::PathBuf;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use data::{ColumnRef, FillPolicy};
use model::{CellActivation, CellKind, GateActivation};
use serde::{Deserialize, Serialize};

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
    /// Measure training and inference speed on the workloads W1 (the tutorial), W2 and W3.
    Bench(BenchArgs),
    /// Evaluate a saved run: the tutorial's `Loss:` (MSE over the synthetic sequences), or the
    /// test metrics of a series run against the naive baselines.
    Evaluate(EvaluateArgs),
    /// Write the synthetic data set as CSV (columns x0..x{steps-1},y), exactly as NumPy makes it.
    Dataset(DatasetArgs),
}

/// Where tensors are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// CPU, through the ndarray crate (always available).
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal or DirectX); on a machine without a GPU, Mesa's software
    /// Vulkan driver (lavapipe) runs it on the CPU.
    Wgpu,
}

/// The cell activation (Keras' `LSTM(activation=...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// relu in the cell candidate and in h = o·relu(c), as in the tutorial.
    Relu,
    /// The classic LSTM cell.
    Tanh,
}

impl From<ActivationArg> for CellActivation {
    fn from(value: ActivationArg) -> Self {
        match value {
            ActivationArg::Relu => CellActivation::Relu,
            ActivationArg::Tanh => CellActivation::Tanh,
        }
    }
}

/// The gate activation (Keras' `recurrent_activation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GateArg {
    /// The logistic sigmoid (Keras 3, PyTorch).
    Sigmoid,
    /// max(0, min(1, 0.2x + 0.5)): Keras 2's default before 2.3.
    HardSigmoid,
}

impl From<GateArg> for GateActivation {
    fn from(value: GateArg) -> Self {
        match value {
            GateArg::Sigmoid => GateActivation::Sigmoid,
            GateArg::HardSigmoid => GateActivation::HardSigmoid,
        }
    }
}

/// The recurrent cell (Keras' `LSTM` or `GRU` layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CellArg {
    /// Long short-term memory, as in the tutorial.
    Lstm,
    /// Gated recurrent unit (Keras' default reset_after form).
    Gru,
}

impl From<CellArg> for CellKind {
    fn from(value: CellArg) -> Self {
        match value {
            CellArg::Lstm => CellKind::Lstm,
            CellArg::Gru => CellKind::Gru,
        }
    }
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

/// How missing values in a CSV series are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FillArg {
    /// Refuse empty, NaN and infinite cells, naming the first.
    None,
    /// Repeat the last valid value.
    Previous,
    /// Interpolate between the valid neighbours.
    Linear,
}

impl From<FillArg> for FillPolicy {
    fn from(value: FillArg) -> Self {
        match value {
            FillArg::None => FillPolicy::None,
            FillArg::Previous => FillPolicy::Previous,
            FillArg::Linear => FillPolicy::Linear,
        }
    }
}

/// How a series is scaled before training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScaleArg {
    /// To [0, 1] over the fitted values.
    Minmax,
    /// To zero mean and unit standard deviation.
    Standard,
    /// Not at all.
    None,
}

/// Which values the scaler is fitted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleFit {
    /// The training part only: nothing leaks from validation or test values.
    Train,
    /// The whole series, as some tutorials do (leaks the test range into training; for
    /// reproducing them only).
    All,
}

/// A real series: `--csv FILE --column NAME_OR_INDEX` instead of the synthetic data.
#[derive(Clone, Debug, Args)]
pub struct SeriesArgs {
    /// Train on a univariate series from this CSV file instead of the synthetic data.
    #[arg(long, requires = "column", conflicts_with_all = ["samples", "steps"])]
    pub csv: Option<PathBuf>,
    /// The value column of --csv, by header name or 0-based index.
    #[arg(long, requires = "csv", value_parser = parse_column)]
    pub column: Option<ColumnRef>,
    /// A date (or label) column of --csv, for plot axes and forecast.csv.
    #[arg(long, requires = "csv", value_parser = parse_column)]
    pub date_column: Option<ColumnRef>,
    /// Empty, NaN or infinite values: refuse them (none) or repair them.
    #[arg(long, value_enum, default_value_t = FillArg::None, requires = "csv")]
    pub fill: FillArg,
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
    /// Scaling of the series before training; undone for metrics and plots.
    #[arg(long, value_enum, default_value_t = ScaleArg::Minmax, requires = "csv")]
    pub scale: ScaleArg,
    /// The values the scaler is fitted on.
    #[arg(long, value_enum, default_value_t = ScaleFit::Train, requires = "csv")]
    pub scale_fit: ScaleFit,
    /// Season length for the seasonal-naive baseline (e.g. 12 for monthly data).
    #[arg(long, value_parser = at_least_one(), requires = "csv")]
    pub season: Option<usize>,
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
    /// Sequences per gradient step (the last batch of an epoch may be smaller).
    #[arg(long, default_value_t = 32, value_parser = at_least_one())]
    pub batch_size: usize,
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
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu)]
    pub activation: ActivationArg,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellArg::Lstm)]
    pub cell: CellArg,
    /// Gate activation (Keras' recurrent_activation).
    #[arg(long, value_enum, default_value_t = GateArg::Sigmoid)]
    pub gate_activation: GateArg,
    /// Stacked recurrent layers (each feeds its whole output sequence to the next).
    #[arg(long, default_value_t = 1, value_parser = at_least_one())]
    pub layers: usize,
    /// Read each sequence both ways and concatenate the outputs (Keras' Bidirectional).
    #[arg(long)]
    pub bidirectional: bool,
    /// Dropout probability between layers and before the head (training only).
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub dropout: f64,
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
    /// improved for this many epochs, and keep the best epoch's weights.
    #[arg(long, value_parser = at_least_one())]
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

    #[test]
    fn defaults_are_the_tutorials() {
        let cli = Cli::try_parse_from(["app", "train"]).expect("defaults parse");
        let Command::Train(args) = cli.command else {
            panic!("expected train")
        };
        assert_eq!(args.backend, BackendKind::Ndarray);
        assert_eq!((args.epochs, args.batch_size, args.hidden), (100, 32, 50));
        assert_eq!((args.learning_rate, args.adam_epsilon), (1e-3, 1e-7));
        assert_eq!(args.activation, ActivationArg::Relu);
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
            ["--early-stopping", "0"],
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
}
