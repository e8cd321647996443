//! Forecasting a real series: monthly airline passengers 1949–1960 (`examples/data/`), one month
//! ahead from the previous twelve, scored on the last 20% against the linear, naive and seasonal-naive
//! baselines, with the series defaults (the transforms decided from the training part, standard
//! scaling, batch 16, early stopping). The same as
//! `app train --csv examples/data/airpassengers.csv --column passengers --date-column month
//!  --season 12`.
//!
//! Run: `cargo run -p app --example airpassengers [EPOCHS]` (default 100).

use std::path::Path;

use anyhow::{Context, Result};
use app::data::{read_csv, ColumnRef};
use app::forecast::describe_transform;
use app::metrics::table;
use app::{RunConfig, SeriesConfig, Training, TrainingConfig};
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;

fn main() -> Result<()> {
    let epochs = match std::env::args().nth(1) {
        Some(text) => text.parse().context("EPOCHS must be a positive integer")?,
        None => 100,
    };
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/airpassengers.csv");
    let series = SeriesConfig::new(csv.clone(), ColumnRef::Name("passengers".into()))
        .with_date_column(Some(ColumnRef::Name("month".into())))
        .with_window(12)
        .with_season(Some(12));
    // Any `Read` will do (a file, a socket, a string); the path is what the config records.
    let values = read_csv(std::fs::File::open(&csv)?, &csv, &series.csv_options())?;
    let config =
        RunConfig::series(series).with_training(TrainingConfig::for_series().with_epochs(epochs));
    let run = Training::new(config)
        .with_series(values)
        .run::<Autodiff<NdArray>>(&Default::default())?;
    let outcome = run.report.outcome.as_ref().and_then(|o| o.forecast());
    let outcome = outcome.context("a complete run on a series")?;
    let decision = run.report.transform_decision.as_ref();
    if let (app::DataSource::Series(series), Some(decision)) = (&run.report.config.data, decision) {
        println!("transform: {}", describe_transform(series, decision));
    }
    print!("{}", table(&outcome.metrics));
    let next = outcome.forecast.future.first().copied().unwrap_or(f64::NAN);
    println!("forecast for 1961-01: {next:.1} thousand passengers");
    Ok(())
}
