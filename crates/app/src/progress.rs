//! Training progress: one line per epoch when stdout is not a terminal (CI, pipes, files), Burn's
//! dashboard when it is; in both cases the per-epoch loss is collected for `history.csv`.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::metric::{MetricDefinition, NumericEntry};
use burn::train::renderer::tui::TuiMetricsRendererWrapper;
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::{Interrupter, LearnerSummary};

use crate::artifacts::EpochRecord;

/// The loss history, filled by the renderer on Burn's event thread and read after training.
#[derive(Clone, Debug, Default)]
pub struct SharedHistory(Arc<Mutex<Vec<EpochRecord>>>);

impl SharedHistory {
    /// A copy of the epochs recorded so far.
    pub fn snapshot(&self) -> Vec<EpochRecord> {
        self.lock().clone()
    }

    fn push(&self, record: EpochRecord) {
        self.lock().push(record);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<EpochRecord>> {
        // A panic elsewhere cannot leave a half-pushed record, so a poisoned lock is still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A Burn metrics renderer that averages the training loss per epoch, records it, and either
/// prints a line per epoch or forwards everything to Burn's terminal dashboard.
pub struct EpochReporter {
    dashboard: Option<Box<dyn MetricsRenderer>>,
    interrupter: Interrupter,
    history: SharedHistory,
    has_validation: bool,
    started: Instant,
    train: LossMean,
    valid: LossMean,
}

/// A batch-size weighted mean of batch losses.
#[derive(Default)]
struct LossMean {
    sum: f64,
    count: usize,
}

impl LossMean {
    fn add(&mut self, state: &MetricState) {
        // The loss metric is the only numeric one we register: one entry per batch, holding the
        // batch's mean loss and its size.
        if let MetricState::Numeric(_, entry) = state {
            let (value, count) = match entry {
                NumericEntry::Value(value) => (*value, 1),
                NumericEntry::Aggregated {
                    aggregated_value,
                    count,
                } => (*aggregated_value, *count),
            };
            self.sum += value * count as f64;
            self.count += count;
        }
    }

    fn take(&mut self) -> Option<f64> {
        let mean = (self.count > 0).then(|| self.sum / self.count as f64);
        *self = Self::default();
        mean
    }
}

fn epoch_done(item: &TrainingProgress) -> bool {
    item.progress
        .as_ref()
        .is_some_and(|progress| progress.items_processed >= progress.items_total)
}

impl EpochReporter {
    /// Uses Burn's dashboard when stdout is a terminal, plain lines otherwise. With
    /// `has_validation`, each epoch's line waits for its validation loss.
    pub fn new(history: SharedHistory, interrupter: Interrupter, has_validation: bool) -> Self {
        let dashboard: Option<Box<dyn MetricsRenderer>> = if std::io::stdout().is_terminal() {
            Some(Box::new(TuiMetricsRendererWrapper::new(
                interrupter.clone(),
                None,
            )))
        } else {
            None
        };
        Self {
            dashboard,
            interrupter,
            history,
            has_validation,
            started: Instant::now(),
            train: LossMean::default(),
            valid: LossMean::default(),
        }
    }

    fn finish_train_epoch(&mut self, epoch: usize, epochs: usize) {
        let Some(loss) = self.train.take() else {
            return;
        };
        let record = EpochRecord {
            epoch,
            loss,
            valid_loss: None,
            elapsed_seconds: self.started.elapsed().as_secs_f64(),
        };
        // Like Keras' TerminateOnNaN: a diverged model only gets worse, so stop the Learner.
        let diverged = !record.loss.is_finite();
        if !self.has_validation || diverged {
            self.print(&record, epochs);
        }
        self.history.push(record);
        if diverged {
            self.interrupter
                .stop(Some("the training loss is not finite"));
        }
    }

    fn finish_valid_epoch(&mut self, epochs: usize) {
        let valid_loss = self.valid.take();
        let record = {
            let mut history = self.history.lock();
            let Some(last) = history.last_mut() else {
                return;
            };
            last.valid_loss = valid_loss;
            last.clone()
        };
        self.print(&record, epochs);
    }

    fn print(&self, record: &EpochRecord, epochs: usize) {
        if self.dashboard.is_some() {
            return;
        }
        let width = epochs.to_string().len();
        let valid = record
            .valid_loss
            .map_or(String::new(), |loss| format!("  valid_loss {loss:.6e}"));
        crate::say!(
            "epoch {:>width$}/{epochs}  loss {:.6e}{valid}  elapsed {:.1}s",
            record.epoch,
            record.loss,
            record.elapsed_seconds
        );
    }
}

impl MetricsRendererTraining for EpochReporter {
    fn update_train(&mut self, state: MetricState) {
        self.train.add(&state);
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.update_train(state);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        self.valid.add(&state);
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.update_valid(state);
        }
    }

    fn render_train(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        let done = epoch_done(&item);
        let (epoch, epochs) = (
            item.global_progress.items_processed,
            item.global_progress.items_total,
        );
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.render_train(item, indicators);
        }
        if done {
            self.finish_train_epoch(epoch, epochs);
        }
    }

    fn render_valid(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        let done = epoch_done(&item);
        let epochs = item.global_progress.items_total;
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.render_valid(item, indicators);
        }
        if done {
            self.finish_valid_epoch(epochs);
        }
    }

    fn on_train_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        match &mut self.dashboard {
            Some(dashboard) => dashboard.on_train_end(summary),
            None => Ok(()),
        }
    }
}

impl MetricsRendererEvaluation for EpochReporter {
    fn update_test(&mut self, name: EvaluationName, state: MetricState) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.update_test(name, state);
        }
    }

    fn render_test(&mut self, item: EvaluationProgress, indicators: Vec<ProgressType>) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.render_test(item, indicators);
        }
    }
}

impl MetricsRenderer for EpochReporter {
    fn manual_close(&mut self) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.manual_close();
        }
    }

    fn register_metric(&mut self, definition: MetricDefinition) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.register_metric(definition);
        }
    }
}
