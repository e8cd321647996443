//! The library's errors: what went wrong, in the library's terms. A front end (the `app` command
//! line, for one) adds what its user should change.

use std::path::PathBuf;

use thiserror::Error;

use crate::backend::BackendKind;

/// A result whose error is the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when training, evaluating, forecasting or reading a run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read, written or created.
    #[error("{what}")]
    File {
        /// What was being done, naming the path (`cannot write DIR/model.mpk`).
        what: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The synthetic data's settings are invalid.
    #[error("invalid data settings")]
    Data(#[from] data::DataError),
    /// The CSV series could not be read.
    #[error(transparent)]
    Series(#[from] data::SeriesError),
    /// A part of the series is too short for one window.
    #[error("the series '{name}' ({len} values) is too short")]
    SeriesTooShort {
        /// The series' name (its column).
        name: String,
        /// Its length.
        len: usize,
        /// Which part is too short, and by how much.
        #[source]
        source: data::TooShort,
    },
    /// A log or Box-Cox transform met a value that is not positive.
    #[error(
        "the {} transform needs positive values, and '{name}' is {} at row {row}{}",
        .value.transform,
        .value.value,
        .label.as_ref().map_or_else(String::new, |label| format!(" ({label})"))
    )]
    NotPositive {
        /// The series' name (its column).
        name: String,
        /// The 1-based data row of the first value that is not positive.
        row: usize,
        /// That row's date, when the series has a date column.
        label: Option<String>,
        /// The transform and the value.
        value: data::NotPositive,
    },
    /// A seasonal difference was asked for a series without a season length.
    #[error("a seasonal difference needs the series' season length")]
    SeasonalDifferenceWithoutSeason,
    /// The validation fraction leaves no sequence for training or for validation.
    #[error(
        "a validation fraction of {fraction} of {total} sequences leaves {train} for training and \
         {valid} for validation; both need at least one"
    )]
    ValidationSplit {
        /// The fraction asked for.
        fraction: f64,
        /// The sequences there are.
        total: usize,
        /// Those left for training.
        train: usize,
        /// Those for validation.
        valid: usize,
    },
    /// The model's shape does not fit the data (outputs against the horizon, inputs against the
    /// features).
    #[error("the model has {found} {what} but the data has {expected}")]
    ModelDoesNotFitData {
        /// `inputs per step` or `outputs`.
        what: &'static str,
        /// The model's number.
        found: usize,
        /// The data's number.
        expected: usize,
    },
    /// Calendar inputs asked for without a date column to compute them from.
    #[error("calendar inputs are computed from the dates, and the run has no date column")]
    CalendarWithoutDates,
    /// A calendar input asked for twice.
    #[error("calendar input {feature} is asked for twice")]
    RepeatedCalendarFeature {
        /// Its name.
        feature: &'static str,
    },
    /// Forecasting past the end of the series without the future features' values there.
    #[error(
        "forecasting the {rows} value(s) after the end of the series needs the values of \
         {columns} for them"
    )]
    FutureValuesMissing {
        /// Values forecast after the end (the horizon).
        rows: usize,
        /// The future features, quoted and comma-separated.
        columns: String,
    },
    /// Future values given for fewer steps than the horizon (or not for every future feature).
    #[error(
        "forecasting the {rows} value(s) after the end of the series needs {rows} row(s) of \
         {columns} after it, and the future values given have {found}"
    )]
    FutureValuesShort {
        /// Values forecast after the end (the horizon).
        rows: usize,
        /// The future features, quoted and comma-separated.
        columns: String,
        /// What was given instead: a number of rows, or of columns.
        found: String,
    },
    /// Forecasting past the end of the series with calendar inputs whose dates there cannot be
    /// told from the date column.
    #[error(
        "forecasting the {rows} value(s) after the end of the series needs their dates for the \
         calendar inputs, which continue the step between the last two dates; those two do not \
         increase"
    )]
    FutureDatesUnknown {
        /// Values forecast after the end (the horizon).
        rows: usize,
    },
    /// A file of future values given to a run that reads no future features.
    #[error("the run reads no future features, so it needs no file of future values")]
    NoFutureFeatures,
    /// Quantiles asked for on the synthetic data, whose evaluation is the tutorial's MSE.
    #[error("quantiles are for series runs; the synthetic data is scored by its squared error")]
    QuantilesOnSyntheticData,
    /// A quantile level outside (0, 1).
    #[error("quantile {level} is not between 0 and 1 (both excluded)")]
    QuantileOutOfRange {
        /// The level.
        level: f64,
    },
    /// A quantile level given twice.
    #[error("quantile {level} is asked for twice")]
    RepeatedQuantile {
        /// The level.
        level: f64,
    },
    /// Quantile levels in a model configuration that are not ascending (a configuration built
    /// by hand; [`RunConfig::with_quantiles`](crate::RunConfig::with_quantiles) sorts them).
    #[error("the quantiles {levels:?} are not in ascending order")]
    QuantilesNotAscending {
        /// The levels as configured.
        levels: Vec<f64>,
    },
    /// A backtest whose start is a date that the date column does not hold.
    #[error("no date '{start}' in the date column, which runs from {first} to {last}")]
    BacktestStartNotFound {
        /// The date asked for.
        start: String,
        /// The column's first date.
        first: String,
        /// Its last.
        last: String,
    },
    /// A backtest start that is neither a fraction nor a row of a series without dates.
    #[error(
        "the backtest start '{start}' is not a fraction between 0 and 1, and the series has no \
         date column to find it in"
    )]
    BacktestStartWithoutDates {
        /// The start asked for.
        start: String,
    },
    /// A backtest whose start leaves no origin with all its targets in the series.
    #[error(
        "the backtest starts at row {start}, and a forecast of {horizon} step(s) from there runs \
         past the series' {len} values: no origin is left"
    )]
    BacktestNoOrigin {
        /// The first origin's row.
        start: usize,
        /// The series' length.
        len: usize,
        /// Steps per forecast.
        horizon: usize,
    },
    /// A backtest stride or refit interval of zero.
    #[error("a backtest's stride and refit interval must be at least 1")]
    BacktestZeroStep,
    /// A backtest fold that could not be trained (too little data before it, most often).
    #[error("backtest fold {fold} (origins from {origin} on)")]
    BacktestFold {
        /// The fold, from 1.
        fold: usize,
        /// Its first origin's date (or row).
        origin: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A backtest stopped through its handle.
    #[error("the backtest was interrupted in fold {fold}; nothing was written")]
    BacktestInterrupted {
        /// The fold being trained.
        fold: usize,
    },
    /// A series configuration names feature columns whose scalers training has not fitted
    /// (a configuration built by hand and forecast without training).
    #[error(
        "the run has {features} feature column(s) but {fitted} fitted feature scaler(s); \
         training fits them"
    )]
    FeatureScalersNotFitted {
        /// Feature columns read.
        features: usize,
        /// Scalers recorded.
        fitted: usize,
    },
    /// No finished run (its `config.json` or another listed file is missing).
    #[error("no trained model in {}: {} does not exist", dir.display(), missing.display())]
    NoRun {
        /// The run's directory.
        dir: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },
    /// A run whose training did not finish (no `manifest.json`).
    #[error(
        "the run in {} is incomplete ({} is missing: training did not finish, or is still \
         running)",
        dir.display(),
        manifest.display()
    )]
    IncompleteRun {
        /// The run's directory.
        dir: PathBuf,
        /// The manifest that is missing.
        manifest: PathBuf,
    },
    /// A file that this library did not write, or cannot read back.
    #[error("{} is not {what}", path.display())]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What it should have been (`a run configuration written by `train``).
        what: &'static str,
        /// The parser's complaint.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A `config.json` of another layout version.
    #[error(
        "{} was written by another version of this app (format {}, this one reads {expected})",
        path.display(),
        found.map_or("unknown".to_string(), |v| v.to_string())
    )]
    OtherFormat {
        /// The file.
        path: PathBuf,
        /// The version it holds, if any.
        found: Option<u64>,
        /// The version this build reads.
        expected: u32,
    },
    /// Weights that cannot be loaded, or are damaged.
    #[error("cannot load the model from {}", path.display())]
    DamagedModel {
        /// The weights file.
        path: PathBuf,
        /// Burn's complaint.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Weights whose shapes are not the configuration's.
    #[error(
        "{} does not match {}: the weights hold {found_parameters} parameters in {found_tensors} \
         tensors, the configuration ({architecture}) needs {expected_parameters} in \
         {expected_tensors}",
        weights.display(),
        config.display()
    )]
    WeightsMismatch {
        /// The weights file.
        weights: PathBuf,
        /// The configuration file.
        config: PathBuf,
        /// The configuration's architecture, described.
        architecture: String,
        /// Parameters in the file.
        found_parameters: usize,
        /// Tensors in the file.
        found_tensors: usize,
        /// Parameters the configuration needs.
        expected_parameters: usize,
        /// Tensors the configuration needs.
        expected_tensors: usize,
    },
    /// A run that cannot be resumed; `source` says why.
    #[error("cannot resume the run in {}", dir.display())]
    Resume {
        /// The run's directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// Resuming with settings that define another model or other data.
    #[error("{setting} was {saved} in the saved run, this one asks for {asked}")]
    ResumeConflict {
        /// The dotted path of the first setting that differs (`model.cell`).
        setting: String,
        /// Its saved value, as JSON.
        saved: String,
        /// The value asked for, as JSON.
        asked: String,
    },
    /// Resuming a run that has no complete checkpoint.
    #[error("it has no complete checkpoint in {}", checkpoints.display())]
    NoCheckpoint {
        /// The checkpoint directory.
        checkpoints: PathBuf,
    },
    /// A loss history with gaps.
    #[error("{} does not hold epochs 1 to {last} in order", history.display())]
    HistoryOutOfOrder {
        /// The history file.
        history: PathBuf,
        /// The last epoch in it.
        last: usize,
    },
    /// A damaged optimiser checkpoint.
    #[error("the optimiser state {} is damaged", path.display())]
    DamagedOptimiser {
        /// The file.
        path: PathBuf,
    },
    /// Resuming a run that already has as many epochs as asked for (the number is the total).
    #[error(
        "the run in {} already has {trained} epochs and the number of epochs asked for ({epochs}) \
         is the total, as Keras' initial_epoch counts",
        dir.display()
    )]
    AlreadyTrained {
        /// The run's directory.
        dir: PathBuf,
        /// Epochs it has.
        trained: usize,
        /// Epochs asked for.
        epochs: usize,
    },
    /// Training was stopped (through its [`StopHandle`](crate::StopHandle)) before one epoch
    /// was complete, so there is no model.
    #[error("interrupted after 0 of {epochs} epochs; no epoch was completed, so there is nothing to keep")]
    StoppedBeforeFirstEpoch {
        /// Epochs asked for.
        epochs: usize,
    },
    /// The first epoch's loss was not finite, so there is no model.
    #[error(
        "the training loss became {loss} in epoch {epoch}, so training stopped and no model was \
         saved"
    )]
    DivergedBeforeFirstEpoch {
        /// The epoch (1).
        epoch: usize,
        /// Its loss.
        loss: f64,
    },
    /// Writing the per-epoch files failed, which stops training.
    #[error("training stopped: {0}")]
    TrainingFiles(String),
    /// A series run asked to evaluate the synthetic data, or the other way round.
    #[error("the run in {} was trained on {trained_on}, not {asked_for}", dir.display())]
    WrongKindOfRun {
        /// The run's directory.
        dir: PathBuf,
        /// `the synthetic data` or `a series`.
        trained_on: &'static str,
        /// What the call needs.
        asked_for: &'static str,
    },
    /// A backend that this build or this machine does not have.
    #[error("{backend} found no {api} adapter")]
    NoAdapter {
        /// The backend.
        backend: BackendKind,
        /// The graphics API asked for (`Vulkan`).
        api: String,
    },
    /// `--backend cuda` on a machine where CUDA does not start: no NVIDIA driver, no device, or
    /// no NVRTC.
    #[error("cuda cannot start: {reason}")]
    NoCudaDevice {
        /// What is missing or failed.
        reason: String,
    },
    /// A backend that was left out of this build.
    #[error("this build has no {backend} backend (built without its cargo feature)")]
    BackendNotBuilt {
        /// The backend.
        backend: BackendKind,
    },
    /// The run needs more memory than this process can have (see [`crate::memory`]).
    #[error("{0}")]
    OutOfMemory(Box<crate::memory::MemoryShortfall>),
    /// A CSV file larger than the memory left to read it into.
    #[error(
        "{} is {}, and reading it takes at least its size in memory; {budget}",
        path.display(),
        crate::memory::Bytes(*bytes)
    )]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        bytes: u64,
        /// What the process can have.
        budget: crate::memory::MemoryBudget,
    },
    /// A buffer of the run is larger than the GPU adapter can bind (see
    /// [`backend::check_device_limits`](crate::backend::check_device_limits)).
    #[error(
        "a buffer of {} (batch {batch_size}) is larger than the {adapter} adapter's {limit_name} \
         of {}{}",
        crate::memory::Bytes(*bytes),
        crate::memory::Bytes(*limit),
        match fits {
            Some(fits) => format!("; batch {fits} fits"),
            None => "; not even batch 1 fits".to_string(),
        }
    )]
    BufferTooLarge {
        /// The adapter's name.
        adapter: String,
        /// The run's largest buffer, in bytes.
        bytes: u64,
        /// The limit it exceeds (`max_storage_buffer_binding_size` or `max_buffer_size`).
        limit_name: &'static str,
        /// The limit, in bytes.
        limit: u64,
        /// The run's batch size.
        batch_size: usize,
        /// The largest batch size whose buffers fit, if any.
        fits: Option<usize>,
    },
    /// A plot could not be drawn.
    #[error("cannot draw {}: {message}", path.display())]
    Plot {
        /// The image.
        path: PathBuf,
        /// plotters' complaint.
        message: String,
    },
}

/// `with_context` for the library's own results: wraps any error as [`Error::File`] with a
/// description of what was being done.
pub(crate) trait Context<T> {
    /// Wraps the error with `what()`.
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E> Context<T> for std::result::Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::File {
            what: what(),
            source: Box::new(source),
        })
    }
}

impl Error {
    /// An [`Error::File`] whose cause is a plain message.
    pub(crate) fn file(what: String, why: impl Into<String>) -> Self {
        let why: String = why.into();
        Error::File {
            what,
            source: why.into(),
        }
    }
}
