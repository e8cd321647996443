//! Training a run: prepare its data, fit the regressor with Burn's `Learner` and our
//! `EpochLoop`, evaluate it, and (when asked) save it.

use std::path::PathBuf;
use std::sync::Arc;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::{Dataset, InMemDataset};
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::record::Recorder;
use burn::train::logger::InMemoryMetricLogger;
use burn::train::metric::LossMetric;
use burn::train::{Learner, LearnerOptimizerRecord, SupervisedTraining, TrainingStrategy};
use data::{SequenceBatcher, SequenceItem, SyntheticDataset, TimeSeries, TransformDecision};
use model::TrainingBackend;
use model::{FusedAdamW, RecurrentRegressor};

use crate::artifacts::{without_panics, ArtifactDir, ModelRecorder};
use crate::backend::BackendJob;
use crate::checkpoints::KeepLastSaved;
use crate::config::{DataSource, RunConfig};
use crate::epoch_loop::{Components, EpochLoop, LoopOutcome, LoopPlan, ResumePoint, StopReason};
use crate::error::{Error, Result};
use crate::evaluate::evaluate;
use crate::forecast::{self, ForecastOutcome, PreparedSeries};
use crate::memory::{self, MemoryUse};
use crate::observer::{RendererSlot, Silent, StopHandle, TrainingObserver};
use crate::run::{RunOutcome, TrainReport, TrainedRun};
use crate::schedule::EpochRate;
use crate::shuffle::EpochShuffled;

/// A training run to do: its configuration and how it is watched, stopped and stored.
///
/// By default nothing is written to disk, nothing is printed and nothing stops it early but its
/// own settings (early stopping, divergence).
pub struct Training {
    config: RunConfig,
    artifact_dir: Option<PathBuf>,
    resume: bool,
    stop: StopHandle,
    observer: Box<dyn TrainingObserver>,
    series: Option<TimeSeries>,
}

impl Training {
    /// Trains `config`.
    pub fn new(config: RunConfig) -> Self {
        Self {
            config,
            artifact_dir: None,
            resume: false,
            stop: StopHandle::new(),
            observer: Box::new(Silent),
            series: None,
        }
    }

    /// Writes the run into `dir` as it goes (configuration, checkpoints, loss history, model,
    /// metrics, manifest), in the layout [`SavedRun`](crate::SavedRun) and the command line read.
    pub fn with_artifact_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.artifact_dir = Some(dir.into());
        self
    }

    /// Continues the run saved in the artifact directory from its last checkpoint instead of
    /// starting afresh; its configuration must agree with this one but for the number of epochs
    /// (the total), the learning rate, early stopping and the backend.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Stops training when `stop` is pulled (from another thread, a signal handler...).
    pub fn with_stop_handle(mut self, stop: StopHandle) -> Self {
        self.stop = stop;
        self
    }

    /// Tells `observer` about the run as it goes.
    pub fn with_observer(mut self, observer: impl TrainingObserver + 'static) -> Self {
        self.observer = Box::new(observer);
        self
    }

    /// Trains on `series` (read with [`data::read_csv`] from any reader, say) instead of reading
    /// the configuration's CSV file; its `csv` path is still what the saved configuration records.
    pub fn with_series(mut self, series: TimeSeries) -> Self {
        self.series = Some(series);
        self
    }

    /// Trains on backend `B` (an autodiff backend such as `Autodiff<NdArray>`) and `device`.
    /// A run stopped through its handle, or whose loss diverged after good epochs, is returned
    /// with the last complete epoch's model; before any complete epoch it is an error.
    pub fn run<B: TrainingBackend>(
        self,
        device: &B::Device,
    ) -> Result<TrainedRun<B::InnerBackend>> {
        let Self {
            mut config,
            artifact_dir,
            resume,
            stop,
            mut observer,
            series,
        } = self;
        config.check()?;
        // The model and working set first, before data is generated or read; then everything,
        // with the series' length.
        memory::check_run(&config, MemoryUse::Training, 0)?;
        let (prepared, decision) = Prepared::new(&mut config, series)?;
        let estimate = memory::check_run(&config, MemoryUse::Training, prepared.rows())?;
        observer.memory_estimated(&estimate);
        if let (DataSource::Series(series), Prepared::Series(prepared), Some(decision)) =
            (&config.data, &prepared, &decision)
        {
            observer.series_prepared(series, &prepared.series, decision);
        }
        let (train_items, valid_items) = prepared.items(&config)?;
        let steps = prepared.steps();
        let artifacts = artifact_dir.map(ArtifactDir::create).transpose()?;
        let resume_point = match (&artifacts, resume) {
            (Some(artifacts), true) => {
                let point = resume_point::<B>(&config, artifacts, device)?;
                observer.resumed(artifacts.root(), point.history.len());
                Some(point)
            }
            (Some(artifacts), false) => {
                artifacts.remove_checkpoints()?;
                None
            }
            (None, _) => None,
        };
        if let Some(artifacts) = &artifacts {
            // The configuration first: it is what later commands need to read the model.
            artifacts.begin_run()?;
            artifacts.save_config(&config)?;
        }
        let first_epoch = resume_point.as_ref().map_or(0, |p| p.history.len()) + 1;
        let fitted = fit::<B>(
            &config,
            FitData {
                train_items,
                valid_items,
                steps,
            },
            FitStorage {
                artifacts: artifacts.as_ref(),
                resume: resume_point,
            },
            device,
            stop,
            observer,
        );
        let mut trained = finish::<B>(config, prepared, artifacts, fitted, first_epoch, device)?;
        trained.report.transform_decision = decision;
        Ok(trained)
    }
}

