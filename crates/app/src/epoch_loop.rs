//! The epoch loop Burn's `Learner` runs for us (a custom `SupervisedLearningStrategy`).
//!
//! Burn's default single-device loop checkpoints and renders asynchronously, shuffles from one
//! running generator and has no hook between epochs. This loop keeps Burn's pieces (the
//! `Learner`'s steps and optimiser, its checkpointer, its event processor and dashboard) and adds
//! what Keras users expect from `fit`, decided synchronously at the end of every epoch: the
//! epoch's learning rate, validation loss, early stopping with the best weights kept, a stop
//! without losing the last good epoch on divergence or a stop request, and seeds derived from the epoch
//! number so that a resumed run continues bit for bit.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataloader::Progress;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::prelude::*;
use burn::train::metric::store::EventStoreClient;
use burn::train::LearningCheckpointer;
use burn::train::{
    EventProcessorTraining, InferenceStep, Learner, LearnerEvent, LearningComponentsMarker,
    SupervisedLearningStrategy, SupervisedTrainingEventProcessor, TrainLoader, TrainingComponents,
    TrainingItem, ValidLoader,
};
use data::SequenceItem;
use model::TrainingBackend;
use model::{FusedAdamW, RecurrentRegressor};

use crate::artifacts::{ArtifactDir, EpochRecord};
use crate::checkpoints::{CheckpointSchedule, CHECKPOINT_INTERVAL};
use crate::observer::TrainingObserver;
use crate::schedule::{EarlyStopping, EpochRate, LrSchedule};
use crate::shuffle::{epoch_seed, EpochShuffled};

/// The Burn component types of our training: backend, schedule, model, optimiser.
pub type Components<B> = LearningComponentsMarker<
    B,
    EpochRate,
    RecurrentRegressor<B>,
    OptimizerAdaptor<FusedAdamW, RecurrentRegressor<B>, B>,
>;

/// What the loop is asked to do.
#[derive(Clone, Debug)]
pub struct LoopPlan {
    /// The last epoch (the total, counting resumed ones).
    pub epochs: usize,
    /// The run's seed: each epoch's shuffle and random draws (dropout) derive from it.
    pub seed: u32,
    /// The initial learning rate.
    pub learning_rate: f64,
    /// How the rate changes per epoch.
    pub schedule: LrSchedule,
    /// Stop when the monitored loss has not improved for this many epochs.
    pub early_stopping: Option<EarlyStopping>,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// Early stopping: no improvement since `best_epoch`.
    EarlyStopped {
        /// The epoch whose weights are kept.
        best_epoch: usize,
    },
    /// Stopped through the run's stop handle; the partial epoch is dropped.
    Interrupted,
    /// The training loss of `epoch` was not finite.
    Diverged {
        /// The epoch that diverged.
        epoch: usize,
        /// Its loss.
        loss: f64,
    },
}

/// A run picked up where an earlier one stopped.
pub struct ResumePoint<B: TrainingBackend> {
    /// The history of the earlier run up to its last checkpoint.
    pub history: Vec<EpochRecord>,
    /// The best weights of the earlier run when early stopping tracks them.
    pub best: Option<RecurrentRegressor<B>>,
}

/// What the loop leaves behind.
pub struct LoopOutcome {
    /// One record per completed epoch, earlier (resumed) ones included.
    pub history: Vec<EpochRecord>,
    /// Why it ended.
    pub stop: StopReason,
    /// The epoch whose weights the returned model holds.
    pub model_epoch: usize,
    /// The last epoch with a checkpoint, which a resumed run continues from (0: none).
    pub checkpoint_epoch: usize,
    /// A failure writing the per-epoch files, which stops training.
    pub error: Option<String>,
}

/// The loop, shared with Burn as a custom training strategy.
pub struct EpochLoop<B: TrainingBackend> {
    plan: LoopPlan,
    device: B::Device,
    train_items: EpochShuffled<SequenceItem>,
    rate: EpochRate,
    artifacts: Option<ArtifactDir>,
    resume: Mutex<Option<ResumePoint<B>>>,
    observer: Mutex<Box<dyn TrainingObserver>>,
    outcome: Mutex<Option<LoopOutcome>>,
    /// Whether Burn's event processor gets every batch (for a dashboard that shows them).
    /// Its metrics read each batch's loss back from the device, a wait for the device per
    /// batch; without a dashboard the epoch's records come from [`LossMean`] alone.
    feed_batches: bool,
}

type Checkpointer<B> = LearningCheckpointer<Components<B>>;

