//! Everything needed to rebuild a run: model architecture, data and training settings.

use std::path::PathBuf;

use burn::config::Config;
use data::{
    CalendarFeature, ColumnRef, FillPolicy, ScaleKind, Scaler, SeriesCsvOptions, SeriesTransform,
    SyntheticConfig, TransformRequest, WindowSpec,
};
use model::RecurrentRegressorConfig;
use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;
use crate::error::Error;
use crate::schedule::{EarlyStopping, LrSchedule};

/// Training settings of a run; the defaults are the Keras tutorial's (100 epochs of Adam, batch
/// 32, learning rate 0.001, epsilon 1e-7, seed 0).
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    /// Passes over the data (the total, counting resumed epochs).
    #[config(default = 100)]
    pub epochs: usize,
    /// Sequences per gradient step (the last batch of an epoch may be smaller).
    #[config(default = 32)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Adam's epsilon (Keras' default; Burn's own default is 1e-5).
    #[config(default = 1e-7)]
    pub adam_epsilon: f64,
    /// Seed of weight initialisation and of the per-epoch shuffling.
    #[config(default = 0)]
    pub seed: u32,
    /// The backend the run was trained on, for the record.
    #[config(default = "BackendKind::Ndarray")]
    pub backend: BackendKind,
    /// Decoupled weight decay (AdamW); 0 is plain Adam.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Largest L2 norm of each parameter's gradient (Keras' `clipnorm`), if any.
    #[config(default = "None")]
    pub grad_clip: Option<f64>,
    /// The learning rate per epoch.
    #[config(default = "LrSchedule::Constant")]
    pub lr_schedule: LrSchedule,
    /// Early-stopping patience in epochs, if any.
    #[config(default = "None")]
    pub early_stopping: Option<usize>,
    /// Fraction of the synthetic sequences, at the end, held out for validation (Keras'
    /// `validation_split`).
    #[config(default = 0.0)]
    pub validation_split: f64,
}

impl TrainingConfig {
    /// The training defaults of a series run, chosen by measurement over several real series
    /// and seeds (docs/forecasting.md): the tutorial's, with batches of 16 so that a short
    /// series still gives several steps per epoch, and early stopping after 20 epochs without a
    /// better validation loss, keeping the best epoch's weights.
    pub fn for_series() -> Self {
        Self::new()
            .with_batch_size(16)
            .with_early_stopping(Some(20))
    }

    /// The early-stopping rule, if any.
    pub(crate) fn early_stopping(&self) -> Option<EarlyStopping> {
        self.early_stopping
            .map(|patience| EarlyStopping { patience })
    }
}

/// Which values the scaler is fitted on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ScaleFit {
    /// The training part only: nothing leaks from validation or test values.
    #[default]
    Train,
    /// The whole series, as some tutorials do (leaks the test range into training; for
    /// reproducing them only).
    All,
}

