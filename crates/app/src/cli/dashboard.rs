//! Training progress on screen: Burn's dashboard when stdout is a terminal; otherwise one line
//! per epoch (CI, pipes, files).

use std::io::IsTerminal;
use std::path::Path;

use app::forecast::describe_transform;
use app::memory::MemoryEstimate;
use app::{EpochRecord, SeriesConfig, StopHandle, TrainingObserver};
use burn::train::renderer::tui::TuiMetricsRendererWrapper;
use burn::train::renderer::MetricsRenderer;
use data::{TimeSeries, TransformDecision};

use super::output::say;

/// The command line's [`TrainingObserver`].
pub struct Progress {
    dashboard: bool,
}

impl Progress {
    /// Uses Burn's dashboard when stdout is a terminal.
    pub fn new() -> Self {
        Self {
            dashboard: std::io::stdout().is_terminal(),
        }
    }
}

impl TrainingObserver for Progress {
    fn resumed(&mut self, dir: &Path, completed_epochs: usize) {
        say!(
            "Resuming the run in {} after epoch {completed_epochs}",
            dir.display()
        );
    }

    fn series_prepared(
        &mut self,
        series: &SeriesConfig,
        data: &TimeSeries,
        decision: &TransformDecision,
    ) {
        match data.delimiter {
            b';' => say!("Read {} with ';' between fields", series.csv.display()),
            b'\t' => say!("Read {} with tabs between fields", series.csv.display()),
            _ => {}
        }
        say!("Transform: {}", describe_transform(series, decision));
    }

    fn memory_estimated(&mut self, estimate: &MemoryEstimate) {
        say!("Memory: {estimate}");
    }

    fn epoch_completed(&mut self, record: &EpochRecord, epochs: usize) {
        if self.dashboard {
            return;
        }
        let width = epochs.to_string().len();
        let valid = record
            .valid_loss
            .map_or(String::new(), |loss| format!("  valid_loss {loss:.6e}"));
        say!(
            "epoch {:>width$}/{epochs}  loss {:.6e}{valid}  lr {:.3e}  elapsed {:.1}s",
            record.epoch,
            record.loss,
            record.lr,
            record.elapsed_seconds
        );
    }

    fn metrics_renderer(&mut self, stop: &StopHandle) -> Option<Box<dyn MetricsRenderer>> {
        match self.dashboard {
            true => Some(Box::new(TuiMetricsRendererWrapper::new(
                stop.interrupter(),
                None,
            ))),
            false => None,
        }
    }
}