/// The run's state between epochs.
struct LoopState<B: TrainingBackend> {
    history: Vec<EpochRecord>,
    best_model: Option<RecurrentRegressor<B>>,
    /// The last complete, finite epoch's model.
    last_good: (RecurrentRegressor<B>, usize),
    /// The last complete epoch when it has no checkpoint yet, kept (a clone shares the tensors)
    /// so that a stop before the next checkpoint still saves it.
    unsaved: Option<(Learner<Components<B>>, usize)>,
    checkpoint_epoch: usize,
    stop: StopReason,
    error: Option<String>,
}

/// How one pass over a loader ended.
enum Pass {
    /// The batch-weighted mean loss.
    Done(f64),
    /// The stop handle was pulled.
    Interrupted,
}

impl<B: TrainingBackend> EpochLoop<B> {
    /// A loop over `train_items` (the dataset behind the training loader) that sets `rate`,
    /// writes its per-epoch files into `artifacts` (when there is a directory) and tells
    /// `observer` about every epoch; Burn's event processor gets every batch when
    /// `feed_batches` (something displays them), else only the ends of epochs.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        plan: LoopPlan,
        device: B::Device,
        train_items: EpochShuffled<SequenceItem>,
        rate: EpochRate,
        artifacts: Option<ArtifactDir>,
        resume: Option<ResumePoint<B>>,
        observer: Box<dyn TrainingObserver>,
        feed_batches: bool,
    ) -> Self {
        Self {
            plan,
            device,
            train_items,
            rate,
            artifacts,
            resume: Mutex::new(resume),
            observer: Mutex::new(observer),
            outcome: Mutex::new(None),
            feed_batches,
        }
    }

    /// The outcome, once Burn's `launch` has returned.
    pub fn take_outcome(&self) -> Option<LoopOutcome> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Sets the epoch's rate, seed and shuffle (all derived from the epoch number, so that a
    /// resumed run continues bit for bit).
    fn begin_epoch(&self, epoch: usize, history: &[EpochRecord]) -> f64 {
        let rate = self.plan.schedule.rate(
            self.plan.learning_rate,
            epoch,
            self.plan.epochs,
            &monitored(history),
        );
        self.rate.set(rate);
        {
            let _turn = crate::train::backend_rng_turn();
            B::seed(&self.device, epoch_seed(self.plan.seed, epoch));
        }
        self.train_items.shuffle_for(self.plan.seed, epoch);
        rate
    }

    /// One optimiser step per training batch.
    fn train_pass(
        &self,
        learner: &mut Learner<Components<B>>,
        loader: &TrainLoader<Components<B>>,
        processor: &mut SupervisedTrainingEventProcessor<Components<B>>,
        interrupter: &burn::train::Interrupter,
        global: &Progress,
    ) -> Pass {
        let mut loss = LossMean::default();
        let mut batches = loader.iter();
        let mut iteration = 0;
        while let Some(batch) = batches.next() {
            iteration += 1;
            let size = batch.targets.dims()[0];
            learner.lr_step();
            let progress = batches.progress();
            let output = learner.train_step(batch);
            learner.optimizer_step(output.grads);
            loss.add(&output.item.loss, size);
            if self.feed_batches {
                processor.process_train(LearnerEvent::ProcessedItem(TrainingItem::new(
                    output.item,
                    progress,
                    global.clone(),
                    Some(iteration),
                    Some(learner.lr_current()),
                )));
            }
            if interrupter.should_stop() {
                return Pass::Interrupted;
            }
        }
        Pass::Done(loss.mean())
    }

    /// The loss over the validation batches, without gradients.
    fn validation_pass(
        &self,
        learner: &Learner<Components<B>>,
        loader: &ValidLoader<Components<B>>,
        processor: &mut SupervisedTrainingEventProcessor<Components<B>>,
        interrupter: &burn::train::Interrupter,
        global: &Progress,
    ) -> Pass {
        let model = learner.model().valid();
        let mut loss = LossMean::default();
        let mut batches = loader.iter();
        let mut iteration = 0;
        while let Some(batch) = batches.next() {
            iteration += 1;
            let size = batch.targets.dims()[0];
            let progress = batches.progress();
            let output = InferenceStep::step(&model, batch);
            loss.add(&output.loss, size);
            if self.feed_batches {
                processor.process_valid(LearnerEvent::ProcessedItem(TrainingItem::new(
                    output,
                    progress,
                    global.clone(),
                    Some(iteration),
                    None,
                )));
            }
            if interrupter.should_stop() {
                return Pass::Interrupted;
            }
        }
        Pass::Done(loss.mean())
    }

    /// Records a complete epoch: the history, a checkpoint when one is due (with the history,
    /// which a resumed run needs to reach it), or the learner kept for a checkpoint on the way
    /// out.
    fn end_epoch(
        &self,
        state: &mut LoopState<B>,
        learner: &Learner<Components<B>>,
        checkpointer: &mut Option<Checkpointer<B>>,
        event_store: &Arc<EventStoreClient>,
        schedule: &mut CheckpointSchedule,
        record: EpochRecord,
    ) -> Result<(), String> {
        let epoch = record.epoch;
        self.observer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .epoch_completed(&record, self.plan.epochs);
        state.history.push(record);
        let due = schedule.due(epoch == self.plan.epochs);
        if let Some(checkpointer) = checkpointer {
            if due {
                checkpointer.checkpoint(learner, epoch, event_store);
                state.checkpoint_epoch = epoch;
                state.unsaved = None;
            } else {
                state.unsaved = Some((learner.clone(), epoch));
            }
        }
        state.last_good = (learner.model(), epoch);
        // With each checkpoint, not after every epoch: replacing the file (an `fsync`, then a
        // rename that ext4 flushes) each epoch cost short epochs a large share of their time.
        // Training writes it again however the run ends.
        if let (true, Some(artifacts)) = (due, &self.artifacts) {
            artifacts
                .save_history(&state.history)
                .map_err(|failure| failure.to_string())?;
        }
        Ok(())
    }

    /// Early stopping's decision after an epoch: keeps (and saves) the best weights, and says
    /// whether to stop.
    fn early_stop(
        &self,
        state: &mut LoopState<B>,
        learner: &Learner<Components<B>>,
        epoch: usize,
    ) -> Result<Option<StopReason>, String> {
        let Some(early_stopping) = self.plan.early_stopping else {
            return Ok(None);
        };
        let decision = early_stopping.state(&monitored(&state.history));
        if decision.best.is_some_and(|(best, _)| best == epoch) {
            let model = learner.model();
            if let Some(artifacts) = &self.artifacts {
                artifacts
                    .save_best(model.valid())
                    .map_err(|failure| failure.to_string())?;
            }
            state.best_model = Some(model);
        }
        Ok(decision.stop.then(|| StopReason::EarlyStopped {
            best_epoch: decision.best.map_or(epoch, |(best, _)| best),
        }))
    }

    /// The model to keep: the best one whenever early stopping watches, the last epoch's after
    /// a complete run, the last complete, finite epoch's after a stop or divergence.
    fn chosen_model(
        &self,
        state: &mut LoopState<B>,
        learner: &Learner<Components<B>>,
    ) -> (RecurrentRegressor<B>, usize) {
        match (state.stop, self.plan.early_stopping) {
            (StopReason::Completed | StopReason::EarlyStopped { .. }, Some(stopping)) => {
                let best_epoch = stopping
                    .state(&monitored(&state.history))
                    .best
                    .map_or(state.last_good.1, |(epoch, _)| epoch);
                match state.best_model.take() {
                    Some(best) => (best, best_epoch),
                    None => state.last_good.clone(),
                }
            }
            (StopReason::Completed, None) => {
                let epoch = state.history.last().map_or(0, |r| r.epoch);
                (learner.model(), epoch)
            }
            _ => state.last_good.clone(),
        }
    }
}

