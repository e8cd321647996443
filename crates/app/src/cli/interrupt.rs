//! Ctrl-C and SIGTERM during training: stop at the end of the current step and keep the work.
//!
//! The first signal pulls the run's [`StopHandle`]; the library drops the unfinished epoch and
//! saves the last complete one, and the process exits with status 130. A second signal exits at
//! once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use app::StopHandle;
use thiserror::Error;

use super::messages;

static INSTALL: Once = Once::new();
static TRAINING: Mutex<Option<StopHandle>> = Mutex::new(None);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// A run stopped by the user; the process exits with status 130 (128 + SIGINT).
#[derive(Debug, Error)]
#[error("interrupted after {completed_epochs} of {epochs} epochs; {saved}")]
pub struct Interrupted {
    /// Epochs completed before the stop.
    pub completed_epochs: usize,
    /// Epochs asked for.
    pub epochs: usize,
    /// What was kept, and where.
    pub saved: String,
}

/// Routes Ctrl-C and SIGTERM to `stop` until [`disarm`] is called.
pub fn arm(stop: &StopHandle) {
    INSTALL.call_once(|| {
        let handler = || {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                // A second signal: the user does not want to wait.
                std::process::exit(130);
            }
            let training = TRAINING.lock().unwrap_or_else(|p| p.into_inner());
            match training.as_ref() {
                Some(stop) => {
                    eprintln!("\nstopping after the current step (Ctrl-C again to quit at once)");
                    stop.stop();
                }
                None => std::process::exit(130),
            }
        };
        // Without a handler (another one is installed) signals keep their default effect.
        let _ = ctrlc::set_handler(handler);
    });
    REQUESTED.store(false, Ordering::SeqCst);
    *TRAINING.lock().unwrap_or_else(|p| p.into_inner()) = Some(stop.clone());
}

/// Signals no longer go to a training run.
pub fn disarm() {
    *TRAINING.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Whether `error` is a stop the user asked for.
fn was_interrupted(error: &anyhow::Error) -> bool {
    error.downcast_ref::<Interrupted>().is_some()
        || matches!(
            error.downcast_ref::<app::Error>(),
            Some(app::Error::StoppedBeforeFirstEpoch { .. })
        )
}

/// The exit status for `error`: 130 (128 + SIGINT, as shells report a process stopped by Ctrl-C)
/// for a stop the user asked for, 1 otherwise.
pub fn exit_status(error: &anyhow::Error) -> u8 {
    match was_interrupted(error) {
        true => 130,
        false => 1,
    }
}

/// The line printed on standard error for `error`: an interruption as it is, anything else as
/// `error: ...` on one line, without a backtrace.
pub fn exit_line(error: &anyhow::Error) -> String {
    match was_interrupted(error) {
        true => messages::describe(error),
        false => format!("error: {}", messages::describe(error)),
    }
}
