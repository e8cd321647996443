//! Target transforms that make a series stationary before the model sees it, and their exact
//! inverses: a power transform (log or Box-Cox) for a season whose swing grows with the level,
//! a seasonal difference for the season, first differences for a trend.
//!
//! The transforms apply in that order: power, seasonal difference (lag `season`), then first
//! differences. A forecast made at origin `t` (its first predicted index) is inverted from the
//! observed values before `t` alone, accumulating the predicted differences step by step.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The power transform applied first.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PowerTransform {
    /// The values as they are.
    None,
    /// The natural logarithm (values must be positive).
    Log,
    /// Box-Cox, `(x^λ − 1) / λ` (`ln x` at λ = 0); values must be positive.
    BoxCox {
        /// The exponent λ, fitted on the training part by maximum likelihood.
        lambda: f64,
    },
}

impl PowerTransform {
    /// `value` in transformed units.
    pub fn apply(&self, value: f64) -> f64 {
        match *self {
            PowerTransform::None => value,
            PowerTransform::Log => value.ln(),
            PowerTransform::BoxCox { lambda: 0.0 } => value.ln(),
            PowerTransform::BoxCox { lambda } => (value.powf(lambda) - 1.0) / lambda,
        }
    }

    /// A transformed value back in the series' units. A Box-Cox value below the transform's
    /// range (`λ·y + 1 ≤ 0`, which only a forecast can reach) maps to 0.
    pub fn invert(&self, transformed: f64) -> f64 {
        match *self {
            PowerTransform::None => transformed,
            PowerTransform::Log => transformed.exp(),
            PowerTransform::BoxCox { lambda: 0.0 } => transformed.exp(),
            PowerTransform::BoxCox { lambda } => {
                (lambda * transformed + 1.0).max(0.0).powf(1.0 / lambda)
            }
        }
    }

    /// Whether the transform needs positive values.
    pub fn needs_positive(&self) -> bool {
        !matches!(self, PowerTransform::None)
    }
}

/// The power transform asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum PowerChoice {
    /// Decided from the training part: the logarithm when the spread grows with the level and
    /// every value is positive, nothing otherwise.
    #[default]
    Auto,
    /// No power transform.
    None,
    /// The natural logarithm.
    Log,
    /// Box-Cox with λ fitted on the training part.
    BoxCox,
}

/// The transforms asked for: each part is decided from the training part when `None` / `Auto`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformRequest {
    /// The power transform.
    pub power: PowerChoice,
    /// First differences to take (`None`: as many as a KPSS test asks for, at most 2).
    pub differences: Option<usize>,
    /// Whether to take a seasonal difference of lag `season` (`None`: when the seasonal
    /// strength is above 0.64; never without a season).
    pub seasonal_difference: Option<bool>,
}

impl TransformRequest {
    /// Everything decided from the data.
    pub fn auto() -> Self {
        Self::default()
    }

    /// No transform at all: the series as it is (the behaviour before transforms existed).
    pub fn identity() -> Self {
        Self {
            power: PowerChoice::None,
            differences: Some(0),
            seasonal_difference: Some(false),
        }
    }
}

/// The transforms of a run, fitted on its training part (recorded in `config.json`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesTransform {
    /// Applied first.
    pub power: PowerTransform,
    /// The lag of the seasonal difference, if one is taken.
    pub seasonal_lag: Option<usize>,
    /// First differences taken after it.
    pub differences: usize,
}

/// Why the transform was chosen: the statistics behind each automatic decision.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransformDecision {
    /// The slope of log spread against log level over the training part's seasons (or blocks of
    /// four values without a season), when the power transform was decided automatically: near
    /// 1 for a multiplicative series, near 0 for an additive one. `None` where it was not
    /// computed (a value not positive, too few blocks, or an explicit choice).
    pub spread_slope: Option<f64>,
    /// The seasonal strength `max(0, 1 − var(R) / var(S + R))` of a classical decomposition,
    /// when the seasonal difference was decided automatically.
    pub seasonal_strength: Option<f64>,
    /// The KPSS level-stationarity statistic before each automatic difference decision (5%
    /// critical value 0.463): one value per test, the last one below it unless the cap of 2
    /// differences was reached.
    pub kpss: Vec<f64>,
    /// For each KPSS test that found a trend, the variance of the differenced series over the
    /// variance before; the difference is taken only below [`MAX_DIFFERENCE_VARIANCE_RATIO`].
    pub variance_ratios: Vec<f64>,
}

