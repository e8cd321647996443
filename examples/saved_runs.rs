//! Saving a trained run and loading it back, in the layout `app` reads and writes: the run saved
//! here is one `app evaluate --artifact-dir DIR` and `app plot --artifact-dir DIR` accept, and a
//! run made by `app train` opens here the same way.
//!
//! Run: `cargo run -p app --example saved_runs [DIR]` (default: a temporary directory).

use anyhow::{Context, Result};
use app::{RunConfig, SavedRun, Training, TrainingConfig};
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;

type Backend = Autodiff<NdArray>;

fn main() -> Result<()> {
    let dir = match std::env::args().nth(1) {
        Some(dir) => dir.into(),
        None => std::env::temp_dir().join("lstm-saved-run-example"),
    };
    let config = RunConfig::tutorial().with_training(TrainingConfig::new().with_epochs(20));
    let device = Default::default();
    let trained = Training::new(config).run::<Backend>(&device)?;
    trained.save(&dir)?;

    let saved = SavedRun::open(&dir)?;
    let outcome = saved.evaluate::<Backend>(&device)?;
    let evaluation = outcome
        .evaluation()
        .context("a run on the synthetic data")?;
    println!(
        "trained: mse {:.3e}; loaded from {}: mse {:.3e}",
        trained.mse().unwrap_or(f64::NAN),
        saved.dir().display(),
        evaluation.mse
    );
    println!(
        "the command line reads it too: app evaluate --artifact-dir {}",
        dir.display()
    );
    Ok(())
}
