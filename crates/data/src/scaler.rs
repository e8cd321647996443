//! Scaling a series into the range the network trains on, and back.

use serde::{Deserialize, Serialize};

/// Which scaling to fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ScaleKind {
    /// To [0, 1] over the fitted values.
    #[default]
    #[cfg_attr(feature = "clap", value(name = "minmax"))]
    MinMax,
    /// To zero mean and unit (population) standard deviation.
    Standard,
    /// Not at all.
    None,
}

/// A fitted, invertible affine scaling `scaled = (value - offset) / scale`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// What was fitted.
    pub kind: ScaleKind,
    /// Subtracted first: the minimum, the mean, or 0.
    pub offset: f64,
    /// Divided by next: the range, the standard deviation, or 1 (1 as well for a constant series).
    pub scale: f64,
}

impl Scaler {
    /// A scaler of `kind` that is not fitted yet: the identity until [`Scaler::fit`] replaces it.
    /// A run's configuration holds one of these until training fits it on the training part.
    pub fn unfitted(kind: ScaleKind) -> Self {
        Self {
            kind,
            offset: 0.0,
            scale: 1.0,
        }
    }

    /// Fits `kind` to `values` (the training part only, so nothing leaks from later data).
    pub fn fit(kind: ScaleKind, values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let (offset, spread) = match kind {
            ScaleKind::MinMax => {
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (min, max - min)
            }
            ScaleKind::Standard => {
                let mean = values.iter().sum::<f64>() / n;
                let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                (mean, variance.sqrt())
            }
            ScaleKind::None => (0.0, 1.0),
        };
        let offset = if offset.is_finite() { offset } else { 0.0 };
        let scale = if spread.is_finite() && spread > 0.0 {
            spread
        } else {
            1.0
        };
        Self {
            kind,
            offset,
            scale,
        }
    }

    /// Original units to training units.
    pub fn transform(&self, value: f64) -> f64 {
        (value - self.offset) / self.scale
    }

    /// Training units back to original units.
    pub fn inverse(&self, scaled: f64) -> f64 {
        scaled * self.scale + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_maps_the_fitted_range_to_unit_interval() {
        let scaler = Scaler::fit(ScaleKind::MinMax, &[2.0, 6.0, 4.0]);
        assert_eq!((scaler.transform(2.0), scaler.transform(6.0)), (0.0, 1.0));
        assert_eq!(scaler.transform(8.0), 1.5, "later values may leave [0, 1]");
    }

    #[test]
    fn standard_uses_population_deviation() {
        let scaler = Scaler::fit(ScaleKind::Standard, &[1.0, 3.0]);
        assert_eq!((scaler.offset, scaler.scale), (2.0, 1.0));
    }

    #[test]
    fn inverse_undoes_transform() {
        for kind in [ScaleKind::MinMax, ScaleKind::Standard, ScaleKind::None] {
            let scaler = Scaler::fit(kind, &[112.0, 118.0, 132.0, 129.0]);
            for value in [104.0, 112.0, 622.0, -3.5] {
                let back = scaler.inverse(scaler.transform(value));
                assert!(
                    (back - value).abs() <= 1e-12 * value.abs(),
                    "{kind:?}: {back} vs {value}"
                );
            }
        }
    }

    #[test]
    fn constant_series_does_not_divide_by_zero() {
        let scaler = Scaler::fit(ScaleKind::MinMax, &[5.0, 5.0]);
        assert_eq!(scaler.transform(5.0), 0.0);
        assert_eq!(scaler.inverse(1.0), 6.0);
    }
}