/// A series read from CSV and how it is cut into windows.
#[derive(Config, Debug, PartialEq)]
pub struct SeriesConfig {
    /// The CSV file; later commands read it again (an absolute path keeps the run movable).
    pub csv: PathBuf,
    /// The value column: the target of the forecasts.
    pub column: ColumnRef,
    /// Further columns the model reads beside the target at every step of its window (past
    /// covariates, observed up to the forecast origin), in this order. Each is scaled on the
    /// training part like the target, without the target's power transform or differences.
    #[config(default = "Vec::new()")]
    pub features: Vec<ColumnRef>,
    /// Columns whose values are known ahead (planned promotions, holidays, a weather forecast):
    /// the model reads them over its window like the features and, beyond its origin, over the
    /// horizon it forecasts ([`SeriesConfig::steps`]). Forecasting past the end of the file needs
    /// their values for the horizon after it. Scaled like the features.
    #[config(default = "Vec::new()")]
    pub future_features: Vec<ColumnRef>,
    /// Calendar inputs computed from the date column (which must then hold dates), each as a
    /// sine and cosine pair ([`CalendarFeature::encode`]), known ahead like the future features.
    #[config(default = "Vec::new()")]
    pub calendar: Vec<CalendarFeature>,
    /// The scaling of each feature and then of each future feature, fitted by training on the
    /// training part (the same kind as the target's); empty until training fits them.
    #[config(default = "Vec::new()")]
    pub feature_scalers: Vec<Scaler>,
    /// The date (or label) column, if any, for plot axes and forecast tables.
    pub date_column: Option<ColumnRef>,
    /// How missing values are handled.
    #[config(default = "FillPolicy::None")]
    pub fill: FillPolicy,
    /// Past values the model sees per forecast.
    #[config(default = 12)]
    pub window: usize,
    /// Future values predicted per forecast (direct multi-step).
    #[config(default = 1)]
    pub horizon: usize,
    /// Fraction of the series, at its end, kept for testing.
    #[config(default = 0.2)]
    pub test_fraction: f64,
    /// Fraction just before the test part used for validation (0 for none).
    #[config(default = 0.1)]
    pub validation_fraction: f64,
    /// The target transforms asked for (log or Box-Cox, seasonal and first differences), each
    /// decided from the training part where the request leaves it open.
    #[config(default = "TransformRequest::auto()")]
    pub transform: TransformRequest,
    /// The transforms as decided and fitted by training, which forecasts invert; the identity
    /// until training fits them.
    #[config(default = "SeriesTransform::identity()")]
    pub fitted_transform: SeriesTransform,
    /// The scaling of the transformed series: its kind is a setting ([`SeriesConfig::with_scale`]); its numbers are fitted
    /// by training and recorded here, so that forecasts undo it with the same numbers.
    #[config(default = "Scaler::unfitted(SeriesConfig::DEFAULT_SCALE)")]
    pub scaler: Scaler,
    /// Which values the scaler is fitted on.
    #[config(default = "ScaleFit::Train")]
    pub scale_fit: ScaleFit,
    /// The season length for the seasonal-naive baseline (12 for monthly data).
    pub season: Option<usize>,
    /// The ridge penalty of the linear baseline (`λ·|β|²` added to its squared error over the
    /// training forecasts, in training units, the intercept unpenalised, as scikit-learn's
    /// `Ridge(alpha)`); `None` is ordinary least squares.
    pub linear_ridge: Option<f64>,
}

impl SeriesConfig {
    /// The scaling of a series unless asked otherwise: standard scaling of the transformed
    /// training part, chosen by measurement (docs/forecasting.md).
    pub const DEFAULT_SCALE: ScaleKind = ScaleKind::Standard;

    /// Scales the series with `kind` (fitted on the training part during training).
    pub fn with_scale(mut self, kind: ScaleKind) -> Self {
        self.scaler = Scaler::unfitted(kind);
        self
    }

    /// How to read this series' columns from a CSV file (with [`data::read_csv`], from any
    /// reader).
    pub fn csv_options(&self) -> SeriesCsvOptions {
        SeriesCsvOptions {
            column: self.column.clone(),
            features: self
                .features
                .iter()
                .chain(&self.future_features)
                .cloned()
                .collect(),
            date_column: self.date_column.clone(),
            fill: self.fill,
            parse_dates: !self.calendar.is_empty(),
        }
    }

    /// The inputs known ahead at each step: each future feature, and two per calendar feature.
    pub fn known_inputs(&self) -> usize {
        self.future_features.len() + 2 * self.calendar.len()
    }

    /// Values the model reads per step: the target's, each feature's, then the inputs known
    /// ahead and, when there are any, a flag that is 1 on the steps after the origin.
    pub fn input_features(&self) -> usize {
        let known = self.known_inputs();
        1 + self.features.len() + known + usize::from(known > 0)
    }

    /// Steps per model input: the window, and with inputs known ahead the horizon after it, on
    /// whose steps the target and the features read 0 (unknown) and the flag 1.
    pub fn steps(&self) -> usize {
        match self.known_inputs() {
            0 => self.window,
            _ => self.window + self.horizon,
        }
    }

    /// The window shape.
    pub fn windows(&self) -> WindowSpec {
        WindowSpec {
            window: self.window,
            horizon: self.horizon,
        }
    }
}

/// Where the training data comes from.
// A run holds one of these, built once: boxing the larger variant would save nothing that counts.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSource {
    /// The tutorial's synthetic set.
    Synthetic(SyntheticConfig),
    /// A series from a CSV file.
    Series(SeriesConfig),
}

