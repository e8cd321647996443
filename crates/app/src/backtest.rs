//! Backtests: forecasts from many origins over the last part of a series, each made by a model
//! trained on the data before it alone (Darts' `historical_forecasts`, NeuralForecast's
//! `cross_validation`), scored beside the baselines on exactly the same targets.
//!
//! The origins run from the start on, `stride` apart. Trained once, one model learns from the
//! values before the start and forecasts every origin. With `refit_every(K)`, the origins go in
//! groups of `K` (folds), and each fold trains a new model on every value before its first
//! origin (an expanding window). A fold is an ordinary training run of the run's configuration
//! on the series cut after the fold's last target, with the fold's targets as its test part: the
//! transforms are decided, the scalers fitted and the validation part carved from the values
//! before the fold, exactly as `train` does with a test part.

use std::path::Path;
use std::time::Instant;

use data::TimeSeries;
use model::TrainingBackend;
use serde::Serialize;

use crate::artifacts::write_atomically;
use crate::backend::BackendJob;
use crate::config::{DataSource, RunConfig};
use crate::error::{Error, Result};
use crate::forecast::{self, QuantileForecast, SeriesForecast};
use crate::metrics::{naive_forecast, seasonal_naive_forecast, MetricsReport};
use crate::observer::StopHandle;
use crate::train::Training;

/// Where the backtest's first forecast origin lies (the index of its first predicted value).
#[derive(Clone, Debug, PartialEq)]
pub enum BacktestStart {
    /// The share of the series before it, above 0 and below 1 (Darts' float `start`): 0.8
    /// forecasts the last 20%.
    Fraction(f64),
    /// The row whose date column reads exactly this.
    Date(String),
    /// The 0-based row.
    Index(usize),
}

impl BacktestStart {
    /// Reads a fraction (`0.8`), else a date of the date column (`1958-01`), else, for a series
    /// without dates, a 0-based row index.
    pub fn parse(text: &str) -> Self {
        match text.parse::<f64>() {
            Ok(fraction) if fraction > 0.0 && fraction < 1.0 => Self::Fraction(fraction),
            _ => Self::Date(text.to_string()),
        }
    }

    /// The index of the first origin in `series`.
    fn resolve(&self, series: &TimeSeries) -> Result<usize> {
        let len = series.values.len();
        match self {
            Self::Fraction(fraction) => Ok(((len as f64) * fraction).round() as usize),
            Self::Index(index) => Ok(*index),
            Self::Date(date) => match &series.dates {
                Some(dates) => dates.iter().position(|label| label == date).ok_or_else(|| {
                    Error::BacktestStartNotFound {
                        start: date.clone(),
                        first: dates.first().cloned().unwrap_or_default(),
                        last: dates.last().cloned().unwrap_or_default(),
                    }
                }),
                None => date
                    .parse::<usize>()
                    .map_err(|_| Error::BacktestStartWithoutDates {
                        start: date.clone(),
                    }),
            },
        }
    }
}

/// How a backtest is cut.
#[derive(Clone, Debug, PartialEq)]
pub struct BacktestConfig {
    /// The first forecast origin.
    pub start: BacktestStart,
    /// Steps between consecutive origins (1: every one).
    pub stride: usize,
    /// Origins per trained model; `None` trains once, on the values before the start.
    pub refit_every: Option<usize>,
}

impl BacktestConfig {
    /// Every origin from `start` on, one model trained before it.
    pub fn new(start: BacktestStart) -> Self {
        Self {
            start,
            stride: 1,
            refit_every: None,
        }
    }

    /// Origins `stride` steps apart.
    pub fn with_stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// A new model every `origins` origins, trained on everything before the first of them.
    pub fn with_refit_every(mut self, origins: Option<usize>) -> Self {
        self.refit_every = origins;
        self
    }

    /// The origins of a series of `len` values forecast `horizon` steps ahead from `start`
    /// (every one whose targets lie in the series), grouped by the model that forecasts them.
    pub fn folds(&self, start: usize, len: usize, horizon: usize) -> Result<Vec<Vec<usize>>> {
        if self.stride == 0 || self.refit_every == Some(0) {
            return Err(Error::BacktestZeroStep);
        }
        let origins: Vec<usize> = (start.max(1)..=len.saturating_sub(horizon))
            .step_by(self.stride)
            .collect();
        if origins.is_empty() {
            return Err(Error::BacktestNoOrigin {
                start,
                len,
                horizon,
            });
        }
        let per_fold = self.refit_every.unwrap_or(origins.len());
        Ok(origins.chunks(per_fold).map(<[usize]>::to_vec).collect())
    }
}