/// The slope above which the logarithm is chosen: the spread grows at least half as fast as
/// the level, so a log (λ = 0) is nearer than none (λ = 1).
pub const LOG_SLOPE_THRESHOLD: f64 = 0.5;
/// The seasonal strength above which a seasonal difference is taken, as in R's
/// `feasts::unitroot_nsdiffs`.
pub const SEASONAL_STRENGTH_THRESHOLD: f64 = 0.64;
/// KPSS' 5% critical value for level stationarity (Kwiatkowski et al. 1992, table 1).
pub const KPSS_CRITICAL_5PCT: f64 = 0.463;
/// The largest variance ratio `var(Δy) / var(y)` at which a first difference is still taken.
/// The ratio is `2·(1 − ρ₁)` for lag-1 autocorrelation ρ₁: near 0 for a random walk, 2 for
/// white noise. Above 1.5 (ρ₁ < 0.25) the series is nearer noise around a slowly moving level
/// than a random walk, and a difference mostly adds noise (a first difference after a seasonal
/// one often does: the guard against over-differencing of Box-Jenkins practice).
pub const MAX_DIFFERENCE_VARIANCE_RATIO: f64 = 1.5;
/// The most first differences decided automatically (as `pmdarima.ndiffs`' default `max_d`).
pub const MAX_AUTO_DIFFERENCES: usize = 2;

/// A value a power transform cannot take.
#[derive(Debug, Error, PartialEq)]
#[error("the {transform} transform needs positive values, and value {index} (0-based) is {value}")]
pub struct NotPositive {
    /// `log` or `box-cox`.
    pub transform: &'static str,
    /// Index of the first value that is not positive.
    pub index: usize,
    /// That value.
    pub value: f64,
}

impl SeriesTransform {
    /// No transform.
    pub fn identity() -> Self {
        Self {
            power: PowerTransform::None,
            seasonal_lag: None,
            differences: 0,
        }
    }

    /// Resolves `request` for `values` (the whole series), deciding what it leaves open from
    /// `values[..train_end]` only. `season` is the season length, if the series has one.
    ///
    /// Refuses an explicit log or Box-Cox when a value of the series is not positive.
    pub fn decide(
        request: &TransformRequest,
        values: &[f64],
        train_end: usize,
        season: Option<usize>,
    ) -> Result<(Self, TransformDecision), NotPositive> {
        let train = &values[..train_end.min(values.len())];
        let mut decision = TransformDecision::default();
        let first_not_positive = first_not_positive(values);
        let refuse = |transform| match first_not_positive {
            Some((index, value)) => Err(NotPositive {
                transform,
                index,
                value,
            }),
            None => Ok(()),
        };
        let season = season.filter(|&season| season >= 2);
        let power = match request.power {
            PowerChoice::None => PowerTransform::None,
            PowerChoice::Log => {
                refuse("log")?;
                PowerTransform::Log
            }
            PowerChoice::BoxCox => {
                refuse("box-cox")?;
                PowerTransform::BoxCox {
                    lambda: box_cox_lambda(train),
                }
            }
            PowerChoice::Auto => {
                decision.spread_slope = match first_not_positive {
                    Some(_) => None,
                    None => spread_slope(train, season.unwrap_or(4)),
                };
                match decision.spread_slope {
                    Some(slope) if slope >= LOG_SLOPE_THRESHOLD => PowerTransform::Log,
                    _ => PowerTransform::None,
                }
            }
        };
        let powered: Vec<f64> = train.iter().map(|&v| power.apply(v)).collect();
        let seasonal_lag = match (request.seasonal_difference, season) {
            (Some(false), _) | (_, None) => None,
            (Some(true), Some(season)) => Some(season),
            (None, Some(season)) => {
                decision.seasonal_strength = seasonal_strength(&powered, season);
                decision
                    .seasonal_strength
                    .filter(|&strength| strength > SEASONAL_STRENGTH_THRESHOLD)
                    .map(|_| season)
            }
        };
        let mut stationary = match seasonal_lag {
            Some(lag) => difference(&powered, lag),
            None => powered,
        };
        let differences = match request.differences {
            Some(differences) => differences,
            None => {
                let mut differences = 0;
                while differences < MAX_AUTO_DIFFERENCES && stationary.len() >= 8 {
                    let statistic = kpss_level(&stationary);
                    decision.kpss.push(statistic);
                    if statistic <= KPSS_CRITICAL_5PCT {
                        break;
                    }
                    let differenced = difference(&stationary, 1);
                    let ratio = variance(&differenced) / variance(&stationary);
                    decision.variance_ratios.push(ratio);
                    // A NaN ratio (a constant series) takes no difference either.
                    if ratio.is_nan() || ratio >= MAX_DIFFERENCE_VARIANCE_RATIO {
                        break;
                    }
                    stationary = differenced;
                    differences += 1;
                }
                differences
            }
        };
        Ok((
            Self {
                power,
                seasonal_lag,
                differences,
            },
            decision,
        ))
    }

