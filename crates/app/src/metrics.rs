//! Forecast accuracy in the series' own units, for the model and its baselines: the linear
//! regression on the same inputs, and the naive and seasonal-naive forecasts.

use serde::{Deserialize, Serialize};

/// Error measures of one forecaster over the same targets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute percentage error, in percent (infinite when a target is 0).
    pub mape: f64,
    /// Symmetric MAPE, `mean(2·|F−A| / (|A|+|F|))`, in percent (0 where both are 0).
    pub smape: f64,
}

/// `metrics.json`: the model against the baselines on the test part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// The trained model.
    pub model: Scores,
    /// Least squares on the model's inputs ([`crate::linear::LinearBaseline`]).
    pub linear: Scores,
    /// Last value repeated (persistence).
    pub naive: Scores,
    /// The value one season earlier; `null` without a season length.
    pub seasonal_naive: Option<Scores>,
    /// Forecast origins in the test part.
    pub forecasts: usize,
    /// Steps per forecast.
    pub horizon: usize,
    /// The season length used, if any.
    pub season: Option<usize>,
}

/// Scores `predicted` against `actual` (same length, at least one value).
pub fn scores(actual: &[f64], predicted: &[f64]) -> Scores {
    assert_eq!(actual.len(), predicted.len(), "one forecast per target");
    let n = actual.len() as f64;
    let mean = |f: &dyn Fn(f64, f64) -> f64| {
        actual
            .iter()
            .zip(predicted)
            .map(|(&a, &p)| f(a, p))
            .sum::<f64>()
            / n
    };
    Scores {
        rmse: mean(&|a, p| (p - a) * (p - a)).sqrt(),
        mae: mean(&|a, p| (p - a).abs()),
        mape: 100.0 * mean(&|a, p| (p - a).abs() / a.abs()),
        smape: 100.0
            * mean(&|a, p| {
                let denominator = a.abs() + p.abs();
                if denominator == 0.0 {
                    0.0
                } else {
                    2.0 * (p - a).abs() / denominator
                }
            }),
    }
}

/// Persistence: the last value before `origin`, for each of `horizon` steps.
pub fn naive_forecast(values: &[f64], origin: usize, horizon: usize) -> Vec<f64> {
    vec![values[origin - 1]; horizon]
}

/// Seasonal naive: each step takes the value one season (or whole seasons) earlier, never
/// after the origin. `None` when the series does not reach back that far.
pub fn seasonal_naive_forecast(
    values: &[f64],
    origin: usize,
    horizon: usize,
    season: usize,
) -> Option<Vec<f64>> {
    (0..horizon)
        .map(|step| {
            let back = season * (step / season + 1);
            (origin + step).checked_sub(back).map(|index| values[index])
        })
        .collect()
}

/// The metrics as a table for the terminal.
pub fn table(report: &MetricsReport) -> String {
    let mut rows = vec![("model", report.model), ("naive", report.naive)];
    if let Some(seasonal) = report.seasonal_naive {
        rows.push(("seasonal naive", seasonal));
    }
    rows.push(("linear", report.linear));
    let mut text = format!(
        "{:<16}{:>12}{:>12}{:>10}{:>10}\n",
        "", "RMSE", "MAE", "MAPE", "sMAPE"
    );
    for (name, s) in rows {
        text.push_str(&format!(
            "{name:<16}{:>12.3}{:>12.3}{:>9.2}%{:>9.2}%\n",
            s.rmse, s.mae, s.mape, s.smape
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_hand() {
        // Errors 1 and -3 on targets 2 and 4.
        let s = scores(&[2.0, 4.0], &[3.0, 1.0]);
        assert_eq!(s.rmse, 5.0_f64.sqrt());
        assert_eq!(s.mae, 2.0);
        assert_eq!(s.mape, 100.0 * (0.5 + 0.75) / 2.0);
        assert_eq!(s.smape, 100.0 * (2.0 / 5.0 + 6.0 / 5.0) / 2.0);
    }

    #[test]
    fn smape_of_zero_against_zero_is_zero() {
        assert_eq!(scores(&[0.0], &[0.0]).smape, 0.0);
        assert!(scores(&[0.0], &[1.0]).mape.is_infinite());
    }

    #[test]
    fn baselines_look_only_backwards() {
        let values: Vec<f64> = (0..30).map(f64::from).collect();
        assert_eq!(naive_forecast(&values, 20, 3), vec![19.0; 3]);
        // Season 4, origin 20: steps 0..4 take 16..19, step 4 wraps to one more season back.
        assert_eq!(
            seasonal_naive_forecast(&values, 20, 6, 4),
            Some(vec![16.0, 17.0, 18.0, 19.0, 16.0, 17.0])
        );
        assert_eq!(seasonal_naive_forecast(&values, 3, 1, 12), None);
    }

    #[test]
    fn table_lists_every_forecaster() {
        let s = scores(&[1.0], &[1.5]);
        let report = MetricsReport {
            model: s,
            linear: s,
            naive: s,
            seasonal_naive: Some(s),
            forecasts: 1,
            horizon: 1,
            season: Some(12),
        };
        let text = table(&report);
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.contains("seasonal naive"));
        assert!(text.lines().last().is_some_and(|l| l.starts_with("linear")));
        assert!(text.contains("0.500"));
    }
}
