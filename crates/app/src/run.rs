//! A run once trained: its model and report, saving it, and opening a saved one again.

use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::prelude::Backend;
use data::{Column, SyntheticDataset, TimeSeries, TransformDecision};
use model::{LstmBackend, RecurrentRegressor, TrainingBackend};

use crate::artifacts::{ArtifactDir, EpochRecord};
use crate::backend::BackendJob;
use crate::config::{DataSource, RunConfig};
use crate::epoch_loop::StopReason;
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, Evaluation};
use crate::forecast::{self, ForecastOutcome, PreparedSeries};
use crate::memory::{self, MemoryUse};

/// How a model did on the data of its run.
#[derive(Clone, Debug)]
pub enum RunOutcome {
    /// On the synthetic data: the tutorial's `evaluate` over all the sequences.
    Synthetic(Evaluation),
    /// On a series: forecasts of its test part against the baselines, and of what comes after.
    Series(Box<ForecastOutcome>),
}

impl RunOutcome {
    /// The evaluation on the synthetic data, if the run was trained on it.
    pub fn evaluation(&self) -> Option<&Evaluation> {
        match self {
            RunOutcome::Synthetic(evaluation) => Some(evaluation),
            RunOutcome::Series(_) => None,
        }
    }

    /// The forecasts and metrics of a series run.
    pub fn forecast(&self) -> Option<&ForecastOutcome> {
        match self {
            RunOutcome::Series(outcome) => Some(outcome),
            RunOutcome::Synthetic(_) => None,
        }
    }
}

/// What a training run did, without its model (so that it does not depend on the backend).
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// The run's configuration, with the series' scaler as fitted.
    pub config: RunConfig,
    /// The model on its data; `None` when training was stopped or diverged.
    pub outcome: Option<RunOutcome>,
    /// The per-epoch losses, resumed epochs included.
    pub history: Vec<EpochRecord>,
    /// Why training ended.
    pub stop: StopReason,
    /// The epoch whose weights the model holds.
    pub model_epoch: usize,
    /// The last epoch with a checkpoint, which a resumed run continues from (0: none; always 0
    /// without an artifact directory).
    pub checkpoint_epoch: usize,
    /// The epochs this call trained (the first one, the last one).
    pub trained: (usize, usize),
    /// The artifact directory the run was saved in, if any.
    pub saved_in: Option<PathBuf>,
    /// For a series, the statistics behind each transform decided automatically.
    pub transform_decision: Option<TransformDecision>,
}

/// A trained model with its report.
#[derive(Clone, Debug)]
pub struct TrainedRun<B: Backend> {
    /// The model, for inference (no gradient tracking).
    pub model: RecurrentRegressor<B>,
    /// What training did.
    pub report: TrainReport,
}

impl<B: LstmBackend> TrainedRun<B> {
    /// The mean squared error over the synthetic data (the tutorial's `evaluate`), if the run
    /// was trained on it and completed.
    pub fn mse(&self) -> Option<f64> {
        let outcome = self.report.outcome.as_ref()?;
        outcome.evaluation().map(|evaluation| evaluation.mse)
    }

    /// Saves the run into `dir` (created if needed), in the layout the command line reads: a
    /// run trained from code can be forecast with `app forecast`, and the other way round.
    pub fn save(&self, dir: impl Into<PathBuf>) -> Result<()> {
        let artifacts = ArtifactDir::create(dir)?;
        artifacts.begin_run()?;
        artifacts.save_config(&self.report.config)?;
        artifacts.save_run(
            &self.report.history,
            self.model.clone(),
            self.report.outcome.as_ref(),
        )
    }
}

/// A run saved in a directory (by training with an artifact directory, by
/// [`TrainedRun::save`], or by `app train`).
#[derive(Clone, Debug)]
pub struct SavedRun {
    artifacts: ArtifactDir,
    config: RunConfig,
}

