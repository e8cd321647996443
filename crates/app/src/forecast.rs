//! Forecasting a series: preparing it as `train` did, rolling-origin forecasts over the test part,
//! the values after its end, and the comparison with naive baselines.

use std::path::Path;

use burn::data::dataset::Dataset;
use burn::prelude::*;
use burn::tensor::TensorData;
use data::{
    load_csv, ChronologicalSplit, Scaler, SequenceItem, SeriesCsvOptions, TimeSeries,
    WindowDataset, WindowSpec,
};
use model::LstmBackend;
use model::RecurrentRegressor;
use serde::Serialize;

use crate::artifacts::write_atomically;
use crate::config::{ScaleFit, SeriesConfig};
use crate::error::{Error, Result};
use crate::metrics::{naive_forecast, scores, seasonal_naive_forecast, MetricsReport};

/// A series split and scaled as its run prescribes.
#[derive(Clone, Debug)]
pub struct PreparedSeries {
    /// The series in original units.
    pub series: TimeSeries,
    /// Its chronological parts.
    pub split: ChronologicalSplit,
    /// The window shape.
    pub spec: WindowSpec,
    /// The scaling, fitted during training.
    pub scaler: Scaler,
    /// The whole series in training units.
    pub scaled: Vec<f64>,
}

/// Reads the run's value (and date) column from `csv`.
pub fn read_series(config: &SeriesConfig, csv: &Path) -> Result<TimeSeries> {
    let options = SeriesCsvOptions {
        column: config.column.clone(),
        date_column: config.date_column.clone(),
        fill: config.fill,
    };
    Ok(load_csv(csv, &options)?)
}

/// Fits the run's kind of scaler on the training part (or, with [`ScaleFit::All`], everything).
pub fn fit_scaler(series: &TimeSeries, config: &SeriesConfig) -> Scaler {
    let split = ChronologicalSplit::new(
        series.values.len(),
        config.test_fraction,
        config.validation_fraction,
    );
    let fitted_on = match config.scale_fit {
        ScaleFit::Train => &series.values[split.train],
        ScaleFit::All => &series.values[..],
    };
    Scaler::fit(config.scaler.kind, fitted_on)
}

impl PreparedSeries {
    /// Splits `series` by the run's fractions and scales it with `scaler`; the training and test
    /// parts must each hold at least one window.
    pub fn new(series: TimeSeries, config: &SeriesConfig, scaler: Scaler) -> Result<Self> {
        let split = ChronologicalSplit::new(
            series.values.len(),
            config.test_fraction,
            config.validation_fraction,
        );
        let spec = config.windows();
        let too_short = |source| Error::SeriesTooShort {
            name: series.name.clone(),
            len: series.values.len(),
            source,
        };
        spec.check_fits("training", &split.train)
            .map_err(too_short)?;
        spec.check_fits("test", &split.test).map_err(too_short)?;
        let scaled = series.values.iter().map(|&v| scaler.transform(v)).collect();
        Ok(Self {
            series,
            split,
            spec,
            scaler,
            scaled,
        })
    }

    /// The training windows, in training units.
    pub fn train_items(&self) -> Vec<SequenceItem> {
        self.items(self.split.train.clone())
    }

    /// The validation windows (none when the validation part is shorter than a window).
    pub fn validation_items(&self) -> Vec<SequenceItem> {
        self.items(self.split.validation.clone())
    }

    fn items(&self, part: std::ops::Range<usize>) -> Vec<SequenceItem> {
        let dataset = WindowDataset::new(&self.scaled, part, self.spec);
        (0..dataset.len()).filter_map(|i| dataset.get(i)).collect()
    }

    /// The date (or index) of point `index`, for tables and axes.
    pub fn label(&self, index: usize) -> String {
        match &self.series.dates {
            Some(dates) if index < dates.len() => dates[index].clone(),
            _ => index.to_string(),
        }
    }
}

/// The model's forecasts in original units.
#[derive(Clone, Debug)]
pub struct SeriesForecast {
    /// Each test forecast origin (index of its first predicted value).
    pub origins: Vec<usize>,
    /// For each origin, `horizon` predicted values.
    pub predicted: Vec<Vec<f64>>,
    /// The `horizon` values after the end of the series.
    pub future: Vec<f64>,
}

