//! Training progress on screen: Burn's dashboard when stdout is a terminal; otherwise nothing
//! here, and the epoch loop prints one line per epoch (CI, pipes, files).

use std::io::IsTerminal;

use burn::train::metric::MetricDefinition;
use burn::train::renderer::tui::TuiMetricsRendererWrapper;
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn::train::{Interrupter, LearnerSummary};

/// A Burn metrics renderer that forwards everything to Burn's terminal dashboard when there is a
/// terminal to draw on, and ignores it otherwise.
pub struct EpochReporter {
    dashboard: Option<Box<dyn MetricsRenderer>>,
}

impl EpochReporter {
    /// Uses Burn's dashboard when stdout is a terminal.
    pub fn new(interrupter: Interrupter) -> Self {
        let dashboard: Option<Box<dyn MetricsRenderer>> = if Self::uses_dashboard() {
            Some(Box::new(TuiMetricsRendererWrapper::new(interrupter, None)))
        } else {
            None
        };
        Self { dashboard }
    }

    /// Whether the dashboard is shown (then the loop prints no lines).
    pub fn uses_dashboard() -> bool {
        std::io::stdout().is_terminal()
    }
}

impl MetricsRendererTraining for EpochReporter {
    fn update_train(&mut self, state: MetricState) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.update_train(state);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.update_valid(state);
        }
    }

    fn render_train(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.render_train(item, indicators);
        }
    }

    fn render_valid(&mut self, item: TrainingProgress, indicators: Vec<ProgressType>) {
        if let Some(dashboard) = &mut self.dashboard {
            dashboard.render_valid(item, indicators);
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
