//! Everything needed to rebuild a run: model architecture, data and training settings.

use std::path::PathBuf;

use burn::config::Config;
use data::{ColumnRef, FillPolicy, ScaleKind, Scaler, SyntheticConfig, WindowSpec};
use model::RecurrentRegressorConfig;
use serde::{Deserialize, Serialize};

use crate::cli::{ScaleFit, ScheduleArg, TrainArgs};
use crate::schedule::{EarlyStopping, LrSchedule};

/// Training settings of a run.
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Sequences per gradient step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Adam's epsilon.
    pub adam_epsilon: f64,
    /// Seed of weight initialisation and of the per-epoch shuffling.
    pub seed: u32,
    /// The backend the run was trained on (`ndarray` or `wgpu`), for the record.
    pub backend: String,
    /// Decoupled weight decay (AdamW); 0 is plain Adam.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Largest L2 norm of each parameter's gradient (Keras' `clipnorm`), if any.
    #[config(default = "None")]
    pub grad_clip: Option<f64>,
    /// The learning rate per epoch.
    #[config(default = "LrSchedule::Constant")]
    pub lr_schedule: LrSchedule,
    /// Early-stopping patience in epochs, if any.
    #[config(default = "None")]
    pub early_stopping: Option<usize>,
    /// Fraction of the synthetic sequences, at the end, held out for validation (Keras'
    /// `validation_split`).
    #[config(default = 0.0)]
    pub validation_split: f64,
}

impl TrainingConfig {
    /// The early-stopping rule, if any.
    pub fn early_stopping(&self) -> Option<EarlyStopping> {
        self.early_stopping
            .map(|patience| EarlyStopping { patience })
    }
}

/// A series read from CSV and how it is cut into windows (see `app train --help`).
#[derive(Config, Debug, PartialEq)]
pub struct SeriesConfig {
    /// The CSV file (absolute path).
    pub csv: PathBuf,
    /// The value column.
    pub column: ColumnRef,
    /// The date column, if any.
    pub date_column: Option<ColumnRef>,
    /// How missing values were handled.
    pub fill: FillPolicy,
    /// Past values per window.
    pub window: usize,
    /// Future values per forecast.
    pub horizon: usize,
    /// Fraction of the series, at its end, kept for testing.
    pub test_fraction: f64,
    /// Fraction just before the test part used for validation.
    pub validation_fraction: f64,
    /// The scaler, fitted during `train`; `forecast` undoes it with the same numbers.
    pub scaler: Scaler,
    /// Which values the scaler was fitted on.
    pub scale_fit: ScaleFit,
    /// The season length for the seasonal-naive baseline (12 for monthly data).
    pub season: Option<usize>,
}

impl SeriesConfig {
    /// The window shape.
    pub fn windows(&self) -> WindowSpec {
        WindowSpec {
            window: self.window,
            horizon: self.horizon,
        }
    }
}

/// Where the training data comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSource {
    /// The tutorial's synthetic set.
    Synthetic(SyntheticConfig),
    /// A series from a CSV file.
    Series(SeriesConfig),
}

/// The saved configuration of a run (`config.json` in the artifact directory).
#[derive(Config, Debug, PartialEq)]
pub struct RunConfig {
    /// Layout version of this file; bumped when a field changes meaning.
    #[config(default = 3)]
    pub format_version: u32,
    /// The network.
    pub model: RecurrentRegressorConfig,
    /// The data it was trained on.
    pub data: DataSource,
    /// How it was trained.
    pub training: TrainingConfig,
}

impl RunConfig {
    /// The `format_version` this build writes and reads.
    pub const FORMAT_VERSION: u32 = 3;

    /// Why a run saved as `saved` cannot be continued as `self` asks, naming the first setting
    /// that differs and both values; `None` when they agree. The number of epochs, the learning
    /// rate, early stopping and the backend may change on resume; everything else defines the
    /// model or the data and must not.
    pub fn resume_conflict(&self, saved: &RunConfig) -> Option<String> {
        let strip = |config: &RunConfig| {
            let mut value = serde_json::to_value(config).unwrap_or_default();
            if let Some(training) = value.get_mut("training").and_then(|t| t.as_object_mut()) {
                for free in ["epochs", "learning_rate", "early_stopping", "backend"] {
                    training.remove(free);
                }
            }
            value
        };
        first_difference("", &strip(saved), &strip(self)).map(|(path, was, asked)| {
            format!("{path} was {was} in the saved run, this command asks for {asked}")
        })
    }

