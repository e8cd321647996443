//! The Keras tutorial as a library call: train `LSTM(50, relu) + Dense(1)` on the seed data with
//! the ndarray backend, then print the tutorial's `Loss:` line.
//!
//! Run: `cargo run -p app --example tutorial [EPOCHS]` (default 100).

use anyhow::{Context, Result};
use app::evaluate::loss_line;
use app::{RunConfig, Training, TrainingConfig};
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;

fn main() -> Result<()> {
    let epochs = match std::env::args().nth(1) {
        Some(text) => text.parse().context("EPOCHS must be a positive integer")?,
        None => 100,
    };
    // np.random.seed(0); X = randn(100, 10, 1); Adam(1e-3, eps 1e-7); batch 32: the defaults.
    let config = RunConfig::tutorial().with_training(TrainingConfig::new().with_epochs(epochs));
    let run = Training::new(config).run::<Autodiff<NdArray>>(&Default::default())?;
    let mse = run.mse().context("a complete run on the synthetic data")?;
    println!("{}", loss_line(mse));
    let history = &run.report.history;
    let loss = |record: Option<&app::EpochRecord>| record.map_or(f64::NAN, |r| r.loss);
    println!(
        "first/last epoch loss: {:.3e} / {:.3e}",
        loss(history.first()),
        loss(history.last())
    );
    Ok(())
}
