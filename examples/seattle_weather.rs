//! Forecasting with several input columns, the calendar and prediction intervals, from the
//! library: Seattle's daily maximum temperature (`examples/data/seattle-weather.csv`, NOAA via
//! the Vega datasets) one day ahead from the last 14 days of it and of the minimum temperature,
//! rain and wind, with the day of the year (known ahead, so also read for the day forecast), and
//! the 0.1, 0.25, 0.75 and 0.9 quantiles (and the median, the point forecast). It prints the test
//! scores beside the linear and naive baselines, each interval's coverage, the quantiles of the
//! day after the file ends, and a backtest of the last 10% trained once before it. The same as
//! `app train --csv examples/data/seattle-weather.csv --target temp_max --features
//!  temp_min,precipitation,wind --date-column date --calendar yearday --window 14
//!  --quantiles 0.1,0.25,0.75,0.9`.
//!
//! Run: `cargo run -p app --example seattle_weather [EPOCHS]` (default 100).

use std::path::Path;

use anyhow::{Context, Result};
use app::data::{read_csv, CalendarFeature, ColumnRef};
use app::metrics::table;
use app::{
    Backtest, BacktestConfig, BacktestStart, RunConfig, SeriesConfig, Training, TrainingConfig,
};
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;

type Backend = Autodiff<NdArray>;

fn main() -> Result<()> {
    let epochs = match std::env::args().nth(1) {
        Some(text) => text.parse().context("EPOCHS must be a positive integer")?,
        None => 100,
    };
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/seattle-weather.csv");
    let column = |name: &str| ColumnRef::Name(name.into());
    let series = SeriesConfig::new(csv.clone(), column("temp_max"))
        .with_features(vec![
            column("temp_min"),
            column("precipitation"),
            column("wind"),
        ])
        .with_date_column(Some(column("date")))
        .with_calendar(vec![CalendarFeature::Yearday])
        .with_window(14);
    let values = read_csv(std::fs::File::open(&csv)?, &csv, &series.csv_options())?;
    let config = RunConfig::series(series)
        .with_training(TrainingConfig::for_series().with_epochs(epochs))
        .with_quantiles(vec![0.1, 0.25, 0.75, 0.9]);

    let run = Training::new(config.clone())
        .with_series(values.clone())
        .run::<Backend>(&Default::default())?;
    let outcome = run.report.outcome.as_ref().and_then(|o| o.forecast());
    let outcome = outcome.context("a complete run on a series")?;
    println!("test part, °C:");
    print!("{}", table(&outcome.metrics));
    if let Some(quantiles) = &outcome.forecast.quantiles {
        let tomorrow: Vec<String> = quantiles
            .levels
            .iter()
            .zip(&quantiles.future)
            .map(|(level, path)| format!("q{level} {:.1}", path[0]))
            .collect();
        println!("the day after the file ends: {}", tomorrow.join(", "));
    }

    let plan = BacktestConfig::new(BacktestStart::Fraction(0.9));
    let backtest = Backtest::new(config, plan)
        .with_series(values)
        .with_progress(|fold, number, folds| {
            println!(
                "backtest fold {number}/{folds}: {} origins from {}, {:.1} s",
                fold.origins.len(),
                fold.first_label,
                fold.seconds
            )
        })
        .run::<Backend>(&Default::default())?;
    println!("backtest of the last 10%, °C:");
    print!("{}", table(&backtest.overall));
    Ok(())
}
