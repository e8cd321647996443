//! Everything needed to rebuild a run: model architecture, data and training settings.

use burn::config::Config;
use data::SyntheticConfig;
use model::LstmRegressorConfig;

use crate::cli::TrainArgs;

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

/// The saved configuration of a run (`config.json` in the artifact directory).
#[derive(Config, Debug, PartialEq)]
pub struct RunConfig {
    /// Layout version of this file; bumped when a field changes meaning.
    #[config(default = 1)]
    pub format_version: u32,
    /// The network.
    pub model: LstmRegressorConfig,
    /// The data it was trained on.
    pub data: SyntheticConfig,
    /// How it was trained.
    pub training: TrainingConfig,
}

impl RunConfig {
    /// The run `train` will do with these arguments.
    pub fn from_args(args: &TrainArgs) -> Self {
        let data = SyntheticConfig::new()
            .with_samples(args.data.samples)
            .with_steps(args.data.steps)
            .with_seed(args.data.seed);
        let model = LstmRegressorConfig::new()
            .with_input_features(data.features)
            .with_outputs(data.features)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn run_config_round_trips_through_json() {
        let cli = Cli::try_parse_from([
            "app",
            "train",
            "--hidden",
            "8",
            "--activation",
            "tanh",
            "--seed",
            "5",
            "--steps",
            "4",
        ])
        .expect("valid flags");
        let Command::Train(args) = cli.command else {
            panic!("expected train")
        };
        let config = RunConfig::from_args(&args);
        assert_eq!(config.model.hidden, 8);
        assert_eq!(config.data.steps, 4);
        assert_eq!(config.training.seed, 5);
        let loaded = RunConfig::load_binary(config.to_string().as_bytes()).expect("valid JSON");
        assert_eq!(loaded, config);
    }
}