impl BackendJob for Training {
    type Output = TrainReport;

    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<TrainReport> {
        Ok(Training::run::<B>(self, &device)?.report)
    }

    fn run_config(&self) -> Option<&RunConfig> {
        Some(&self.config)
    }
}

/// A run's data, read and (for a series) scaled.
enum Prepared {
    Synthetic(SyntheticDataset),
    Series(Box<PreparedSeries>),
}

impl Prepared {
    /// Reads the run's data (`series` instead of its CSV file when given) and, for a series,
    /// decides and fits its transforms and scaler into `config`, returning the decision.
    fn new(
        config: &mut RunConfig,
        series: Option<TimeSeries>,
    ) -> Result<(Self, Option<TransformDecision>)> {
        Ok(match &mut config.data {
            DataSource::Synthetic(synthetic) => (
                Prepared::Synthetic(SyntheticDataset::generate(synthetic)?),
                None,
            ),
            DataSource::Series(series_config) => {
                let series = match series {
                    Some(series) => series,
                    None => forecast::read_series(series_config, &series_config.csv)?,
                };
                let (transform, decision) = forecast::decide_transform(&series, series_config)?;
                series_config.fitted_transform = transform;
                series_config.scaler = forecast::fit_scaler(&series, series_config);
                series_config.feature_scalers =
                    forecast::fit_feature_scalers(&series, series_config);
                (
                    Prepared::Series(Box::new(PreparedSeries::new(series, series_config)?)),
                    Some(decision),
                )
            }
        })
    }

    /// The training and validation items.
    fn items(&self, config: &RunConfig) -> Result<(Vec<SequenceItem>, Vec<SequenceItem>)> {
        match self {
            Prepared::Synthetic(dataset) => {
                let items = (0..dataset.len()).filter_map(|i| dataset.get(i)).collect();
                validation_split(items, config.training.validation_split)
            }
            Prepared::Series(prepared) => Ok((prepared.train_items(), prepared.validation_items())),
        }
    }

    /// The series' values (0 for the synthetic data, whose size its configuration gives).
    fn rows(&self) -> u64 {
        match self {
            Prepared::Synthetic(_) => 0,
            Prepared::Series(prepared) => prepared.series.values.len() as u64,
        }
    }

    /// Steps per item.
    fn steps(&self) -> usize {
        match self {
            Prepared::Synthetic(dataset) => dataset.config().steps,
            Prepared::Series(prepared) => prepared.steps(),
        }
    }

    /// The trained model on the run's own data: the tutorial's evaluation, or the test part's
    /// forecasts against the baselines.
    fn outcome<B: model::LstmBackend>(
        self,
        model: &RecurrentRegressor<B>,
        config: &RunConfig,
        device: &B::Device,
    ) -> RunOutcome {
        match self {
            Prepared::Synthetic(dataset) => RunOutcome::Synthetic(evaluate(
                model,
                &dataset,
                config.training.batch_size,
                device,
            )),
            Prepared::Series(prepared) => {
                let DataSource::Series(series) = &config.data else {
                    unreachable!("a prepared series comes from a series run")
                };
                RunOutcome::Series(Box::new(ForecastOutcome::new(
                    model, *prepared, series, device,
                )))
            }
        }
    }
}

