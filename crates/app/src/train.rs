//! `train`: fit the regressor with Burn's `Learner`, evaluate it and save the run.

use anyhow::{Context, Result};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::optim::AdamConfig;
use burn::tensor::backend::AutodiffBackend;
use burn::train::logger::InMemoryMetricLogger;
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};
use data::{SequenceBatcher, SequenceItem, SyntheticDataset};

use crate::artifacts::{ArtifactDir, EpochRecord};
use crate::backend::BackendJob;
use crate::cli::TrainArgs;
use crate::evaluate::{evaluate, Evaluation};
use crate::progress::{EpochReporter, SharedHistory};
use crate::run_config::RunConfig;

/// What a finished `train` run produced.
#[derive(Debug)]
pub struct TrainReport {
    /// The evaluation of the trained model on the training data (the tutorial's `evaluate`).
    pub evaluation: Evaluation,
    /// The per-epoch training loss.
    pub history: Vec<EpochRecord>,
    /// Where everything was saved.
    pub artifacts: ArtifactDir,
}

/// The `train` command as a backend-generic job.
pub struct TrainJob {
    /// The run to do.
    pub config: RunConfig,
    /// Where to save it.
    pub artifacts: ArtifactDir,
}

impl TrainJob {
    /// Prepares a run from the command line and creates its artifact directory.
    pub fn from_args(args: &TrainArgs) -> Result<Self> {
        Ok(Self {
            config: RunConfig::from_args(args),
            artifacts: ArtifactDir::create(&args.artifact_dir)?,
        })
    }
}

impl BackendJob for TrainJob {
    type Output = TrainReport;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<TrainReport> {
        let Self { config, artifacts } = self;
        let training = &config.training;
        let dataset = SyntheticDataset::generate(&config.data).context("invalid data settings")?;
        // Save the configuration first: it is what later commands need to read the model.
        artifacts.save_config(&config)?;

        // Seed before initialising, so that the same seed gives the same weights.
        B::seed(&device, u64::from(training.seed));
        let model = config.model.init::<B>(&device);

        let batcher = SequenceBatcher::new(config.data.steps, config.data.features);
        let train_loader = DataLoaderBuilder::new(batcher.clone())
            .batch_size(training.batch_size)
            .shuffle(u64::from(training.seed))
            .set_device(device.clone())
            .build(dataset.clone());
        // Like the tutorial, no validation split: Burn requires a loader, so it gets an empty one.
        let valid_loader = DataLoaderBuilder::<B::InnerBackend, _, _>::new(batcher)
            .batch_size(training.batch_size)
            .set_device(device.clone())
            .build(InMemDataset::<SequenceItem>::new(Vec::new()));

        let history = SharedHistory::default();
        let supervised = SupervisedTraining::new(artifacts.root(), train_loader, valid_loader)
            .metrics((LossMetric::new(),))
            .num_epochs(training.epochs)
            // history.csv is our record; Burn's file logger would add a folder per epoch.
            .with_metric_logger(InMemoryMetricLogger::new())
            // Burn would otherwise install a global logger and panic hook of its own.
            .with_application_logger(None);
        let reporter = EpochReporter::new(history.clone(), supervised.interrupter());
        let optimizer = AdamConfig::new()
            .with_epsilon(training.adam_epsilon as f32)
            .init();
        let result = supervised.renderer(reporter).launch(Learner::new(
            model,
            optimizer,
            training.learning_rate,
        ));
        // Dropping the renderer closes Burn's dashboard before we print below it.
        drop(result.renderer);
        let model = result.model;

        let evaluation = evaluate(&model, &dataset, training.batch_size, &device);
        let history = history.snapshot();
        artifacts.save_history(&history)?;
        artifacts.save_model(model)?;
        Ok(TrainReport {
            evaluation,
            history,
            artifacts,
        })
    }
}
