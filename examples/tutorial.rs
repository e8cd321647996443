//! The Keras tutorial as a library call: train `LSTM(50, relu) + Dense(1)` on the seed data with
//! the ndarray backend, then print the tutorial's `Loss:` line.
//!
//! Run: `cargo run -p app --example tutorial [EPOCHS]` (default 100).

use anyhow::{bail, Context, Result};
use app::artifacts::ArtifactDir;
use app::backend::run_on;
use app::cli::BackendKind;
use app::evaluate::loss_line;
use app::run_config::{DataSource, RunConfig, TrainingConfig};
use app::train::{TrainJob, TrainOutcome};
use data::SyntheticConfig;
use model::RecurrentRegressorConfig;

fn main() -> Result<()> {
    let epochs = match std::env::args().nth(1) {
        Some(text) => text.parse().context("EPOCHS must be a positive integer")?,
        None => 100,
    };
    // The tutorial: np.random.seed(0); X = randn(100, 10, 1); Adam(1e-3, eps 1e-7); batch 32.
    let config = RunConfig::new(
        RecurrentRegressorConfig::new(),
        DataSource::Synthetic(SyntheticConfig::new()),
        TrainingConfig::new(epochs, 32, 1e-3, 1e-7, 0, "ndarray".to_string()),
    );
    let artifacts = ArtifactDir::create(std::env::temp_dir().join("lstm-tutorial-example"))?;
    let report = run_on(
        BackendKind::Ndarray,
        TrainJob {
            config,
            artifacts,
            resume: false,
        },
    )?;
    let TrainOutcome::Synthetic(evaluation) = &report.outcome else {
        bail!("the tutorial trains on the synthetic data");
    };
    println!("{}", loss_line(evaluation.mse));
    let loss = |record: Option<&app::artifacts::EpochRecord>| record.map_or(f64::NAN, |r| r.loss);
    println!(
        "first/last epoch loss: {:.3e} / {:.3e}",
        loss(report.history.first()),
        loss(report.history.last())
    );
    Ok(())
}