    /// The differencing lags in the order they are applied.
    fn lags(&self) -> impl Iterator<Item = usize> + '_ {
        self.seasonal_lag
            .into_iter()
            .chain(std::iter::repeat_n(1, self.differences))
    }

    /// Values lost at the start of the series: index `i` of the transformed series is defined
    /// from this index on.
    pub fn warm_up(&self) -> usize {
        self.lags().sum()
    }

    /// Whether every value of `values` can be transformed.
    pub fn check(&self, values: &[f64]) -> Result<(), NotPositive> {
        let transform = match self.power {
            PowerTransform::None => return Ok(()),
            PowerTransform::Log => "log",
            PowerTransform::BoxCox { .. } => "box-cox",
        };
        match first_not_positive(values) {
            Some((index, value)) => Err(NotPositive {
                transform,
                index,
                value,
            }),
            None => Ok(()),
        }
    }

    /// Every stage of the transform over `values`: stage 0 is the power-transformed series,
    /// stage `k` the one after the `k`-th difference. A stage's values before its warm-up are
    /// NaN; value `i` of every stage depends only on `values[..=i]`.
    pub fn stages(&self, values: &[f64]) -> Stages {
        let mut stages = vec![values
            .iter()
            .map(|&v| self.power.apply(v))
            .collect::<Vec<_>>()];
        for lag in self.lags() {
            let previous = stages.last().expect("stage 0 exists");
            let next = (0..previous.len())
                .map(|i| match i.checked_sub(lag) {
                    Some(back) => previous[i] - previous[back],
                    None => f64::NAN,
                })
                .collect();
            stages.push(next);
        }
        Stages {
            transform: *self,
            stages,
        }
    }
}

/// The stages of a transformed series ([`SeriesTransform::stages`]), for inverting forecasts.
#[derive(Clone, Debug, PartialEq)]
pub struct Stages {
    transform: SeriesTransform,
    stages: Vec<Vec<f64>>,
}

impl Stages {
    /// The fully transformed series (NaN before the warm-up).
    pub fn transformed(&self) -> &[f64] {
        self.stages.last().expect("stage 0 exists")
    }

    /// Inverts `predicted`, the transformed values at `origin`, `origin + 1`, ..., into the
    /// series' units, using only the observed values before `origin` and the predictions
    /// themselves: each difference is undone by adding the value one lag back, which is an
    /// observed one when it lies before `origin` and an already inverted prediction otherwise.
    ///
    /// `origin` must be at least the warm-up and at most the series' length.
    pub fn invert(&self, origin: usize, predicted: &[f64]) -> Vec<f64> {
        let lags: Vec<usize> = self.transform.lags().collect();
        let mut current = predicted.to_vec();
        for (stage, &lag) in lags.iter().enumerate().rev() {
            let below = &self.stages[stage];
            let mut undone: Vec<f64> = Vec::with_capacity(current.len());
            for (step, &value) in current.iter().enumerate() {
                let back = origin + step - lag;
                let base = if back < origin {
                    below[back]
                } else {
                    undone[back - origin]
                };
                undone.push(value + base);
            }
            current = undone;
        }
        current
            .into_iter()
            .map(|value| self.transform.power.invert(value))
            .collect()
    }
}

/// `values[i] − values[i − lag]` for every `i ≥ lag`.
pub fn difference(values: &[f64], lag: usize) -> Vec<f64> {
    (lag..values.len())
        .map(|i| values[i] - values[i - lag])
        .collect()
}

/// The index and value of the first value that is not positive, if any.
fn first_not_positive(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .enumerate()
        .find(|(_, value)| **value <= 0.0)
        .map(|(index, value)| (index, *value))
}

/// The population variance of `values`.
fn variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
}