/// The saved configuration of a run (`config.json` in the artifact directory).
#[derive(Config, Debug, PartialEq)]
pub struct RunConfig {
    /// Layout version of this file; bumped when a field changes meaning.
    #[config(default = 7)]
    pub format_version: u32,
    /// The network.
    pub model: RecurrentRegressorConfig,
    /// The data it was trained on.
    pub data: DataSource,
    /// How it was trained.
    pub training: TrainingConfig,
}

impl RunConfig {
    /// The `format_version` this build writes and reads.
    pub const FORMAT_VERSION: u32 = 7;

    /// The oldest `format_version` this build still reads: version 3 had no target transforms,
    /// so its series runs load with the identity transform; versions 3 and 4 had no feature
    /// columns, so their series runs read the target alone; versions before 6 had no quantiles,
    /// so their models predict points; versions before 7 had no inputs known ahead.
    pub const OLDEST_FORMAT_VERSION: u32 = 3;

    /// Upgrades a `config.json` of a version from [`RunConfig::OLDEST_FORMAT_VERSION`] on to this
    /// version, filling in what the older versions did without.
    pub(crate) fn upgrade(value: &mut serde_json::Value) {
        if let Some(series) = value
            .pointer_mut("/data/series")
            .and_then(|s| s.as_object_mut())
        {
            let request = serde_json::to_value(TransformRequest::identity());
            let fitted = serde_json::to_value(SeriesTransform::identity());
            if let (Ok(request), Ok(fitted)) = (request, fitted) {
                series.entry("transform").or_insert(request);
                series.entry("fitted_transform").or_insert(fitted);
            }
            for empty in ["features", "feature_scalers", "future_features", "calendar"] {
                series
                    .entry(empty)
                    .or_insert(serde_json::Value::Array(Vec::new()));
            }
        }
        if let Some(model) = value.get_mut("model").and_then(|m| m.as_object_mut()) {
            model
                .entry("quantiles")
                .or_insert(serde_json::Value::Array(Vec::new()));
        }
        value["format_version"] = serde_json::Value::from(Self::FORMAT_VERSION);
    }

    /// The Keras tutorial: `LSTM(50, relu) + Dense(1)` on `np.random.seed(0); randn(100, 10, 1)`,
    /// trained with the default [`TrainingConfig`].
    pub fn tutorial() -> Self {
        Self::synthetic(SyntheticConfig::new())
    }

    /// A run on synthetic data, with a model whose inputs and outputs fit it.
    pub fn synthetic(data: SyntheticConfig) -> Self {
        let model = RecurrentRegressorConfig::new()
            .with_input_features(data.features)
            .with_outputs(data.features);
        Self::new(model, DataSource::Synthetic(data), TrainingConfig::new())
    }

    /// A run on a series, with a model that reads the target and each feature per step and
    /// predicts the horizon, trained with [`TrainingConfig::for_series`].
    pub fn series(series: SeriesConfig) -> Self {
        let model = RecurrentRegressorConfig::new()
            .with_input_features(series.input_features())
            .with_outputs(series.horizon);
        Self::new(
            model,
            DataSource::Series(series),
            TrainingConfig::for_series(),
        )
    }

    /// The same run with another network (its inputs and outputs must still fit the data).
    pub fn with_model(mut self, model: RecurrentRegressorConfig) -> Self {
        self.model = model;
        self
    }

    /// The same run with other training settings.
    pub fn with_training(mut self, training: TrainingConfig) -> Self {
        self.training = training;
        self
    }

    /// The same run predicting the quantiles `levels` of every forecast step instead of one
    /// value, trained with the pinball loss (a series run only). The levels are sorted and the
    /// median is added when missing, because it is the point forecast that the metrics and
    /// plots use; an empty list goes back to point forecasts. [`check`](Self::check) refuses a
    /// level outside (0, 1) or one given twice. The levels live in the model configuration:
    /// call this after [`with_model`](Self::with_model), which replaces them.
    pub fn with_quantiles(mut self, mut levels: Vec<f64>) -> Self {
        if !levels.is_empty() && !levels.contains(&0.5) {
            levels.push(0.5);
        }
        levels.sort_by(f64::total_cmp);
        self.model.outputs = self.values_predicted() * levels.len().max(1);
        self.model.quantiles = levels;
        self
    }