/// The loss each epoch's decisions watch: validation when there is a validation part (Keras'
/// `val_loss`), training otherwise.
pub fn monitored(history: &[EpochRecord]) -> Vec<f64> {
    history
        .iter()
        .map(|record| record.valid_loss.unwrap_or(record.loss))
        .collect()
}

/// Mean loss weighted by batch size, as Keras reports it. The batches' losses stay on the
/// device until the epoch ends and are read back together: reading each one as it comes would
/// make the training thread wait for the device at every batch.
struct LossMean<B: Backend> {
    losses: Vec<Tensor<B, 1>>,
    sizes: Vec<usize>,
}

impl<B: Backend> Default for LossMean<B> {
    fn default() -> Self {
        Self {
            losses: Vec::new(),
            sizes: Vec::new(),
        }
    }
}

impl<B: Backend> LossMean<B> {
    fn add(&mut self, loss: &Tensor<B, 1>, batch: usize) {
        self.losses.push(loss.clone().detach());
        self.sizes.push(batch);
    }

    /// One read from the device; the sum in `f64`, batch by batch, as before.
    fn mean(self) -> f64 {
        let count: usize = self.sizes.iter().sum();
        if self.losses.is_empty() {
            return 0.0;
        }
        let values = Tensor::cat(self.losses, 0).into_data();
        let sum: f64 = values
            .iter::<f64>()
            .zip(&self.sizes)
            .map(|(value, &batch)| value * batch as f64)
            .sum();
        sum / count.max(1) as f64
    }
}

