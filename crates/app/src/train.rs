//! `train`: fit the regressor with Burn's `Learner`, evaluate it and save the run.

use anyhow::{bail, Context, Result};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::optim::AdamConfig;
use burn::tensor::backend::AutodiffBackend;
use burn::train::logger::InMemoryMetricLogger;
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};
use data::{SequenceBatcher, SequenceItem, SyntheticDataset};
use model::LstmRegressor;

use crate::artifacts::{ArtifactDir, EpochRecord};
use crate::backend::BackendJob;
use crate::cli::TrainArgs;
use crate::evaluate::{evaluate, Evaluation};
use crate::forecast::{self, ForecastOutcome, PreparedSeries};
use crate::interrupt::{self, Interrupted};
use crate::progress::{EpochReporter, SharedHistory};
use crate::run_config::{DataSource, RunConfig};

/// How the trained model did.
pub enum TrainOutcome {
    /// On the synthetic data: the tutorial's `evaluate` over the training sequences.
    Synthetic(Evaluation),
    /// On a series: forecasts of its test part against the baselines.
    Series(Box<ForecastOutcome>),
}

/// What a finished `train` run produced.
pub struct TrainReport {
    /// The evaluation.
    pub outcome: TrainOutcome,
    /// The per-epoch losses.
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

/// The training material of a run, in training units.
enum Prepared {
    Synthetic(SyntheticDataset),
    Series {
        prepared: PreparedSeries,
        season: Option<usize>,
    },
}

impl BackendJob for TrainJob {
    type Output = TrainReport;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<TrainReport> {
        let Self {
            mut config,
            artifacts,
        } = self;
        let (prepared, train_items, valid_items, steps) = match &mut config.data {
            DataSource::Synthetic(synthetic) => {
                let dataset =
                    SyntheticDataset::generate(synthetic).context("invalid data settings")?;
                let items = (0..dataset.len()).filter_map(|i| dataset.get(i)).collect();
                (
                    Prepared::Synthetic(dataset),
                    items,
                    Vec::new(),
                    synthetic.steps,
                )
            }
            DataSource::Series(series_config) => {
                let series = forecast::read_series(series_config, &series_config.csv)?;
                series_config.scaler = forecast::fit_scaler(&series, series_config);
                let prepared = PreparedSeries::new(series, series_config, series_config.scaler)?;
                let (train, valid) = (prepared.train_items(), prepared.validation_items());
                (
                    Prepared::Series {
                        prepared,
                        season: series_config.season,
                    },
                    train,
                    valid,
                    series_config.window,
                )
            }
        };
        // Save the configuration first: it is what later commands need to read the model.
        artifacts.begin_run()?;
        artifacts.save_config(&config)?;

        let (model, history) = fit::<B>(
            &config,
            train_items,
            valid_items,
            steps,
            artifacts.root(),
            &device,
        );
        let run_files = [
            artifacts.config_path(),
            artifacts.history_path(),
            artifacts.model_path(),
        ];
        if interrupt::requested() {
            artifacts.save_history(&history)?;
            artifacts.save_model(model)?;
            artifacts.finish_run(&run_files)?;
            return Err(Interrupted {
                completed_epochs: history.len(),
                epochs: config.training.epochs,
                saved: format!(
                    "saved the model and the loss history so far in {}; `app plot` reads them",
                    artifacts.root().display()
                ),
            }
            .into());
        }
        if let Some(bad) = history.iter().find(|record| !record.loss.is_finite()) {
            // Keep the history for inspection, but not a model that only predicts NaN.
            artifacts.save_history(&history)?;
            bail!(
                "the training loss became {} in epoch {}, so training stopped and no model was saved; \
                 try a lower --learning-rate (this run used {}){}",
                bad.loss,
                bad.epoch,
                config.training.learning_rate,
                match config.model.activation {
                    model::CellActivation::Relu => " or --activation tanh",
                    model::CellActivation::Tanh => "",
                }
            );
        }

        let outcome = match prepared {
            Prepared::Synthetic(dataset) => TrainOutcome::Synthetic(evaluate(
                &model,
                &dataset,
                config.training.batch_size,
                &device,
            )),
            Prepared::Series { prepared, season } => {
                let forecast = forecast::forecast(&model, &prepared, &device);
                let metrics = forecast::evaluate_forecast(&prepared, &forecast, season);
                artifacts.save_metrics(&metrics)?;
                TrainOutcome::Series(Box::new(ForecastOutcome {
                    prepared,
                    forecast,
                    metrics,
                }))
            }
        };
        artifacts.save_history(&history)?;
        artifacts.save_model(model)?;
        artifacts.finish_run(&run_files)?;
        Ok(TrainReport {
            outcome,
            history,
            artifacts,
        })
    }
}

/// Initialises the model from `config` (seeded) and fits it on `train_items` with Burn's
/// `Learner`, reporting the loss on `valid_items` each epoch when there are any. Items hold
/// `steps` values of one feature per step; `directory` is Burn's working directory.
pub fn fit<B: AutodiffBackend>(
    config: &RunConfig,
    train_items: Vec<SequenceItem>,
    valid_items: Vec<SequenceItem>,
    steps: usize,
    directory: &std::path::Path,
    device: &B::Device,
) -> (LstmRegressor<B::InnerBackend>, Vec<EpochRecord>) {
    let training = &config.training;
    // Seed before initialising, so that the same seed gives the same weights.
    B::seed(device, u64::from(training.seed));
    let model = config.model.init::<B>(device);

    let has_validation = !valid_items.is_empty();
    let batcher = SequenceBatcher::new(steps, config.model.input_features);
    let train_loader = DataLoaderBuilder::new(batcher.clone())
        .batch_size(training.batch_size)
        .shuffle(u64::from(training.seed))
        .set_device(device.clone())
        .build(InMemDataset::new(train_items));
    // Burn requires a validation loader; without a validation part it gets an empty one.
    let valid_loader = DataLoaderBuilder::<B::InnerBackend, _, _>::new(batcher)
        .batch_size(training.batch_size)
        .set_device(device.clone())
        .build(InMemDataset::new(valid_items));

    let history = SharedHistory::default();
    let supervised = SupervisedTraining::new(directory, train_loader, valid_loader)
        .metrics((LossMetric::new(),))
        .num_epochs(training.epochs)
        // history.csv is our record; Burn's file logger would add a folder per epoch.
        .with_metric_logger(InMemoryMetricLogger::new())
        // Burn would otherwise install a global logger and panic hook of its own.
        .with_application_logger(None);
    let reporter = EpochReporter::new(history.clone(), supervised.interrupter(), has_validation);
    interrupt::arm(supervised.interrupter());
    let optimizer = AdamConfig::new()
        .with_epsilon(training.adam_epsilon as f32)
        .init();
    let result = supervised.renderer(reporter).launch(Learner::new(
        model,
        optimizer,
        training.learning_rate,
    ));
    interrupt::disarm();
    // Dropping the renderer closes Burn's dashboard before anything is printed below it.
    drop(result.renderer);
    (result.model, history.snapshot())
}
