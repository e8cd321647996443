//! `train`: fit the regressor with Burn's `Learner`, evaluate it and save the run.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::record::Recorder;
use burn::train::logger::InMemoryMetricLogger;
use burn::train::metric::LossMetric;
use burn::train::{Learner, LearnerOptimizerRecord, SupervisedTraining, TrainingStrategy};
use data::{SequenceBatcher, SequenceItem, SyntheticDataset};
use model::TrainingBackend;
use model::{FusedAdamW, RecurrentRegressor};

use crate::artifacts::{without_panics, ArtifactDir, EpochRecord, ModelRecorder};
use crate::backend::BackendJob;
use crate::checkpoints::KeepLastSaved;
use crate::cli::TrainArgs;
use crate::epoch_loop::{Components, EpochLoop, LoopOutcome, LoopPlan, ResumePoint, StopReason};
use crate::evaluate::{evaluate, Evaluation};
use crate::forecast::{self, ForecastOutcome, PreparedSeries};
use crate::interrupt::{self, Interrupted};
use crate::progress::EpochReporter;
use crate::run_config::{DataSource, RunConfig};
use crate::schedule::EpochRate;
use crate::shuffle::EpochShuffled;

/// How the trained model did.
pub enum TrainOutcome {
    /// On the synthetic data: the tutorial's `evaluate` over all the sequences.
    Synthetic(Evaluation),
    /// On a series: forecasts of its test part against the baselines.
    Series(Box<ForecastOutcome>),
}

/// What a finished `train` run produced.
pub struct TrainReport {
    /// The evaluation.
    pub outcome: TrainOutcome,
    /// The per-epoch losses, resumed epochs included.
    pub history: Vec<EpochRecord>,
    /// Why training ended (all epochs, or early stopping).
    pub stop: StopReason,
    /// The epoch whose weights were saved.
    pub model_epoch: usize,
    /// The epochs this process trained (the first one, the last one).
    pub trained: (usize, usize),
    /// Where everything was saved.
    pub artifacts: ArtifactDir,
}

/// The `train` command as a backend-generic job.
pub struct TrainJob {
    /// The run to do.
    pub config: RunConfig,
    /// Where to save it.
    pub artifacts: ArtifactDir,
    /// Continue the run saved in `artifacts` instead of starting afresh.
    pub resume: bool,
}

