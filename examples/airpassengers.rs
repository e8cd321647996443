//! Forecasting a real series: monthly airline passengers 1949–1960 (`examples/data/`), one month
//! ahead from the previous twelve, scored on the last 20% against the naive and seasonal-naive
//! baselines. The same as
//! `app train --csv examples/data/airpassengers.csv --column passengers --date-column month
//!  --season 12 --epochs 300 --batch-size 8`.
//!
//! Run: `cargo run -p app --example airpassengers [EPOCHS]` (default 300).

use anyhow::{bail, Context, Result};
use app::artifacts::ArtifactDir;
use app::backend::run_on;
use app::cli::{BackendKind, ScaleFit};
use app::metrics::table;
use app::run_config::{DataSource, RunConfig, SeriesConfig, TrainingConfig};
use app::train::{TrainJob, TrainOutcome};
use data::{ColumnRef, FillPolicy, ScaleKind, Scaler};
use model::RecurrentRegressorConfig;

fn main() -> Result<()> {
    let epochs = match std::env::args().nth(1) {
        Some(text) => text.parse().context("EPOCHS must be a positive integer")?,
        None => 300,
    };
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/airpassengers.csv"
    );
    let (window, horizon) = (12, 1);
    let series = SeriesConfig::new(
        csv.into(),
        ColumnRef::Name("passengers".into()),
        FillPolicy::None,
        window,
        horizon,
        0.2,
        0.1,
        // The kind of scaling; `train` fits it on the training part.
        Scaler::fit(ScaleKind::MinMax, &[]),
        ScaleFit::Train,
    )
    .with_date_column(Some(ColumnRef::Name("month".into())))
    .with_season(Some(12));
    let config = RunConfig::new(
        RecurrentRegressorConfig::new().with_outputs(horizon),
        DataSource::Series(series),
        TrainingConfig::new(epochs, 8, 1e-3, 1e-7, 0, "ndarray".to_string()),
    );
    let artifacts = ArtifactDir::create(std::env::temp_dir().join("lstm-airpassengers-example"))?;
    let report = run_on(
        BackendKind::Ndarray,
        TrainJob {
            config,
            artifacts,
            resume: false,
        },
    )?;
    let TrainOutcome::Series(outcome) = &report.outcome else {
        bail!("a series run reports forecasts");
    };
    print!("{}", table(&outcome.metrics));
    let next = outcome.forecast.future.first().copied().unwrap_or(f64::NAN);
    println!("forecast for 1961-01: {next:.1} thousand passengers");
    println!("run saved in {}", report.artifacts.root().display());
    Ok(())
}
