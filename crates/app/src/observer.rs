//! Watching and stopping a training run from outside: an observer called at each epoch's end,
//! a stop handle another thread can pull, and Burn's per-batch metrics for a dashboard.

use std::path::Path;

use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::Interrupter;
use burn::train::LearnerSummary;

use data::{TimeSeries, TransformDecision};

use crate::artifacts::EpochRecord;
use crate::config::SeriesConfig;
use crate::memory::MemoryEstimate;

/// Stops a training run at the end of its current step; clone it into another thread (a signal
/// handler, a GUI) before training starts. The unfinished epoch is dropped and the last complete
/// one is kept.
#[derive(Clone)]
pub struct StopHandle {
    interrupter: Interrupter,
}

impl Default for StopHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl StopHandle {
    /// A handle that has not been pulled.
    pub fn new() -> Self {
        Self {
            interrupter: Interrupter::new(),
        }
    }

    /// Asks the run to stop after its current step.
    pub fn stop(&self) {
        self.interrupter
            .stop(Some("stopped through its StopHandle"));
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.interrupter.should_stop()
    }

    /// Burn's interrupter behind the handle, for Burn components that take one (its terminal
    /// dashboard stops training with it when the user presses `q`).
    pub fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// Called by training as it goes. Every method has an empty default: implement what you need.
pub trait TrainingObserver: Send {
    /// A resumed run continues after `completed_epochs` epochs saved in `dir`.
    fn resumed(&mut self, dir: &Path, completed_epochs: usize) {
        let _ = (dir, completed_epochs);
    }

    /// A series was read (`data`) and its transforms and scaler fitted, before training
    /// starts: `series` holds them as they will be recorded, `decision` the statistics behind
    /// each automatic choice.
    fn series_prepared(
        &mut self,
        series: &SeriesConfig,
        data: &TimeSeries,
        decision: &TransformDecision,
    ) {
        let _ = (series, data, decision);
    }

    /// The run's memory was estimated and fits this process, before its model and traces are
    /// allocated (after its data is read, for a series).
    fn memory_estimated(&mut self, estimate: &MemoryEstimate) {
        let _ = estimate;
    }

    /// Epoch `record.epoch` of `epochs` is complete.
    fn epoch_completed(&mut self, record: &EpochRecord, epochs: usize) {
        let _ = (record, epochs);
    }

    /// A Burn metrics renderer to receive every batch's loss and progress (Burn's terminal
    /// dashboard, for one), or `None` (the default) for none. Called once, before the first
    /// epoch; `stop` is the run's stop handle.
    fn metrics_renderer(&mut self, stop: &StopHandle) -> Option<Box<dyn MetricsRenderer>> {
        let _ = stop;
        None
    }
}

/// The observer that watches nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl TrainingObserver for Silent {}

/// Burn's renderer slot, filled with the observer's renderer or with nothing.
pub(crate) struct RendererSlot {
    inner: Option<Box<dyn MetricsRenderer>>,
}

impl RendererSlot {
    pub(crate) fn new(inner: Option<Box<dyn MetricsRenderer>>) -> Self {
        Self { inner }
    }

    /// Whether a renderer is there to show each batch.
    pub(crate) fn shows_batches(&self) -> bool {
        self.inner.is_some()
    }
}

impl MetricsRendererTraining for RendererSlot {
    fn update_train(&mut self, state: MetricState) {
        if let Some(inner) = &mut self.inner {
            inner.update_train(state);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let Some(inner) = &mut self.inner {
            inner.update_valid(state);
        }
    }

    fn render_train(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        if let Some(inner) = &mut self.inner {
            inner.render_train(item, indicators);
        }
    }

    fn render_valid(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        if let Some(inner) = &mut self.inner {
            inner.render_valid(item, indicators);
        }
    }

    fn on_train_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        match &mut self.inner {
            Some(inner) => inner.on_train_end(summary),
            None => Ok(()),
        }
    }
}

impl MetricsRendererEvaluation for RendererSlot {
    fn update_test(&mut self, name: EvaluationName, state: MetricState) {
        if let Some(inner) = &mut self.inner {
            inner.update_test(name, state);
        }
    }

    fn render_test(&mut self, item: EvaluationProgress, indicators: Vec<ProgressType>) {
        if let Some(inner) = &mut self.inner {
            inner.render_test(item, indicators);
        }
    }
}

impl MetricsRenderer for RendererSlot {
    fn manual_close(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.manual_close();
        }
    }

    fn register_metric(&mut self, definition: burn::train::metric::MetricDefinition) {
        if let Some(inner) = &mut self.inner {
            inner.register_metric(definition);
        }
    }
}