/// Forecasts every test window and the values after the series' end.
pub fn forecast<B: LstmBackend>(
    model: &RecurrentRegressor<B>,
    prepared: &PreparedSeries,
    device: &B::Device,
) -> SeriesForecast {
    let WindowSpec { window, horizon } = prepared.spec;
    let len = prepared.scaled.len();
    let origins: Vec<usize> = prepared.spec.origins(prepared.split.test.clone()).collect();
    // The test origins, then the end of the series for the future values.
    let all_origins: Vec<usize> = origins.iter().copied().chain([len]).collect();
    let mut outputs = Vec::with_capacity(all_origins.len() * horizon);
    for chunk in all_origins.chunks(256) {
        let inputs: Vec<f64> = chunk
            .iter()
            .flat_map(|&origin| prepared.scaled[origin - window..origin].iter().copied())
            .collect();
        let data = TensorData::new(inputs, [chunk.len(), window, 1]).convert::<B::FloatElem>();
        let output = model.forward(Tensor::from_data(data, device));
        outputs.extend(
            output
                .into_data()
                .convert::<f64>()
                .to_vec::<f64>()
                .expect("converted model output should hold f64 values"),
        );
    }
    let mut predicted: Vec<Vec<f64>> = outputs
        .chunks(horizon)
        .map(|steps| steps.iter().map(|&v| prepared.scaler.inverse(v)).collect())
        .collect();
    let future = predicted
        .pop()
        .expect("the future forecast is always computed");
    SeriesForecast {
        origins,
        predicted,
        future,
    }
}

/// The model and the baselines on the same test targets, in original units.
pub fn evaluate_forecast(
    prepared: &PreparedSeries,
    forecast: &SeriesForecast,
    season: Option<usize>,
) -> MetricsReport {
    let values = &prepared.series.values;
    let horizon = prepared.spec.horizon;
    let mut actual = Vec::new();
    let mut model = Vec::new();
    let mut naive = Vec::new();
    let mut seasonal = Some(Vec::new());
    for (&origin, predicted) in forecast.origins.iter().zip(&forecast.predicted) {
        actual.extend_from_slice(&values[origin..origin + horizon]);
        model.extend_from_slice(predicted);
        naive.extend(naive_forecast(values, origin, horizon));
        seasonal = match (seasonal, season) {
            (Some(mut all), Some(season)) => {
                seasonal_naive_forecast(values, origin, horizon, season).map(|steps| {
                    all.extend(steps);
                    all
                })
            }
            _ => None,
        };
    }
    MetricsReport {
        model: scores(&actual, &model),
        naive: scores(&actual, &naive),
        seasonal_naive: seasonal.map(|seasonal| scores(&actual, &seasonal)),
        forecasts: forecast.origins.len(),
        horizon,
        season,
    }
}

/// One row of `forecast.csv`.
#[derive(Serialize)]
struct ForecastRow {
    origin: String,
    step: usize,
    date: String,
    actual: Option<f64>,
    forecast: f64,
    naive: f64,
    seasonal_naive: Option<f64>,
}

/// Writes `forecast.csv`: one row per (origin, step) of the test part, then the future steps
/// (whose `actual` is empty).
pub fn write_table(
    path: &Path,
    prepared: &PreparedSeries,
    forecast: &SeriesForecast,
    season: Option<usize>,
) -> Result<()> {
    let values = &prepared.series.values;
    let horizon = prepared.spec.horizon;
    let len = values.len();
    let origins = forecast.origins.iter().chain([&len]);
    let predictions = forecast.predicted.iter().chain([&forecast.future]);
    write_atomically(path, |file| {
        let mut csv = csv::Writer::from_writer(file);
        for (&origin, predicted) in origins.zip(predictions) {
            let naive = naive_forecast(values, origin, horizon);
            let seasonal = season.and_then(|s| seasonal_naive_forecast(values, origin, horizon, s));
            for step in 0..horizon {
                let index = origin + step;
                csv.serialize(ForecastRow {
                    origin: prepared.label(origin - 1),
                    step: step + 1,
                    date: if index < len {
                        prepared.label(index)
                    } else {
                        format!("+{}", index - len + 1)
                    },
                    actual: values.get(index).copied(),
                    forecast: predicted[step],
                    naive: naive[step],
                    seasonal_naive: seasonal.as_ref().map(|s| s[step]),
                })?;
            }
        }
        csv.flush()?;
        Ok(())
    })
}