impl TrainJob {
    /// Prepares a run from the command line and creates its artifact directory.
    pub fn from_args(args: &TrainArgs) -> Result<Self> {
        Ok(Self {
            config: RunConfig::from_args(args),
            artifacts: ArtifactDir::create(&args.artifact_dir)?,
            resume: args.resume,
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

/// Splits off the last `fraction` of `items` for validation, before any shuffling (Keras'
/// `validation_split`: the first `floor(n · (1 - fraction))` items train).
pub fn validation_split<T>(mut items: Vec<T>, fraction: f64) -> Result<(Vec<T>, Vec<T>)> {
    if fraction == 0.0 {
        return Ok((items, Vec::new()));
    }
    let total = items.len();
    let train = (total as f64 * (1.0 - fraction)).floor() as usize;
    if train == 0 || train == total {
        bail!(
            "--validation-split {fraction} of {total} sequences leaves {} for training and {} for \
             validation; both need at least one (use a fraction between {:.3} and {:.3}, or more \
             --samples)",
            train,
            total - train,
            1.0 / total as f64,
            1.0 - 1.0 / total as f64
        );
    }
    let valid = items.split_off(train);
    Ok((items, valid))
}

impl BackendJob for TrainJob {
    type Output = TrainReport;

    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<TrainReport> {
        let Self {
            mut config,
            artifacts,
            resume,
        } = self;
        let (prepared, train_items, valid_items, steps) = match &mut config.data {
            DataSource::Synthetic(synthetic) => {
                let dataset =
                    SyntheticDataset::generate(synthetic).context("invalid data settings")?;
                let items = (0..dataset.len()).filter_map(|i| dataset.get(i)).collect();
                let (train, valid) = validation_split(items, config.training.validation_split)?;
                (Prepared::Synthetic(dataset), train, valid, synthetic.steps)
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
        let resume_point = if resume {
            let point = resume_point::<B>(&config, &artifacts, &device)?;
            crate::say!(
                "Resuming the run in {} after epoch {}",
                artifacts.root().display(),
                point.history.len()
            );
            Some(point)
        } else {
            artifacts.remove_checkpoints()?;
            None
        };
        // Save the configuration first: it is what later commands need to read the model.
        artifacts.begin_run()?;
        artifacts.save_config(&config)?;

        let first_epoch = resume_point.as_ref().map_or(0, |p| p.history.len()) + 1;
        let (model, outcome) = fit::<B>(
            &config,
            train_items,
            valid_items,
            steps,
            &artifacts,
            &device,
            resume_point,
        );
        let LoopOutcome {
            history,
            stop,
            model_epoch,
            checkpoint_epoch,
            error,
        } = outcome;
        if let Some(error) = error {
            bail!("training stopped: {error}");
        }
        let run_files = [
            artifacts.config_path(),
            artifacts.history_path(),
            artifacts.model_path(),
        ];
        let dir = artifacts.root().display().to_string();
        // Checkpoints come at most once a second, so the last may be a few epochs back.
        let resume_hint = match checkpoint_epoch {
            0 => "it stopped before its first checkpoint, so `app train` starts it afresh".into(),
            epoch => format!(
                "`app train --resume --artifact-dir {dir}` with the same flags continues from \
                 epoch {epoch}, its last checkpoint"
            ),
        };
        match stop {
            StopReason::Interrupted => {
                if history.is_empty() {
                    return Err(Interrupted {
                        completed_epochs: 0,
                        epochs: config.training.epochs,
                        saved: "no epoch was completed, so there is nothing to keep".to_string(),
                    }
                    .into());
                }
                artifacts.save_history(&history)?;
                artifacts.save_model(model)?;
                artifacts.finish_run(&run_files)?;
                return Err(Interrupted {
                    completed_epochs: history.len(),
                    epochs: config.training.epochs,
                    saved: format!(
                        "saved the model of epoch {model_epoch} and the loss history in {dir}; \
                         `app plot` and `app evaluate` read them, and {resume_hint}"
                    ),
                }
                .into());
            }
            StopReason::Diverged { epoch, loss } => {
                let advice = format!(
                    "try a lower --learning-rate (this run used {}){}",
                    config.training.learning_rate,
                    match config.model.activation {
                        model::CellActivation::Relu => " or --activation tanh",
                        model::CellActivation::Tanh => "",
                    }
                );
                if history.is_empty() {
                    bail!(
                        "the training loss became {loss} in epoch {epoch}, so training stopped \
                         and no model was saved; {advice}"
                    );
                }
                artifacts.save_history(&history)?;
                artifacts.save_model(model)?;
                artifacts.finish_run(&run_files)?;
                bail!(
                    "the training loss became {loss} in epoch {epoch}, so training stopped; the \
                     model of epoch {model_epoch} is saved in {dir}; {advice}: {resume_hint} \
                     (--learning-rate may change)"
                );
            }
            StopReason::Completed | StopReason::EarlyStopped { .. } => {}
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
        let last_epoch = history.last().map_or(0, |r| r.epoch);
        Ok(TrainReport {
            outcome,
            history,
            stop,
            model_epoch,
            trained: (first_epoch, last_epoch),
            artifacts,
        })
    }
}

/// Reads what `train --resume` continues from: the saved configuration (which must agree with
/// the one asked for), the history up to the last epoch whose checkpoint is complete, and the
/// best weights when early stopping tracks them. Every file is read here, so that a damaged one
/// is reported before training starts.
fn resume_point<B: TrainingBackend>(
    config: &RunConfig,
    artifacts: &ArtifactDir,
    device: &B::Device,
) -> Result<ResumePoint<B>> {
    let dir = artifacts.root().display();
    let saved = artifacts
        .read_config()
        .with_context(|| format!("cannot resume the run in {dir}"))?;
    if let Some(conflict) = config.resume_conflict(&saved) {
        bail!(
            "cannot resume the run in {dir}: {conflict}; give the flags of the first run (only \
             --epochs, --learning-rate, --early-stopping and --backend may change)"
        );
    }
    let mut history = artifacts
        .load_history()
        .with_context(|| format!("cannot resume the run in {dir}"))?;
    // An epoch's checkpoint is written after its history line; a run killed in between resumes
    // from the epoch before.
    while let Some(last) = history.last() {
        if artifacts
            .checkpoint_files(last.epoch)
            .iter()
            .all(|path| path.exists())
        {
            break;
        }
        history.pop();
    }
    let Some(last) = history.last().map(|r| r.epoch) else {
        bail!(
            "cannot resume the run in {dir}: it has no complete checkpoint in {}; train it \
             afresh without --resume",
            artifacts.checkpoint_dir().display()
        );
    };
    if history.iter().enumerate().any(|(i, r)| r.epoch != i + 1) {
        bail!(
            "cannot resume the run in {dir}: {} does not hold epochs 1 to {last} in order",
            artifacts.history_path().display()
        );
    }
    if last >= config.training.epochs {
        bail!(
            "the run in {dir} already has {last} epochs and --epochs is the total, as Keras' \
             initial_epoch counts; ask for more, e.g. --epochs {}",
            last + config.training.epochs.max(10)
        );
    }
    // Load both parts of the checkpoint once here: Burn's loader panics on a damaged file.
    let [model_file, optim_file, _] = artifacts.checkpoint_files(last);
    artifacts.load_weights::<B>(config, &model_file, device)?;
    let optimiser = without_panics(|| {
        ModelRecorder::new()
            .load::<LearnerOptimizerRecord<Components<B>>>(optim_file.clone(), device)
    });
    if !matches!(optimiser, Ok(Ok(_))) {
        bail!(
            "cannot resume the run in {dir}: the optimiser state {} is damaged; train it afresh \
             without --resume",
            optim_file.display()
        );
    }
    let best = match config.training.early_stopping {
        Some(_) if artifacts.best_path().exists() => {
            Some(artifacts.load_weights::<B>(config, &artifacts.best_path(), device)?)
        }
        _ => None,
    };
    Ok(ResumePoint { history, best })
}

/// Initialises the model from `config` (seeded) and fits it on `train_items` with Burn's
/// `Learner` and our [`EpochLoop`], reporting the loss on `valid_items` each epoch when there are
/// any. Items hold `steps` steps of `config.model.input_features` values. Checkpoints, the
/// per-epoch history and the best weights go to `artifacts`; `resume` continues an earlier run.
///
/// Returns the model to keep (the last epoch's, the best one under early stopping, the last
/// complete one after an interrupt or divergence) and how the loop ended.
pub fn fit<B: TrainingBackend>(
    config: &RunConfig,
    train_items: Vec<SequenceItem>,
    valid_items: Vec<SequenceItem>,
    steps: usize,
    artifacts: &ArtifactDir,
    device: &B::Device,
    resume: Option<ResumePoint<B>>,
) -> (RecurrentRegressor<B::InnerBackend>, LoopOutcome) {
    let training = &config.training;
    // Seed before initialising, so that the same seed gives the same weights.
    B::seed(device, u64::from(training.seed));
    let model = config.model.init::<B>(device);

    let batcher = SequenceBatcher::new(steps, config.model.input_features);
    let train_items = EpochShuffled::new(train_items);
    let train_loader = DataLoaderBuilder::new(batcher.clone())
        .batch_size(training.batch_size)
        .set_device(device.clone())
        .build(train_items.clone());
    // Burn requires a validation loader; without a validation part it gets an empty one.
    let valid_loader = DataLoaderBuilder::<B::InnerBackend, _, _>::new(batcher)
        .batch_size(training.batch_size)
        .set_device(device.clone())
        .build(InMemDataset::new(valid_items));

    let rate = EpochRate::new(training.learning_rate);
    let plan = LoopPlan {
        epochs: training.epochs,
        seed: training.seed,
        learning_rate: training.learning_rate,
        schedule: training.lr_schedule,
        early_stopping: training.early_stopping(),
        print_lines: !EpochReporter::uses_dashboard(),
    };
    let epoch_loop = Arc::new(EpochLoop::new(
        plan,
        device.clone(),
        train_items,
        rate.clone(),
        artifacts.clone(),
        resume,
    ));
    let supervised = SupervisedTraining::new(artifacts.root(), train_loader, valid_loader)
        .metrics((LossMetric::new(),))
        .num_epochs(training.epochs)
        // history.csv is our record; Burn's file logger would add a folder per epoch.
        .with_metric_logger(InMemoryMetricLogger::new())
        // Burn would otherwise install a global logger and panic hook of its own.
        .with_application_logger(None)
        .with_file_checkpointer(ModelRecorder::new())
        .with_checkpointing_strategy(KeepLastSaved::new(2))
        .with_training_strategy(TrainingStrategy::Custom(epoch_loop.clone()));
    let reporter = EpochReporter::new(supervised.interrupter());
    interrupt::arm(supervised.interrupter());
    let optimizer = FusedAdamW::new(training.adam_epsilon as f32, training.weight_decay as f32)
        .init(
            training
                .grad_clip
                .map(|norm| GradientClippingConfig::Norm(norm as f32).init()),
        );
    let result = supervised
        .renderer(reporter)
        .launch(Learner::new(model, optimizer, rate));
    interrupt::disarm();
    // Dropping the renderer closes Burn's dashboard before anything is printed below it.
    drop(result.renderer);
    let outcome = epoch_loop.take_outcome().unwrap_or(LoopOutcome {
        history: Vec::new(),
        stop: StopReason::Completed,
        model_epoch: 0,
        checkpoint_epoch: 0,
        error: Some("Burn's Learner did not run the training loop".to_string()),
    });
    (result.model, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_split_follows_keras() {
        // Keras: split_at = floor(n · (1 - fraction)); the validation part is the tail.
        let (train, valid) = validation_split((0..10).collect(), 0.25).expect("valid split");
        assert_eq!(train, (0..7).collect::<Vec<_>>());
        assert_eq!(valid, vec![7, 8, 9]);
        let (train, valid) = validation_split((0..10).collect::<Vec<i32>>(), 0.0).expect("none");
        assert_eq!((train.len(), valid.len()), (10, 0));
        // Any positive fraction leaves at least one for validation; a large one can leave none for
        // training.
        let (_, valid) = validation_split((0..100).collect::<Vec<i32>>(), 0.001).expect("one");
        assert_eq!(valid, vec![99]);
        let error = validation_split((0..8).collect::<Vec<i32>>(), 0.9).expect_err("empty");
        assert!(
            error
                .to_string()
                .contains("leaves 0 for training and 8 for validation"),
            "{error}"
        );
    }
}
