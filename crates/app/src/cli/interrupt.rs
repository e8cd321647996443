//! Ctrl-C and SIGTERM during training: stop at the end of the current step and keep the work.
//!
//! The first signal asks Burn's `Learner` to stop (through its interrupter); the epoch loop drops
//! the unfinished epoch, `train` saves the last complete one and exits with status 130. A second
//! signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use burn::train::Interrupter;
use thiserror::Error;

static INSTALL: Once = Once::new();
static TRAINING: Mutex<Option<Interrupter>> = Mutex::new(None);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// A run stopped by the user; `main` turns it into exit status 130 (128 + SIGINT).
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

/// Routes Ctrl-C and SIGTERM to `interrupter` until [`disarm`] is called.
pub fn arm(interrupter: Interrupter) {
    INSTALL.call_once(|| {
        let handler = || {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                // A second signal: the user does not want to wait.
                std::process::exit(130);
            }
            let training = TRAINING.lock().unwrap_or_else(|p| p.into_inner());
            match training.as_ref() {
                Some(interrupter) => {
                    eprintln!("\nstopping after the current step (Ctrl-C again to quit at once)");
                    interrupter.stop(Some("interrupted by the user"));
                }
                None => std::process::exit(130),
            }
        };
        // Without a handler (another one is installed) signals keep their default effect.
        let _ = ctrlc::set_handler(handler);
    });
    REQUESTED.store(false, Ordering::SeqCst);
    *TRAINING.lock().unwrap_or_else(|p| p.into_inner()) = Some(interrupter);
}

/// Signals no longer go to a training loop.
pub fn disarm() {
    *TRAINING.lock().unwrap_or_else(|p| p.into_inner()) = None;
}