/// One trained model of a backtest and what it forecast.
#[derive(Clone, Debug, Serialize)]
pub struct Fold {
    /// Its origins (indexes of their first predicted values).
    pub origins: Vec<usize>,
    /// The date (or row) of its first origin.
    pub first_label: String,
    /// The date (or row) of its last origin.
    pub last_label: String,
    /// The values it could learn from: those before its first origin.
    pub trained_on: usize,
    /// Epochs trained (early stopping may end a fold early).
    pub epochs: usize,
    /// Wall-clock seconds of its training and forecasts.
    pub seconds: f64,
}

/// A backtest's forecasts and scores.
#[derive(Clone, Debug)]
pub struct BacktestOutcome {
    /// The whole series, in its units.
    pub series: TimeSeries,
    /// Its folds, in time order.
    pub folds: Vec<Fold>,
    /// The model's forecasts from every origin (no `future`).
    pub forecast: SeriesForecast,
    /// The linear baseline's from the same origins, fitted per fold like the model.
    pub linear: SeriesForecast,
    /// Every step of every forecast, model against the baselines.
    pub overall: MetricsReport,
    /// The same for each horizon step alone (`per_step[0]` scores the first step).
    pub per_step: Vec<MetricsReport>,
}

/// A backtest to run: a series run's configuration and how to cut it.
pub struct Backtest {
    config: RunConfig,
    plan: BacktestConfig,
    series: Option<TimeSeries>,
    stop: StopHandle,
    progress: Box<FoldProgress>,
}

/// What [`Backtest::with_progress`] calls after each fold: the fold, its number from 1, and how
/// many there are.
pub type FoldProgress = dyn FnMut(&Fold, usize, usize);

impl Backtest {
    /// Backtests `config` (a series run; its test fraction is replaced by the folds' targets).
    pub fn new(config: RunConfig, plan: BacktestConfig) -> Self {
        Self {
            config,
            plan,
            series: None,
            stop: StopHandle::new(),
            progress: Box::new(|_, _, _| {}),
        }
    }

    /// Backtests `series` instead of reading the configuration's CSV file.
    pub fn with_series(mut self, series: TimeSeries) -> Self {
        self.series = Some(series);
        self
    }

    /// Stops the fold in training, and the backtest, when `stop` is pulled.
    pub fn with_stop_handle(mut self, stop: StopHandle) -> Self {
        self.stop = stop;
        self
    }

    /// Calls `progress(fold, number, folds)` after each fold (`number` from 1).
    pub fn with_progress(mut self, progress: impl FnMut(&Fold, usize, usize) + 'static) -> Self {
        self.progress = Box::new(progress);
        self
    }

    /// The run's configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Trains each fold on backend `B` and `device`, forecasts its origins and scores them all.
    pub fn run<B: TrainingBackend>(mut self, device: &B::Device) -> Result<BacktestOutcome> {
        self.config.check()?;
        let DataSource::Series(series_config) = &self.config.data else {
            return Err(Error::WrongKindOfRun {
                dir: "backtest".into(),
                trained_on: "the synthetic data",
                asked_for: "a series",
            });
        };
        let series_config = series_config.clone();
        let series = match self.series.take() {
            Some(series) => series,
            None => forecast::read_series(&series_config, &series_config.csv)?,
        };
        let horizon = series_config.horizon;
        let start = self.plan.start.resolve(&series)?;
        let folds = self.plan.folds(start, series.values.len(), horizon)?;
        let mut done = Vec::with_capacity(folds.len());
        let mut model = Vec::new();
        let mut linear = Vec::new();
        let mut quantiles: Option<QuantileForecast> = None;
        for (number, origins) in folds.iter().enumerate() {
            let began = Instant::now();
            let first = origins[0];
            let end = origins[origins.len() - 1] + horizon;
            let cut = truncated(&series, end);
            let mut fold_series = series_config.clone();
            fold_series.test_fraction = (end - first) as f64 / end as f64;
            let mut fold_config = self.config.clone();
            fold_config.data = DataSource::Series(fold_series);
            let trained = Training::new(fold_config)
                .with_series(cut)
                .with_stop_handle(self.stop.clone())
                .run::<B>(device)
                .map_err(|source| Error::BacktestFold {
                    fold: number + 1,
                    origin: forecast::row_label(&series, first),
                    source: Box::new(source),
                })?;
            if trained.report.stop == crate::StopReason::Interrupted {
                return Err(Error::BacktestInterrupted { fold: number + 1 });
            }
            let outcome = trained
                .report
                .outcome
                .as_ref()
                .and_then(|outcome| outcome.forecast())
                .expect("a series run forecasts its test part");
            let wanted = |origin: &usize| origins.binary_search(origin).is_ok();
            let keep = |forecast: &SeriesForecast| -> Vec<Vec<f64>> {
                forecast
                    .origins
                    .iter()
                    .zip(&forecast.predicted)
                    .filter(|(origin, _)| wanted(origin))
                    .map(|(_, steps)| steps.clone())
                    .collect()
            };
            model.extend(keep(&outcome.forecast));
            linear.extend(keep(&outcome.linear));
            if let Some(fold) = &outcome.forecast.quantiles {
                let all = quantiles.get_or_insert_with(|| QuantileForecast {
                    levels: fold.levels.clone(),
                    predicted: Vec::new(),
                    future: Vec::new(),
                });
                all.predicted.extend(
                    outcome
                        .forecast
                        .origins
                        .iter()
                        .zip(&fold.predicted)
                        .filter(|(origin, _)| wanted(origin))
                        .map(|(_, levels)| levels.clone()),
                );
            }
            let fold = Fold {
                origins: origins.clone(),
                first_label: forecast::row_label(&series, first),
                last_label: forecast::row_label(&series, origins[origins.len() - 1]),
                trained_on: first,
                epochs: trained.report.history.len(),
                seconds: began.elapsed().as_secs_f64(),
            };
            (self.progress)(&fold, number + 1, folds.len());
            done.push(fold);
        }
        let origins: Vec<usize> = folds.into_iter().flatten().collect();
        assert_eq!(origins.len(), model.len(), "every origin forecast once");
        let forecast = SeriesForecast {
            origins: origins.clone(),
            predicted: model,
            future: Vec::new(),
            quantiles,
        };
        let linear = SeriesForecast {
            origins,
            predicted: linear,
            future: Vec::new(),
            quantiles: None,
        };
        let season = series_config.season;
        let score =
            |steps| forecast::score_forecasts(&series.values, &forecast, &linear, season, steps);
        let overall = score(0..horizon);
        let per_step = (0..horizon).map(|step| score(step..step + 1)).collect();
        Ok(BacktestOutcome {
            folds: done,
            overall,
            per_step,
            forecast,
            linear,
            series,
        })
    }
}