/// The Box-Cox λ that maximises the profile log-likelihood of `values` (all positive), as
/// `scipy.stats.boxcox` fits it: `llf(λ) = (λ − 1)·Σ ln x − n/2 · ln σ²(y_λ)` with σ² the
/// population variance of the transformed values, searched over [−2, 2].
pub fn box_cox_lambda(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let log_sum: f64 = values.iter().map(|v| v.ln()).sum();
    let llf = |lambda: f64| {
        let power = PowerTransform::BoxCox { lambda };
        let transformed: Vec<f64> = values.iter().map(|&v| power.apply(v)).collect();
        let mean = transformed.iter().sum::<f64>() / n;
        let variance = transformed.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n;
        (lambda - 1.0) * log_sum - n / 2.0 * variance.ln()
    };
    golden_section_max(llf, -2.0, 2.0, 1e-10)
}

/// The maximum of a unimodal `f` on `[low, high]`, to `tolerance`.
fn golden_section_max(f: impl Fn(f64) -> f64, mut low: f64, mut high: f64, tolerance: f64) -> f64 {
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = high - ratio * (high - low);
    let mut b = low + ratio * (high - low);
    let (mut fa, mut fb) = (f(a), f(b));
    while high - low > tolerance {
        if fa > fb {
            high = b;
            b = a;
            fb = fa;
            a = high - ratio * (high - low);
            fa = f(a);
        } else {
            low = a;
            a = b;
            fa = fb;
            b = low + ratio * (high - low);
            fb = f(b);
        }
    }
    (low + high) / 2.0
}