    /// The quantile levels the model predicts, ascending; empty for point forecasts.
    pub fn quantiles(&self) -> &[f64] {
        &self.model.quantiles
    }

    /// Values each sequence predicts: the synthetic data's features, or the series' horizon.
    fn values_predicted(&self) -> usize {
        match &self.data {
            DataSource::Synthetic(synthetic) => synthetic.features,
            DataSource::Series(series) => series.horizon,
        }
    }

    /// Checks that the model's inputs and outputs fit the data, and its quantiles.
    pub fn check(&self) -> crate::Result<()> {
        let levels = &self.model.quantiles;
        if !levels.is_empty() && matches!(self.data, DataSource::Synthetic(_)) {
            return Err(Error::QuantilesOnSyntheticData);
        }
        if let Some(&level) = levels.iter().find(|&&level| !(level > 0.0 && level < 1.0)) {
            return Err(Error::QuantileOutOfRange { level });
        }
        if let Some(pair) = levels.windows(2).find(|pair| pair[0] >= pair[1]) {
            return Err(match pair[0] == pair[1] {
                true => Error::RepeatedQuantile { level: pair[0] },
                false => Error::QuantilesNotAscending {
                    levels: levels.clone(),
                },
            });
        }
        if let DataSource::Series(series) = &self.data {
            if !series.calendar.is_empty() && series.date_column.is_none() {
                return Err(Error::CalendarWithoutDates);
            }
            let calendar = &series.calendar;
            if let Some(index) = (1..calendar.len()).find(|&i| calendar[..i].contains(&calendar[i]))
            {
                return Err(Error::RepeatedCalendarFeature {
                    feature: calendar[index].name(),
                });
            }
        }
        let features = match &self.data {
            DataSource::Synthetic(synthetic) => synthetic.features,
            DataSource::Series(series) => series.input_features(),
        };
        let outputs = self.values_predicted() * levels.len().max(1);
        let fits = |what, found, expected| match found == expected {
            true => Ok(()),
            false => Err(Error::ModelDoesNotFitData {
                what,
                found,
                expected,
            }),
        };
        fits("inputs per step", self.model.input_features, features)?;
        fits("outputs", self.model.outputs, outputs)
    }

    /// Why a run saved as `saved` cannot be continued as `self` asks, naming the first setting
    /// that differs and both values ([`Error::ResumeConflict`]); `None` when they agree. The
    /// number of epochs, the learning rate, early stopping and the backend may change on resume;
    /// everything else defines the model or the data and must not.
    pub fn resume_conflict(&self, saved: &RunConfig) -> Option<Error> {
        let strip = |config: &RunConfig| {
            let mut value = serde_json::to_value(config).unwrap_or_default();
            if let Some(training) = value.get_mut("training").and_then(|t| t.as_object_mut()) {
                for free in ["epochs", "learning_rate", "early_stopping", "backend"] {
                    training.remove(free);
                }
            }
            value
        };
        // Other feature columns are named as such, not by the scalers fitted to them (whose key
        // sorts first); the same for quantiles and outputs.
        let without_fitted = |config: &RunConfig| {
            let mut value = strip(config);
            if let Some(series) = value
                .pointer_mut("/data/series")
                .and_then(|s| s.as_object_mut())
            {
                series.remove("feature_scalers");
            }
            // Other quantiles are named as such, not by the number of outputs they make.
            if let Some(model) = value.get_mut("model").and_then(|m| m.as_object_mut()) {
                model.remove("outputs");
            }
            value
        };
        first_difference("", &without_fitted(saved), &without_fitted(self))
            .or_else(|| first_difference("", &strip(saved), &strip(self)))
            .map(|(setting, saved, asked)| Error::ResumeConflict {
                setting,
                saved,
                asked,
            })
    }
}

/// The first place where `a` and `b` differ: its dotted path and both values as JSON.
fn first_difference(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(left), Value::Object(right)) => {
            let mut keys: Vec<&String> = left.keys().chain(right.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| {
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                first_difference(
                    &inner,
                    left.get(key).unwrap_or(&Value::Null),
                    right.get(key).unwrap_or(&Value::Null),
                )
            })
        }
        _ if a == b => None,
        _ => Some((path.to_string(), a.to_string(), b.to_string())),
    }
}