/// The first `len` rows of `series`.
fn truncated(series: &TimeSeries, len: usize) -> TimeSeries {
    let mut cut = series.clone();
    cut.values.truncate(len);
    for feature in &mut cut.features {
        feature.values.truncate(len);
    }
    if let Some(dates) = &mut cut.dates {
        dates.truncate(len);
    }
    if let Some(times) = &mut cut.times {
        times.truncate(len);
    }
    cut
}

/// `backtest.json`: the folds and the scores.
#[derive(Serialize)]
struct BacktestReport<'a> {
    folds: Vec<FoldRecord>,
    overall: &'a MetricsReport,
    per_step: &'a [MetricsReport],
}

/// A fold in `backtest.json`, with dates for its origins.
#[derive(Serialize)]
struct FoldRecord {
    first_origin: String,
    last_origin: String,
    origins: usize,
    trained_on: usize,
    epochs: usize,
    seconds: f64,
}

/// One row of `backtest.csv`.
#[derive(Serialize)]
struct BacktestRow<'a> {
    fold: usize,
    origin: String,
    step: usize,
    date: String,
    actual: f64,
    forecast: f64,
    naive: f64,
    seasonal_naive: Option<f64>,
    linear: f64,
    quantiles: &'a [f64],
}

impl BacktestOutcome {
    /// Row `index`'s date, or the index itself without dates.
    pub fn label(&self, index: usize) -> String {
        forecast::row_label(&self.series, index)
    }

    /// Writes `backtest.csv` into `path`: one row per fold, origin and step, with the model's
    /// forecast, the naive, seasonal-naive and linear ones, and a column per quantile level.
    pub fn write_table(&self, path: &Path) -> Result<()> {
        let values = &self.series.values;
        let season = self.overall.season;
        let horizon = self.overall.horizon;
        let levels = self
            .forecast
            .quantiles
            .as_ref()
            .map_or(&[][..], |q| &q.levels[..]);
        let header = forecast::table_header(&["fold"], levels);
        let mut fold_of = Vec::new();
        for (number, fold) in self.folds.iter().enumerate() {
            fold_of.extend(std::iter::repeat_n(number + 1, fold.origins.len()));
        }
        write_atomically(path, |file| {
            let mut csv = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file);
            csv.write_record(&header)?;
            for (row, (&origin, predicted)) in self
                .forecast
                .origins
                .iter()
                .zip(&self.forecast.predicted)
                .enumerate()
            {
                let naive = naive_forecast(values, origin, horizon);
                let seasonal =
                    season.and_then(|s| seasonal_naive_forecast(values, origin, horizon, s));
                for step in 0..horizon {
                    let quantiles: Vec<f64> = match &self.forecast.quantiles {
                        Some(q) => q.predicted[row].iter().map(|path| path[step]).collect(),
                        None => Vec::new(),
                    };
                    csv.serialize(BacktestRow {
                        fold: fold_of[row],
                        origin: self.label(origin - 1),
                        step: step + 1,
                        date: self.label(origin + step),
                        actual: values[origin + step],
                        forecast: predicted[step],
                        naive: naive[step],
                        seasonal_naive: seasonal.as_ref().map(|s| s[step]),
                        linear: self.linear.predicted[row][step],
                        quantiles: &quantiles,
                    })?;
                }
            }
            csv.flush()?;
            Ok(())
        })
    }

    /// Writes `backtest.json` into `path`: the folds, the overall scores and each step's.
    pub fn write_report(&self, path: &Path) -> Result<()> {
        let report = BacktestReport {
            folds: self
                .folds
                .iter()
                .map(|fold| FoldRecord {
                    first_origin: fold.first_label.clone(),
                    last_origin: fold.last_label.clone(),
                    origins: fold.origins.len(),
                    trained_on: fold.trained_on,
                    epochs: fold.epochs,
                    seconds: fold.seconds,
                })
                .collect(),
            overall: &self.overall,
            per_step: &self.per_step,
        };
        write_atomically(path, |file| {
            serde_json::to_writer_pretty(file, &report)?;
            Ok(())
        })
    }
}