/// Saves what the loop produced and evaluates it, or explains why there is nothing to keep.
fn finish<B: TrainingBackend>(
    config: RunConfig,
    prepared: Prepared,
    artifacts: Option<ArtifactDir>,
    (model, outcome): (RecurrentRegressor<B::InnerBackend>, LoopOutcome),
    first_epoch: usize,
    device: &B::Device,
) -> Result<TrainedRun<B::InnerBackend>> {
    let LoopOutcome {
        history,
        stop,
        model_epoch,
        checkpoint_epoch,
        error,
    } = outcome;
    if let Some(error) = error {
        return Err(Error::TrainingFiles(error));
    }
    match stop {
        StopReason::Interrupted if history.is_empty() => {
            return Err(Error::StoppedBeforeFirstEpoch {
                epochs: config.training.epochs,
            })
        }
        StopReason::Diverged { epoch, loss } if history.is_empty() => {
            return Err(Error::DivergedBeforeFirstEpoch { epoch, loss })
        }
        _ => {}
    }
    let outcome = match stop {
        StopReason::Completed | StopReason::EarlyStopped { .. } => {
            Some(prepared.outcome(&model, &config, device))
        }
        StopReason::Interrupted | StopReason::Diverged { .. } => None,
    };
    if let Some(artifacts) = &artifacts {
        artifacts.save_run(&history, model.clone(), outcome.as_ref())?;
    }
    let last_epoch = history.last().map_or(0, |r| r.epoch);
    Ok(TrainedRun {
        model,
        report: TrainReport {
            config,
            outcome,
            history,
            stop,
            model_epoch,
            checkpoint_epoch,
            trained: (first_epoch, last_epoch),
            saved_in: artifacts.map(|a| a.root().to_path_buf()),
            transform_decision: None,
        },
    })
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
        return Err(Error::ValidationSplit {
            fraction,
            total,
            train,
            valid: total - train,
        });
    }
    let valid = items.split_off(train);
    Ok((items, valid))
}

/// Reads what a resumed run continues from: the saved configuration (which must agree with
/// the one asked for), the history up to the last epoch whose checkpoint is complete, and the
/// best weights when early stopping tracks them. Every file is read here, so that a damaged one
/// is reported before training starts.
fn resume_point<B: TrainingBackend>(
    config: &RunConfig,
    artifacts: &ArtifactDir,
    device: &B::Device,
) -> Result<ResumePoint<B>> {
    let cannot = |source: Error| Error::Resume {
        dir: artifacts.root().to_path_buf(),
        source: Box::new(source),
    };
    let saved = artifacts.read_config().map_err(cannot)?;
    if let Some(conflict) = config.resume_conflict(&saved) {
        return Err(cannot(conflict));
    }
    let mut history = artifacts.load_history().map_err(cannot)?;
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
        return Err(cannot(Error::NoCheckpoint {
            checkpoints: artifacts.checkpoint_dir(),
        }));
    };
    if history.iter().enumerate().any(|(i, r)| r.epoch != i + 1) {
        return Err(cannot(Error::HistoryOutOfOrder {
            history: artifacts.history_path(),
            last,
        }));
    }
    if last >= config.training.epochs {
        return Err(Error::AlreadyTrained {
            dir: artifacts.root().to_path_buf(),
            trained: last,
            epochs: config.training.epochs,
        });
    }
    // Load both parts of the checkpoint once here: Burn's loader panics on a damaged file.
    let [model_file, optim_file, _] = artifacts.checkpoint_files(last);
    artifacts.load_weights::<B>(config, &model_file, device)?;
    let optimiser = without_panics(|| {
        ModelRecorder::new()
            .load::<LearnerOptimizerRecord<Components<B>>>(optim_file.clone(), device)
    });
    if !matches!(optimiser, Ok(Ok(_))) {
        return Err(cannot(Error::DamagedOptimiser { path: optim_file }));
    }
    let best = match config.training.early_stopping {
        Some(_) if artifacts.best_path().exists() => {
            Some(artifacts.load_weights::<B>(config, &artifacts.best_path(), device)?)
        }
        _ => None,
    };
    Ok(ResumePoint { history, best })
}