impl<B: TrainingBackend> SupervisedLearningStrategy<Components<B>> for EpochLoop<B> {
    fn fit(
        &self,
        components: TrainingComponents<Components<B>>,
        mut learner: Learner<Components<B>>,
        train_loader: TrainLoader<Components<B>>,
        valid_loader: ValidLoader<Components<B>>,
        _starting_epoch: usize,
    ) -> (
        RecurrentRegressor<B>,
        SupervisedTrainingEventProcessor<Components<B>>,
    ) {
        let train_loader = train_loader.to_device(&self.device);
        let valid_loader = valid_loader.to_device(&self.device);
        learner.fork(&self.device);
        let mut processor = components.event_processor;
        let mut checkpointer = components.checkpointer;
        let interrupter = components.interrupter;
        let event_store = components.event_store;
        let started = Instant::now();
        let mut schedule = CheckpointSchedule::new(CHECKPOINT_INTERVAL);

        let resume = self.resume.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (history, best_model) = match resume {
            Some(point) => (point.history, point.best),
            None => (Vec::new(), None),
        };
        let resumed_epochs = history.len();
        let elapsed_before = history.last().map_or(0.0, |r| r.elapsed_seconds);
        if resumed_epochs > 0 {
            if let Some(checkpointer) = &checkpointer {
                learner = checkpointer.load_checkpoint(learner, &self.device, resumed_epochs);
            }
        }
        let mut state = LoopState {
            history,
            best_model,
            last_good: (learner.model(), resumed_epochs),
            unsaved: None,
            checkpoint_epoch: resumed_epochs,
            stop: StopReason::Completed,
            error: None,
        };

        for epoch in resumed_epochs + 1..=self.plan.epochs {
            let rate = self.begin_epoch(epoch, &state.history);
            let global = Progress {
                items_processed: epoch,
                items_total: self.plan.epochs,
            };
            let loss = match self.train_pass(
                &mut learner,
                &train_loader,
                &mut processor,
                &interrupter,
                &global,
            ) {
                Pass::Done(loss) => loss,
                Pass::Interrupted => {
                    state.stop = StopReason::Interrupted;
                    break;
                }
            };
            processor.process_train(LearnerEvent::EndEpoch(epoch));
            if !loss.is_finite() {
                state.stop = StopReason::Diverged { epoch, loss };
                break;
            }
            let valid_loss = match valid_loader.num_items() {
                0 => None,
                _ => match self.validation_pass(
                    &learner,
                    &valid_loader,
                    &mut processor,
                    &interrupter,
                    &global,
                ) {
                    Pass::Done(loss) => {
                        processor.process_valid(LearnerEvent::EndEpoch(epoch));
                        Some(loss)
                    }
                    Pass::Interrupted => {
                        state.stop = StopReason::Interrupted;
                        break;
                    }
                },
            };
            let record = EpochRecord {
                epoch,
                loss,
                valid_loss,
                lr: rate,
                elapsed_seconds: elapsed_before + started.elapsed().as_secs_f64(),
            };
            let ended = self
                .end_epoch(
                    &mut state,
                    &learner,
                    &mut checkpointer,
                    &event_store,
                    &mut schedule,
                    record,
                )
                .and_then(|()| self.early_stop(&mut state, &learner, epoch));
            match ended {
                Ok(None) => {}
                Ok(Some(stop)) => {
                    state.stop = stop;
                    break;
                }
                Err(failure) => {
                    state.error = Some(failure);
                    break;
                }
            }
        }

        let (model, model_epoch) = self.chosen_model(&mut state, &learner);
        // Stopped (early stopping, interrupted, diverged, a file error) between two checkpoints.
        if let (Some(checkpointer), Some((learner, epoch))) = (&mut checkpointer, state.unsaved) {
            checkpointer.checkpoint(&learner, epoch, &event_store);
            state.checkpoint_epoch = epoch;
        }
        // Dropping the checkpointer waits for its files to be written.
        drop(checkpointer);
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(LoopOutcome {
            history: state.history,
            stop: state.stop,
            model_epoch,
            checkpoint_epoch: state.checkpoint_epoch,
            error: state.error,
        });
        (model, processor)
    }
}
