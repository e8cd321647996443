//! The epoch loop Burn's `Learner` runs for us (a custom `SupervisedLearningStrategy`).
//!
//! Burn's default single-device loop checkpoints and renders asynchronously, shuffles from one
//! running generator and has no hook between epochs. This loop keeps Burn's pieces (the
//! `Learner`'s steps and optimiser, its checkpointer, its event processor and dashboard) and adds
//! what Keras users expect from `fit`, decided synchronously at the end of every epoch: the
//! epoch's learning rate, validation loss, early stopping with the best weights kept, a stop
//! without losing the last good epoch on divergence or Ctrl-C, and seeds derived from the epoch
//! number so that a resumed run continues bit for bit.

use std::sync::Mutex;
use std::time::Instant;

use burn::data::dataloader::Progress;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::prelude::*;
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
    /// Print a line per epoch (when Burn's dashboard is not shown).
    pub print_lines: bool,
}

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// Early stopping: no improvement since `best_epoch`.
    EarlyStopped {
        /// The epoch whose weights are kept.
        best_epoch: usize,
    },
    /// Ctrl-C or SIGTERM; the partial epoch is dropped.
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
    /// The last epoch with a checkpoint, which `--resume` continues from (0: none).
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
    artifacts: ArtifactDir,
    resume: Mutex<Option<ResumePoint<B>>>,
    outcome: Mutex<Option<LoopOutcome>>,
}

impl<B: TrainingBackend> EpochLoop<B> {
    /// A loop over `train_items` (the dataset behind the training loader) that sets `rate`.
    pub fn new(
        plan: LoopPlan,
        device: B::Device,
        train_items: EpochShuffled<SequenceItem>,
        rate: EpochRate,
        artifacts: ArtifactDir,
        resume: Option<ResumePoint<B>>,
    ) -> Self {
        Self {
            plan,
            device,
            train_items,
            rate,
            artifacts,
            resume: Mutex::new(resume),
            outcome: Mutex::new(None),
        }
    }

