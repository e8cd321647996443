//! Everything needed to rebuild a run: model architecture, data and training settings.

use std::path::PathBuf;

use burn::config::Config;
use data::{ColumnRef, FillPolicy, ScaleKind, Scaler, SyntheticConfig, WindowSpec};
use model::LstmRegressorConfig;
use serde::{Deserialize, Serialize};

use crate::cli::{ScaleFit, TrainArgs};

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
    #[config(default = 2)]
    pub format_version: u32,
    /// The network.
    pub model: LstmRegressorConfig,
    /// The data it was trained on.
    pub data: DataSource,
    /// How it was trained.
    pub training: TrainingConfig,
}

impl RunConfig {
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
        let model = LstmRegressorConfig::new()
            .with_input_features(features)
            .with_outputs(outputs)
            .with_hidden(args.hidden)
            .with_activation(args.activation.into());
        let backend = format!("{:?}", args.backend).to_lowercase();
        let training = TrainingConfig::new(
            args.epochs,
            args.batch_size,
            args.learning_rate,
            args.adam_epsilon,
            args.data.seed,
            backend,
        );
        Self::new(model, data, training)
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
}