/// [`Backtest::run`] as a job for [`run_on`](crate::backend::run_on).
pub struct RunBacktest(pub Backtest);

impl BackendJob for RunBacktest {
    type Output = BacktestOutcome;

    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<BacktestOutcome> {
        self.0.run::<B>(&device)
    }

    fn run_config(&self) -> Option<&RunConfig> {
        Some(self.0.config())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(len: usize, dates: bool) -> TimeSeries {
        TimeSeries {
            name: "v".into(),
            values: (0..len).map(|i| i as f64).collect(),
            features: Vec::new(),
            dates: dates.then(|| (0..len).map(|i| format!("d{i}")).collect()),
            times: None,
            delimiter: b',',
        }
    }

    #[test]
    fn origins_run_from_the_start_by_the_stride_and_group_into_folds() {
        let plan = BacktestConfig::new(BacktestStart::Index(10))
            .with_stride(2)
            .with_refit_every(Some(2));
        // Length 20, horizon 3: the last origin whose targets fit is 17.
        assert_eq!(
            plan.folds(10, 20, 3).expect("origins"),
            vec![vec![10, 12], vec![14, 16]]
        );
        let once = BacktestConfig::new(BacktestStart::Index(10));
        assert_eq!(
            once.folds(15, 20, 3).expect("origins"),
            vec![vec![15, 16, 17]]
        );
        let error = once.folds(18, 20, 3).expect_err("no origin");
        assert_eq!(
            error.to_string(),
            "the backtest starts at row 18, and a forecast of 3 step(s) from there runs past the \
             series' 20 values: no origin is left"
        );
        assert!(matches!(
            plan.clone().with_stride(0).folds(10, 20, 3),
            Err(Error::BacktestZeroStep)
        ));
    }

    #[test]
    fn starts_are_fractions_dates_or_rows() {
        assert_eq!(BacktestStart::parse("0.8"), BacktestStart::Fraction(0.8));
        assert_eq!(
            BacktestStart::parse("1958-01"),
            BacktestStart::Date("1958-01".into())
        );
        let dated = series(50, true);
        assert_eq!(BacktestStart::parse("0.8").resolve(&dated).ok(), Some(40));
        assert_eq!(BacktestStart::parse("d12").resolve(&dated).ok(), Some(12));
        let error = BacktestStart::parse("d99")
            .resolve(&dated)
            .expect_err("no such date");
        assert_eq!(
            error.to_string(),
            "no date 'd99' in the date column, which runs from d0 to d49"
        );
        let plain = series(50, false);
        assert_eq!(BacktestStart::parse("30").resolve(&plain).ok(), Some(30));
        assert!(BacktestStart::parse("1958-01").resolve(&plain).is_err());
    }

    #[test]
    fn a_cut_series_keeps_every_column_in_step() {
        let mut whole = series(10, true);
        whole.features.push(data::Column {
            name: "f".into(),
            values: (0..10).map(|i| -(i as f64)).collect(),
        });
        whole.times = Some(vec![data::parse_date("2020-01-01").expect("a date"); 10]);
        let cut = truncated(&whole, 6);
        assert_eq!(cut.values.len(), 6);
        assert_eq!(cut.times.as_ref().map(Vec::len), Some(6));
        assert_eq!(cut.features[0].values, [0.0, -1.0, -2.0, -3.0, -4.0, -5.0]);
        assert_eq!(cut.dates.as_ref().map(Vec::len), Some(6));
    }
}