impl SavedRun {
    /// Opens the finished run in `dir`, refusing an incomplete or damaged one.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let artifacts = ArtifactDir::new(dir);
        let config = artifacts.load_config()?;
        Ok(Self { artifacts, config })
    }

    /// The run's directory.
    pub fn dir(&self) -> &Path {
        self.artifacts.root()
    }

    /// Its files.
    pub fn artifacts(&self) -> &ArtifactDir {
        &self.artifacts
    }

    /// Its configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Its loss history.
    pub fn history(&self) -> Result<Vec<EpochRecord>> {
        self.artifacts.load_history()
    }

    /// Its model, on backend `B`.
    pub fn model<B: Backend>(&self, device: &B::Device) -> Result<RecurrentRegressor<B>> {
        self.artifacts.load_model::<B>(&self.config, device)
    }

    /// Runs the model on the data it was trained on: the synthetic data's evaluation, or the
    /// series' test forecasts (from the configuration's CSV file).
    pub fn evaluate<B: TrainingBackend>(&self, device: &B::Device) -> Result<RunOutcome> {
        match &self.config.data {
            DataSource::Synthetic(synthetic) => {
                memory::check_run(&self.config, MemoryUse::Inference, 0)?;
                let dataset = SyntheticDataset::generate(synthetic)?;
                // Inference needs no gradient tracking: the inner backend's model.
                let model = self.model::<B>(device)?.valid();
                Ok(RunOutcome::Synthetic(evaluate(
                    &model,
                    &dataset,
                    self.config.training.batch_size,
                    device,
                )))
            }
            DataSource::Series(_) => Ok(RunOutcome::Series(Box::new(
                self.forecast::<B>(device, None)?,
            ))),
        }
    }

    /// Reads the run's columns from another CSV file (the same series with newer values, say),
    /// for [`forecast`](Self::forecast).
    pub fn read_series(&self, csv: &Path) -> Result<TimeSeries> {
        match &self.config.data {
            DataSource::Series(series_config) => forecast::read_series(series_config, csv),
            DataSource::Synthetic(_) => Err(Error::WrongKindOfRun {
                dir: self.dir().to_path_buf(),
                trained_on: "the synthetic data",
                asked_for: "a series",
            }),
        }
    }

    /// Reads the run's future feature columns from `csv`, their values after the end of the
    /// series, for [`forecast_ahead`](Self::forecast_ahead); see [`forecast::read_future`].
    pub fn read_future(&self, csv: &Path) -> Result<Vec<Column>> {
        match &self.config.data {
            DataSource::Series(series_config) => forecast::read_future(series_config, csv),
            DataSource::Synthetic(_) => Err(Error::NoFutureFeatures),
        }
    }

    /// Forecasts a series run's test part from every window and the values after the end of
    /// `series` (the configuration's CSV file when `None`, e.g. the same series with newer
    /// values appended when given). A run with inputs known ahead forecasts after the end only
    /// when they are there (its calendar's from the dates; future features need
    /// [`forecast_ahead`](Self::forecast_ahead)); otherwise
    /// [`SeriesForecast::future`](crate::forecast::SeriesForecast::future) is empty.
    pub fn forecast<B: TrainingBackend>(
        &self,
        device: &B::Device,
        series: Option<TimeSeries>,
    ) -> Result<ForecastOutcome> {
        self.forecast_with::<B>(device, series, None, false)
    }

    /// As [`forecast`](Self::forecast), with the future features' values after the end of the
    /// series (`future`, from [`read_future`](Self::read_future)), and an error
    /// ([`Error::FutureValuesMissing`], [`Error::FutureValuesShort`] or
    /// [`Error::FutureDatesUnknown`], naming the columns and rows) rather than no values after
    /// the end when they or the calendar's dates are missing.
    pub fn forecast_ahead<B: TrainingBackend>(
        &self,
        device: &B::Device,
        series: Option<TimeSeries>,
        future: Option<Vec<Column>>,
    ) -> Result<ForecastOutcome> {
        self.forecast_with::<B>(device, series, future, true)
    }

    fn forecast_with<B: TrainingBackend>(
        &self,
        device: &B::Device,
        series: Option<TimeSeries>,
        future: Option<Vec<Column>>,
        future_needed: bool,
    ) -> Result<ForecastOutcome> {
        let DataSource::Series(series_config) = &self.config.data else {
            return Err(Error::WrongKindOfRun {
                dir: self.dir().to_path_buf(),
                trained_on: "the synthetic data",
                asked_for: "a series",
            });
        };
        memory::check_run(&self.config, MemoryUse::Inference, 0)?;
        let series = match series {
            Some(series) => series,
            None => forecast::read_series(series_config, &series_config.csv)?,
        };
        let rows = series.values.len() as u64;
        memory::check_run(&self.config, MemoryUse::Inference, rows)?;
        let mut prepared = PreparedSeries::new(series, series_config)?;
        if let Some(future) = future {
            prepared = prepared.with_future(&future, series_config)?;
        }
        if future_needed {
            prepared.check_future()?;
        }
        let model = self.model::<B>(device)?.valid();
        Ok(ForecastOutcome::new(
            &model,
            prepared,
            series_config,
            device,
        ))
    }
}

/// [`SavedRun::evaluate`] as a job for [`run_on`](crate::backend::run_on).
pub struct EvaluateSavedRun<'a>(pub &'a SavedRun);

impl BackendJob for EvaluateSavedRun<'_> {
    type Output = RunOutcome;

    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<RunOutcome> {
        self.0.evaluate::<B>(&device)
    }

    fn run_config(&self) -> Option<&RunConfig> {
        Some(self.0.config())
    }
}

/// [`SavedRun::forecast`] as a job for [`run_on`](crate::backend::run_on).
pub struct ForecastSavedRun<'a> {
    /// The run.
    pub run: &'a SavedRun,
    /// The series to forecast instead of the run's own CSV file.
    pub series: Option<TimeSeries>,
    /// The future features' values after the end of the series
    /// ([`SavedRun::read_future`]), for a run that reads any.
    pub future: Option<Vec<Column>>,
}

impl BackendJob for ForecastSavedRun<'_> {
    type Output = ForecastOutcome;

    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<ForecastOutcome> {
        self.run
            .forecast_ahead::<B>(&device, self.series, self.future)
    }

    fn run_config(&self) -> Option<&RunConfig> {
        Some(self.run.config())
    }
}