    /// The run `train` will do with these arguments. For a series the scaler is a placeholder
    /// until `train` fits it on the data.
    pub fn from_args(args: &TrainArgs) -> Self {
        let (data, features, outputs) = match &args.series.csv {
            None => {
                let synthetic = SyntheticConfig::new()
                    .with_samples(args.data.samples)
                    .with_steps(args.data.steps)
                    .with_seed(args.data.seed);
                let features = synthetic.features;
                (DataSource::Synthetic(synthetic), features, features)
            }
            Some(csv) => {
                let series = &args.series;
                let config = SeriesConfig::new(
                    std::path::absolute(csv).unwrap_or_else(|_| csv.clone()),
                    series.column.clone().unwrap_or(ColumnRef::Index(0)),
                    series.fill.into(),
                    series.window,
                    series.horizon,
                    series.test_fraction,
                    series.validation_fraction,
                    Scaler::fit(series.scale.into(), &[]),
                    series.scale_fit,
                )
                .with_date_column(series.date_column.clone())
                .with_season(series.season);
                (DataSource::Series(config), 1, series.horizon)
            }
        };
        let model = RecurrentRegressorConfig::new()
            .with_input_features(features)
            .with_outputs(outputs)
            .with_hidden(args.hidden)
            .with_activation(args.activation.into())
            .with_cell(args.cell.into())
            .with_gate_activation(args.gate_activation.into())
            .with_layers(args.layers)
            .with_bidirectional(args.bidirectional)
            .with_dropout(args.dropout);
        let backend = format!("{:?}", args.backend).to_lowercase();
        let training = TrainingConfig::new(
            args.epochs,
            args.batch_size,
            args.learning_rate,
            args.adam_epsilon,
            args.data.seed,
            backend,
        )
        .with_weight_decay(args.weight_decay)
        .with_grad_clip(args.grad_clip)
        .with_lr_schedule(match args.lr_schedule {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Step => LrSchedule::Step {
                every: args.lr_step_epochs,
                factor: args.lr_factor,
            },
            ScheduleArg::Cosine => LrSchedule::Cosine,
            ScheduleArg::Plateau => LrSchedule::Plateau {
                factor: args.lr_factor,
                patience: args.lr_patience,
                min_rate: args.min_lr,
            },
        })
        .with_early_stopping(args.early_stopping)
        .with_validation_split(args.validation_split);
        Self::new(model, data, training)
    }
}

/// The first place where `a` and `b` differ: its dotted path and both values as JSON.
fn first_difference(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(left), Value::Object(right)) => {
            let mut keys: Vec<&String> = left.keys().chain(right.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| {
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                first_difference(
                    &inner,
                    left.get(key).unwrap_or(&Value::Null),
                    right.get(key).unwrap_or(&Value::Null),
                )
            })
        }
        _ if a == b => None,
        _ => Some((path.to_string(), a.to_string(), b.to_string())),
    }
}

/// The scaling flag's values, for the configuration.
impl From<crate::cli::ScaleArg> for ScaleKind {
    fn from(value: crate::cli::ScaleArg) -> Self {
        match value {
            crate::cli::ScaleArg::Minmax => ScaleKind::MinMax,
            crate::cli::ScaleArg::Standard => ScaleKind::Standard,
            crate::cli::ScaleArg::None => ScaleKind::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

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
        let config = RunConfig::from_args(&args);
        assert_eq!(config.model.hidden, 8);
        assert!(matches!(&config.data, DataSource::Synthetic(s) if s.steps == 4));
        assert_eq!(config.training.seed, 5);
        let loaded = RunConfig::load_binary(config.to_string().as_bytes()).expect("valid JSON");
        assert_eq!(loaded, config);
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
        let config = RunConfig::from_args(&args);
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
        let config = RunConfig::from_args(&args);
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
    fn resume_conflicts_name_the_setting_and_both_values() {
        let saved = RunConfig::from_args(&train_args(&["--hidden", "8", "--epochs", "5"]));
        let more_epochs = RunConfig::from_args(&train_args(&[
            "--hidden",
            "8",
            "--epochs",
            "10",
            "--learning-rate",
            "0.0005",
        ]));
        assert_eq!(more_epochs.resume_conflict(&saved), None);
        let other = RunConfig::from_args(&train_args(&["--hidden", "16", "--cell", "gru"]));
        let conflict = other.resume_conflict(&saved).expect("differs");
        assert_eq!(
            conflict,
            "model.cell was \"lstm\" in the saved run, this command asks for \"gru\""
        );
    }
}