/// The items a fit trains and validates on, each of `steps` steps.
pub(crate) struct FitData {
    pub(crate) train_items: Vec<SequenceItem>,
    pub(crate) valid_items: Vec<SequenceItem>,
    pub(crate) steps: usize,
}

/// Where a fit keeps its checkpoints and history (nowhere without a directory), and the run it
/// continues.
pub(crate) struct FitStorage<'a, B: TrainingBackend> {
    pub(crate) artifacts: Option<&'a ArtifactDir>,
    pub(crate) resume: Option<ResumePoint<B>>,
}

/// Initialises the model from `config` (seeded) and fits it on `data` with Burn's `Learner` and
/// our [`EpochLoop`], reporting the loss on the validation items each epoch when there are any.
///
/// Returns the model to keep (the last epoch's, the best one under early stopping, the last
/// complete one after a stop or divergence) and how the loop ended.
/// A turn at the backend's random generator. Burn's NdArray backend keeps one generator per
/// process, and seeding it resets it for every thread: runs trained on several threads at once
/// (tests, a caller's parallel folds) seed and draw in turns, so that none draws from another's
/// seed. (Dropout masks drawn during an epoch are not covered: a run with dropout is
/// reproducible alone, not beside another.)
pub(crate) fn backend_rng_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn fit<B: TrainingBackend>(
    config: &RunConfig,
    data: FitData,
    storage: FitStorage<'_, B>,
    device: &B::Device,
    stop: StopHandle,
    mut observer: Box<dyn TrainingObserver>,
) -> (RecurrentRegressor<B::InnerBackend>, LoopOutcome) {
    let training = &config.training;
    // Seed before initialising, so that the same seed gives the same weights.
    let model = {
        let _turn = backend_rng_turn();
        B::seed(device, u64::from(training.seed));
        config.model.init::<B>(device)
    };

    let batcher = SequenceBatcher::new(data.steps, config.model.input_features);
    let train_items = EpochShuffled::new(data.train_items);
    let train_loader = DataLoaderBuilder::new(batcher.clone())
        .batch_size(training.batch_size)
        .set_device(device.clone())
        .build(train_items.clone());
    // Burn requires a validation loader; without a validation part it gets an empty one.
    let valid_loader = DataLoaderBuilder::<B::InnerBackend, _, _>::new(batcher)
        .batch_size(training.batch_size)
        .set_device(device.clone())
        .build(InMemDataset::new(data.valid_items));

    let rate = EpochRate::new(training.learning_rate);
    let plan = LoopPlan {
        epochs: training.epochs,
        seed: training.seed,
        learning_rate: training.learning_rate,
        schedule: training.lr_schedule,
        early_stopping: training.early_stopping(),
    };
    let renderer = RendererSlot::new(observer.metrics_renderer(&stop));
    let epoch_loop = Arc::new(EpochLoop::new(
        plan,
        device.clone(),
        train_items,
        rate.clone(),
        storage.artifacts.cloned(),
        storage.resume,
        observer,
        renderer.shows_batches(),
    ));
    // Without a directory nothing is written: Burn's checkpointer is left out, its metric
    // logger keeps metrics in memory and its application logger is off.
    let directory = storage
        .artifacts
        .map_or_else(|| PathBuf::from("."), |a| a.root().to_path_buf());
    let mut supervised = SupervisedTraining::new(directory, train_loader, valid_loader)
        .metrics((LossMetric::new(),))
        .num_epochs(training.epochs)
        // history.csv is our record; Burn's file logger would add a folder per epoch.
        .with_metric_logger(InMemoryMetricLogger::new())
        // Burn would otherwise install a global logger and panic hook of its own.
        .with_application_logger(None)
        .with_interrupter(stop.interrupter())
        .with_training_strategy(TrainingStrategy::Custom(epoch_loop.clone()));
    if storage.artifacts.is_some() {
        supervised = supervised
            .with_file_checkpointer(ModelRecorder::new())
            .with_checkpointing_strategy(KeepLastSaved::new(2));
    }
    let optimizer = FusedAdamW::new(training.adam_epsilon as f32, training.weight_decay as f32)
        .init(
            training
                .grad_clip
                .map(|norm| GradientClippingConfig::Norm(norm as f32).init()),
        );
    let result = supervised
        .renderer(renderer)
        .launch(Learner::new(model, optimizer, rate));
    // Dropping the renderer closes a dashboard before anything is printed below it.
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