/// The least-squares slope of log standard deviation on log mean over consecutive blocks of
/// `block` values (the idea behind Guerrero's choice of λ, which is `1 − slope`). `None` with
/// fewer than three complete blocks or a block without spread.
pub fn spread_slope(values: &[f64], block: usize) -> Option<f64> {
    let block = block.max(2);
    let points: Vec<(f64, f64)> = values
        .chunks_exact(block)
        .map(|chunk| {
            let n = chunk.len() as f64;
            let mean = chunk.iter().sum::<f64>() / n;
            let variance = chunk.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (mean.ln(), variance.sqrt().ln())
        })
        .collect();
    if points.len() < 3 || points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The seasonal strength of `values` with season `season`, from a classical additive
/// decomposition (centred moving-average trend, per-phase mean of the detrended values):
/// `max(0, 1 − var(R) / var(S + R))` (Wang, Smith & Hyndman 2006). `None` with fewer than two
/// complete seasons.
pub fn seasonal_strength(values: &[f64], season: usize) -> Option<f64> {
    let n = values.len();
    if season < 2 || n < 2 * season + 1 {
        return None;
    }
    // A centred moving average of length `season` (2 × season for an even season).
    let half = season / 2;
    let trend: Vec<Option<f64>> = (0..n)
        .map(|i| {
            if i < half || i + half >= n {
                return None;
            }
            let window = &values[i - half..=i + half];
            Some(if season.is_multiple_of(2) {
                let inner: f64 = window[1..window.len() - 1].iter().sum();
                (inner + 0.5 * (window[0] + window[window.len() - 1])) / season as f64
            } else {
                window.iter().sum::<f64>() / season as f64
            })
        })
        .collect();
    let detrended: Vec<Option<f64>> = values
        .iter()
        .zip(&trend)
        .map(|(v, t)| t.map(|t| v - t))
        .collect();
    let mut phase_means: Vec<f64> = (0..season)
        .map(|phase| {
            let phase_values: Vec<f64> = detrended
                .iter()
                .skip(phase)
                .step_by(season)
                .flatten()
                .copied()
                .collect();
            phase_values.iter().sum::<f64>() / phase_values.len().max(1) as f64
        })
        .collect();
    let centre = phase_means.iter().sum::<f64>() / season as f64;
    phase_means.iter_mut().for_each(|m| *m -= centre);
    let mut remainder = Vec::new();
    let mut seasonal_plus_remainder = Vec::new();
    for (i, value) in detrended.iter().enumerate() {
        if let Some(value) = value {
            remainder.push(value - phase_means[i % season]);
            seasonal_plus_remainder.push(*value);
        }
    }
    let variance = |xs: &[f64]| {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64
    };
    let total = variance(&seasonal_plus_remainder);
    (total > 0.0).then(|| (1.0 - variance(&remainder) / total).max(0.0))
}

/// The KPSS statistic for level stationarity (Kwiatkowski, Phillips, Schmidt & Shin 1992):
/// `Σ S_t² / (n² · σ̂²)` with `S_t` the partial sums of the demeaned series and σ̂² the
/// Newey-West long-run variance with `⌊4·(n/100)^¼⌋` lags (the "short" lag of R's
/// `tseries::kpss.test`, which `pmdarima.ndiffs` uses).
pub fn kpss_level(values: &[f64]) -> f64 {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let residuals: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let mut partial = 0.0;
    let mut sum_squares = 0.0;
    for residual in &residuals {
        partial += residual;
        sum_squares += partial * partial;
    }
    let lags = (4.0 * (n as f64 / 100.0).powf(0.25)).floor() as usize;
    let autocovariance = |lag: usize| {
        residuals[lag..]
            .iter()
            .zip(&residuals)
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / n as f64
    };
    let mut long_run = autocovariance(0);
    for lag in 1..=lags.min(n - 1) {
        let weight = 1.0 - lag as f64 / (lags as f64 + 1.0);
        long_run += 2.0 * weight * autocovariance(lag);
    }
    if long_run <= 0.0 {
        return 0.0;
    }
    sum_squares / (n as f64 * n as f64 * long_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AIR: [f64; 24] = [
        112.0, 118.0, 132.0, 129.0, 121.0, 135.0, 148.0, 148.0, 136.0, 119.0, 104.0, 118.0, 115.0,
        126.0, 141.0, 135.0, 125.0, 149.0, 170.0, 170.0, 158.0, 133.0, 114.0, 140.0,
    ];

    fn every_transform() -> Vec<SeriesTransform> {
        let mut all = Vec::new();
        for power in [
            PowerTransform::None,
            PowerTransform::Log,
            PowerTransform::BoxCox { lambda: 0.148 },
            PowerTransform::BoxCox { lambda: 0.0 },
            PowerTransform::BoxCox { lambda: -0.7 },
        ] {
            for seasonal_lag in [None, Some(12), Some(4)] {
                for differences in 0..=2 {
                    all.push(SeriesTransform {
                        power,
                        seasonal_lag,
                        differences,
                    });
                }
            }
        }
        all
    }

    #[test]
    fn power_transforms_round_trip() {
        for transform in every_transform() {
            for value in [0.01, 1.0, 112.0, 622.0, 1e5] {
                let back = transform.power.invert(transform.power.apply(value));
                assert!(
                    (back - value).abs() <= 1e-12 * value,
                    "{transform:?}: {back} vs {value}"
                );
            }
        }
    }

    #[test]
    fn inverting_the_true_differences_gives_the_series_back() {
        for transform in every_transform() {
            let stages = transform.stages(&AIR);
            let transformed = stages.transformed();
            for origin in transform.warm_up()..AIR.len() {
                let horizon = (AIR.len() - origin).min(15);
                let back = stages.invert(origin, &transformed[origin..origin + horizon]);
                for (step, value) in back.iter().enumerate() {
                    let expected = AIR[origin + step];
                    assert!(
                        (value - expected).abs() <= 1e-12 * expected,
                        "{transform:?} origin {origin} step {step}: {value} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn inversion_reads_nothing_at_or_after_the_origin() {
        let transform = SeriesTransform {
            power: PowerTransform::Log,
            seasonal_lag: Some(4),
            differences: 2,
        };
        let origin = 14;
        let predicted = [0.01, -0.02, 0.03, 0.0, 0.05, -0.01, 0.02];
        let reference = transform.stages(&AIR).invert(origin, &predicted);
        let mut changed = AIR;
        for value in &mut changed[origin..] {
            *value *= 3.0;
        }
        assert_eq!(
            transform.stages(&changed).invert(origin, &predicted),
            reference
        );
        changed[origin - 1] *= 3.0;
        assert_ne!(
            transform.stages(&changed).invert(origin, &predicted),
            reference
        );
    }

    #[test]
    fn multi_step_inversion_accumulates_predictions() {
        // First differences of 1, 2, 3 after an observed 10: 11, 13, 16.
        let transform = SeriesTransform {
            power: PowerTransform::None,
            seasonal_lag: None,
            differences: 1,
        };
        let stages = transform.stages(&[4.0, 7.0, 10.0]);
        assert_eq!(stages.invert(3, &[1.0, 2.0, 3.0]), vec![11.0, 13.0, 16.0]);
        // A seasonal difference of lag 2: steps 0 and 1 add the observed season, steps 2 and 3
        // the predicted one.
        let transform = SeriesTransform {
            power: PowerTransform::None,
            seasonal_lag: Some(2),
            differences: 0,
        };
        let stages = transform.stages(&[4.0, 7.0, 10.0, 20.0]);
        assert_eq!(
            stages.invert(4, &[1.0, 2.0, 3.0, 4.0]),
            vec![11.0, 22.0, 14.0, 26.0]
        );
    }

    #[test]
    fn stages_are_nan_before_the_warm_up() {
        let transform = SeriesTransform {
            power: PowerTransform::None,
            seasonal_lag: Some(12),
            differences: 1,
        };
        assert_eq!(transform.warm_up(), 13);
        let stages = transform.stages(&AIR);
        assert!(stages.transformed()[..13].iter().all(|v| v.is_nan()));
        assert!(stages.transformed()[13..].iter().all(|v| v.is_finite()));
    }

    #[test]
    fn box_cox_refuses_values_that_are_not_positive() {
        let values = [3.0, 2.0, 0.0, -1.0];
        let request = TransformRequest {
            power: PowerChoice::BoxCox,
            ..TransformRequest::identity()
        };
        let error = SeriesTransform::decide(&request, &values, 4, None).expect_err("zero");
        assert_eq!(
            error.to_string(),
            "the box-cox transform needs positive values, and value 2 (0-based) is 0"
        );
        let log = TransformRequest {
            power: PowerChoice::Log,
            ..request
        };
        assert!(SeriesTransform::decide(&log, &values, 4, None).is_err());
        // Auto falls back to no power transform instead.
        let (auto, decision) =
            SeriesTransform::decide(&TransformRequest::auto(), &values, 4, None).expect("auto");
        assert_eq!(auto.power, PowerTransform::None);
        assert_eq!(decision.spread_slope, None);
    }

    #[test]
    fn box_cox_lambda_maximises_the_likelihood() {
        let lambda = box_cox_lambda(&AIR);
        let n = AIR.len() as f64;
        let log_sum: f64 = AIR.iter().map(|v| v.ln()).sum();
        let llf = |lambda: f64| {
            let y: Vec<f64> = AIR
                .iter()
                .map(|&v| PowerTransform::BoxCox { lambda }.apply(v))
                .collect();
            let mean = y.iter().sum::<f64>() / n;
            let variance = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            (lambda - 1.0) * log_sum - n / 2.0 * variance.ln()
        };
        for delta in [-1e-3, 1e-3] {
            assert!(
                llf(lambda) > llf(lambda + delta),
                "{lambda} is not a maximum"
            );
        }
    }

    #[test]
    fn differences_by_hand() {
        assert_eq!(difference(&[1.0, 4.0, 9.0, 16.0], 1), vec![3.0, 5.0, 7.0]);
        assert_eq!(difference(&[1.0, 4.0, 9.0, 16.0], 2), vec![8.0, 12.0]);
    }

    #[test]
    fn kpss_tells_a_trend_from_noise() {
        // A deterministic, zero-mean alternation is stationary; a ramp is not.
        let noise: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert!(kpss_level(&noise) < KPSS_CRITICAL_5PCT);
        let ramp: Vec<f64> = (0..100).map(f64::from).collect();
        assert!(kpss_level(&ramp) > KPSS_CRITICAL_5PCT);
    }

    #[test]
    fn seasonal_strength_of_a_pure_season_is_one() {
        let season: Vec<f64> = (0..48).map(|i| [1.0, 5.0, 2.0, 0.0][i % 4]).collect();
        let strength = seasonal_strength(&season, 4).expect("four seasons");
        assert!((strength - 1.0).abs() < 1e-12, "{strength}");
        let ramp: Vec<f64> = (0..48).map(f64::from).collect();
        assert_eq!(
            seasonal_strength(&ramp, 4),
            None,
            "no spread around the trend"
        );
        assert_eq!(seasonal_strength(&season[..8], 4), None, "too short");
    }

    #[test]
    fn spread_slope_sees_multiplicative_growth() {
        // The same season scaled by a growing level: spread proportional to level.
        let multiplicative: Vec<f64> = (0..60)
            .map(|i| (1.0 + (i / 4) as f64) * [1.0, 1.5, 0.8, 1.2][i % 4])
            .collect();
        let slope = spread_slope(&multiplicative, 4).expect("15 blocks");
        assert!((slope - 1.0).abs() < 1e-9, "{slope}");
        let additive: Vec<f64> = (0..60)
            .map(|i| 10.0 + i as f64 / 10.0 + [0.0, 0.5, -0.2, 0.2][i % 4])
            .collect();
        let slope = spread_slope(&additive, 4).expect("15 blocks");
        assert!(slope.abs() < 0.1, "{slope}");
    }
}