/// A series run's forecasts and their scores: what forecasting and training on a series report.
#[derive(Clone, Debug)]
pub struct ForecastOutcome {
    /// The prepared series.
    pub prepared: PreparedSeries,
    /// The model's forecasts.
    pub forecast: SeriesForecast,
    /// Model and baselines on the test part.
    pub metrics: MetricsReport,
}

impl ForecastOutcome {
    /// Forecasts `prepared`'s test part and what follows it with `model`, and scores the test
    /// forecasts against the naive baselines (seasonal too, with a `season`).
    pub fn new<B: LstmBackend>(
        model: &RecurrentRegressor<B>,
        prepared: PreparedSeries,
        season: Option<usize>,
        device: &B::Device,
    ) -> Self {
        let forecast = forecast(model, &prepared, device);
        let metrics = evaluate_forecast(&prepared, &forecast, season);
        Self {
            prepared,
            forecast,
            metrics,
        }
    }

    /// Writes `forecast.csv` into `path`; see [`write_table`].
    pub fn write_table(&self, path: &Path) -> Result<()> {
        write_table(path, &self.prepared, &self.forecast, self.metrics.season)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use data::{ColumnRef, FillPolicy, ScaleKind};

    fn config(window: usize, horizon: usize) -> SeriesConfig {
        SeriesConfig::new("unused.csv".into(), ColumnRef::Index(0))
            .with_fill(FillPolicy::None)
            .with_window(window)
            .with_horizon(horizon)
            .with_test_fraction(0.25)
            .with_validation_fraction(0.25)
            .with_scale(ScaleKind::MinMax)
    }

    fn series(len: usize) -> TimeSeries {
        TimeSeries {
            name: "ramp".into(),
            values: (0..len).map(|i| 10.0 + i as f64).collect(),
            dates: None,
        }
    }

    #[test]
    fn scaler_sees_only_the_training_part() {
        let config = config(2, 1);
        let scaler = fit_scaler(&series(20), &config);
        // Training part: the first 10 values, 10..=19.
        assert_eq!((scaler.offset, scaler.scale), (10.0, 9.0));
        let mut all = config.clone();
        all.scale_fit = ScaleFit::All;
        assert_eq!(fit_scaler(&series(20), &all).scale, 19.0);
    }

    #[test]
    fn prepared_windows_stay_in_their_parts() {
        let config = config(3, 2);
        let prepared = PreparedSeries::new(series(40), &config, fit_scaler(&series(40), &config))
            .expect("long enough");
        // Train 0..20: origins 3..=18; validation 20..30: origins 23..=28.
        assert_eq!(prepared.train_items().len(), 16);
        assert_eq!(prepared.validation_items().len(), 6);
        let last = prepared.train_items().pop().expect("windows");
        assert_eq!(prepared.scaler.inverse(last.target[1]), 10.0 + 19.0);
    }

    #[test]
    fn too_short_series_names_the_part() {
        let config = config(6, 1);
        let error = PreparedSeries::new(series(20), &config, Scaler::fit(ScaleKind::None, &[]))
            .expect_err("test part of 5 values cannot hold a window of 7");
        let part = std::error::Error::source(&error).expect("names the part");
        let message = format!("{error}: {part}");
        assert!(
            message.contains("'ramp' (20 values) is too short"),
            "{message}"
        );
        assert!(message.contains("the test part has 5 values"), "{message}");
    }

    #[test]
    fn metrics_compare_on_the_same_targets() {
        let config = config(2, 1);
        let prepared = PreparedSeries::new(series(40), &config, Scaler::fit(ScaleKind::None, &[]))
            .expect("long enough");
        let origins: Vec<usize> = config
            .windows()
            .origins(prepared.split.test.clone())
            .collect();
        // A perfect model on a ramp; the naive forecast is always 1 short.
        let forecast = SeriesForecast {
            predicted: origins
                .iter()
                .map(|&o| vec![prepared.series.values[o]])
                .collect(),
            origins,
            future: vec![50.0],
        };
        let report = evaluate_forecast(&prepared, &forecast, Some(4));
        assert_eq!(report.model.rmse, 0.0);
        assert_eq!(report.naive.mae, 1.0);
        assert_eq!(report.seasonal_naive.expect("season given").mae, 4.0);
        assert_eq!(report.forecasts, 8);
    }
}