    /// The outcome, once Burn's `launch` has returned.
    pub fn take_outcome(&self) -> Option<LoopOutcome> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn print(&self, record: &EpochRecord) {
        if !self.plan.print_lines {
            return;
        }
        let epochs = self.plan.epochs;
        let width = epochs.to_string().len();
        let valid = record
            .valid_loss
            .map_or(String::new(), |loss| format!("  valid_loss {loss:.6e}"));
        crate::say!(
            "epoch {:>width$}/{epochs}  loss {:.6e}{valid}  lr {:.3e}  elapsed {:.1}s",
            record.epoch,
            record.loss,
            record.lr,
            record.elapsed_seconds
        );
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

/// Mean loss weighted by batch size, as Keras reports it.
#[derive(Default)]
struct LossMean {
    sum: f64,
    count: usize,
}

impl LossMean {
    fn add<B: Backend>(&mut self, loss: &Tensor<B, 1>, batch: usize) {
        let value: f64 = loss.clone().into_scalar().elem();
        self.sum += value * batch as f64;
        self.count += batch;
    }

    fn mean(&self) -> f64 {
        self.sum / self.count.max(1) as f64
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
        let started = Instant::now();
        let mut schedule = CheckpointSchedule::new(CHECKPOINT_INTERVAL);

        let resume = self.resume.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (mut history, mut best_model) = match resume {
            Some(point) => (point.history, point.best),
            None => (Vec::new(), None),
        };
        let resumed_epochs = history.len();
        let mut checkpoint_epoch = resumed_epochs;
        // The last complete epoch when it has no checkpoint yet, kept (a clone shares the
        // tensors) so that a stop before the next checkpoint still saves it.
        let mut unsaved: Option<(Learner<Components<B>>, usize)> = None;
        let elapsed_before = history.last().map_or(0.0, |r| r.elapsed_seconds);
        if resumed_epochs > 0 {
            if let Some(checkpointer) = &checkpointer {
                learner = checkpointer.load_checkpoint(learner, &self.device, resumed_epochs);
            }
        }
        let mut last_good = (learner.model(), resumed_epochs);
        let mut stop = StopReason::Completed;
        let mut error = None;

        'epochs: for epoch in resumed_epochs + 1..=self.plan.epochs {
            let rate = self.plan.schedule.rate(
                self.plan.learning_rate,
                epoch,
                self.plan.epochs,
                &monitored(&history),
            );
            self.rate.set(rate);
            B::seed(&self.device, epoch_seed(self.plan.seed, epoch));
            self.train_items.shuffle_for(self.plan.seed, epoch);
            let global = Progress {
                items_processed: epoch,
                items_total: self.plan.epochs,
            };

            let mut train_loss = LossMean::default();
            let mut batches = train_loader.iter();
            let mut iteration = 0;
            while let Some(batch) = batches.next() {
                iteration += 1;
                let size = batch.targets.dims()[0];
                learner.lr_step();
                let progress = batches.progress();
                let output = learner.train_step(batch);
                learner.optimizer_step(output.grads);
                train_loss.add(&output.item.loss, size);
                processor.process_train(LearnerEvent::ProcessedItem(TrainingItem::new(
                    output.item,
                    progress,
                    global.clone(),
                    Some(iteration),
                    Some(learner.lr_current()),
                )));
                if interrupter.should_stop() {
                    stop = StopReason::Interrupted;
                    break 'epochs;
                }
            }
            processor.process_train(LearnerEvent::EndEpoch(epoch));
            let loss = train_loss.mean();
            if !loss.is_finite() {
                stop = StopReason::Diverged { epoch, loss };
                break;
            }

            let valid_loss = if valid_loader.num_items() > 0 {
                let model = learner.model().valid();
                let mut valid_loss = LossMean::default();
                let mut batches = valid_loader.iter();
                let mut iteration = 0;
                while let Some(batch) = batches.next() {
                    iteration += 1;
                    let size = batch.targets.dims()[0];
                    let progress = batches.progress();
                    let output = InferenceStep::step(&model, batch);
                    valid_loss.add(&output.loss, size);
                    processor.process_valid(LearnerEvent::ProcessedItem(TrainingItem::new(
                        output,
                        progress,
                        global.clone(),
                        Some(iteration),
                        None,
                    )));
                    if interrupter.should_stop() {
                        stop = StopReason::Interrupted;
                        break 'epochs;
                    }
                }
                processor.process_valid(LearnerEvent::EndEpoch(epoch));
                Some(valid_loss.mean())
            } else {
                None
            };

            let record = EpochRecord {
                epoch,
                loss,
                valid_loss,
                lr: rate,
                elapsed_seconds: elapsed_before + started.elapsed().as_secs_f64(),
            };
            self.print(&record);
            history.push(record);
            // An epoch the schedule skips is kept in `unsaved`, which every early exit
            // (early stopping included) checkpoints after the loop.
            let due = schedule.due(epoch == self.plan.epochs);
            if let Some(checkpointer) = &mut checkpointer {
                if due {
                    checkpointer.checkpoint(&learner, epoch, &components.event_store);
                    checkpoint_epoch = epoch;
                    unsaved = None;
                } else {
                    unsaved = Some((learner.clone(), epoch));
                }
            }
            last_good = (learner.model(), epoch);
            // With each checkpoint, which `--resume` needs it to reach, not after every epoch:
            // replacing the file each epoch (an `fsync`, then a rename over the old file, which
            // ext4 flushes) cost the tutorial about a seventh of its run. `train` writes it again
            // however the run ends.
            if due {
                if let Err(failure) = self.artifacts.save_history(&history) {
                    error = Some(format!("{failure:#}"));
                    break;
                }
            }

            if let Some(early_stopping) = self.plan.early_stopping {
                let state = early_stopping.state(&monitored(&history));
                if state.best.is_some_and(|(best, _)| best == epoch) {
                    let model = learner.model();
                    if let Err(failure) = self.artifacts.save_best(model.valid()) {
                        error = Some(format!("{failure:#}"));
                        break;
                    }
                    best_model = Some(model);
                }
                if state.stop {
                    let best_epoch = state.best.map_or(epoch, |(best, _)| best);
                    stop = StopReason::EarlyStopped { best_epoch };
                    break;
                }
            }
        }

        let (model, model_epoch) = match (stop, self.plan.early_stopping) {
            // Keep the best weights whenever early stopping watches them.
            (StopReason::Completed | StopReason::EarlyStopped { .. }, Some(stopping)) => {
                let best_epoch = stopping
                    .state(&monitored(&history))
                    .best
                    .map_or(last_good.1, |(epoch, _)| epoch);
                match best_model {
                    Some(best) => (best, best_epoch),
                    None => last_good,
                }
            }
            (StopReason::Completed, None) => {
                let epoch = history.last().map_or(0, |r| r.epoch);
                (learner.model(), epoch)
            }
            // Interrupted or diverged: the last complete, finite epoch.
            _ => last_good,
        };
        // Stopped (early stopping, interrupted, diverged, a file error) between two checkpoints.
        if let (Some(checkpointer), Some((learner, epoch))) = (&mut checkpointer, unsaved) {
            checkpointer.checkpoint(&learner, epoch, &components.event_store);
            checkpoint_epoch = epoch;
        }
        // Dropping the checkpointer waits for its files to be written.
        drop(checkpointer);
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(LoopOutcome {
            history,
            stop,
            model_epoch,
            checkpoint_epoch,
            error,
        });
        (model, processor)
    }
}
