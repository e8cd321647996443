//! Forecast accuracy in the series' own units, for the model and its baselines: the linear
//! regression on the same inputs, and the naive and seasonal-naive forecasts; for a model with
//! quantiles, how often its intervals hold the targets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Error measures of one forecaster over the same targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute percentage error, in percent (infinite when a target is 0).
    pub mape: f64,
    /// Symmetric MAPE, `mean(2·|F−A| / (|A|+|F|))`, in percent (0 where both are 0).
    pub smape: f64,
    /// For a forecaster with quantiles, each central interval's nominal level (`"0.8"` for the
    /// 0.1 and 0.9 quantiles) → the fraction of targets inside it, bounds included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<BTreeMap<String, f64>>,
    /// The same intervals' mean width, in the series' units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<BTreeMap<String, f64>>,
    /// The mean pinball loss over every target and quantile, in the series' units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinball: Option<f64>,
}

/// One forecaster's quantiles of the same targets: `levels` ascending, and for each target the
/// value predicted at each level (`[targets][levels]`).
#[derive(Clone, Copy, Debug)]
pub struct QuantilePredictions<'a> {
    /// The levels, ascending.
    pub levels: &'a [f64],
    /// Per target, one value per level.
    pub values: &'a [Vec<f64>],
}

/// The central intervals among `levels`: each pair of levels `lo < 0.5 < hi` with
/// `lo + hi = 1`, as (index of `lo`, index of `hi`, nominal level `hi − lo`), widest first.
pub fn central_intervals(levels: &[f64]) -> Vec<(usize, usize, f64)> {
    levels
        .iter()
        .enumerate()
        .filter(|(_, &lo)| lo < 0.5)
        .filter_map(|(low, &lo)| {
            let high = levels.iter().position(|&hi| (lo + hi - 1.0).abs() < 1e-9)?;
            Some((low, high, ((levels[high] - lo) * 1e9).round() / 1e9))
        })
        .collect()
}

/// The key of a nominal level in `metrics.json` (`"0.8"`).
pub fn interval_key(nominal: f64) -> String {
    nominal.to_string()
}

/// Adds to `scores` the coverage and mean width of each central interval of `quantiles` and
/// their mean pinball loss, all against `actual` (one target per row of `quantiles.values`).
pub fn with_intervals(
    mut scores: Scores,
    actual: &[f64],
    quantiles: QuantilePredictions,
) -> Scores {
    assert_eq!(
        actual.len(),
        quantiles.values.len(),
        "one set of quantiles per target"
    );
    let n = actual.len() as f64;
    let mut coverage = BTreeMap::new();
    let mut width = BTreeMap::new();
    for (low, high, nominal) in central_intervals(quantiles.levels) {
        let inside = actual
            .iter()
            .zip(quantiles.values)
            .filter(|(&a, q)| q[low] <= a && a <= q[high])
            .count();
        let spread: f64 = quantiles.values.iter().map(|q| q[high] - q[low]).sum();
        coverage.insert(interval_key(nominal), inside as f64 / n);
        width.insert(interval_key(nominal), spread / n);
    }
    let pinball: f64 = actual
        .iter()
        .zip(quantiles.values)
        .flat_map(|(&a, q)| {
            quantiles.levels.iter().zip(q).map(move |(&tau, &value)| {
                let error = a - value;
                if error >= 0.0 {
                    tau * error
                } else {
                    (tau - 1.0) * error
                }
            })
        })
        .sum();
    scores.coverage = Some(coverage);
    scores.width = Some(width);
    scores.pinball = Some(pinball / (n * quantiles.levels.len() as f64));
    scores
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
        coverage: None,
        width: None,
        pinball: None,
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

/// The metrics as a table for the terminal; for a model with quantiles, a second table of its
/// intervals (nominal level, coverage, mean width) and its pinball loss.
pub fn table(report: &MetricsReport) -> String {
    let mut rows = vec![("model", &report.model), ("naive", &report.naive)];
    if let Some(seasonal) = &report.seasonal_naive {
        rows.push(("seasonal naive", seasonal));
    }
    rows.push(("linear", &report.linear));
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
    let model = &report.model;
    if let (Some(coverage), Some(width)) = (&model.coverage, &model.width) {
        text.push_str(&format!(
            "\n{:<16}{:>12}{:>12}{:>12}\n",
            "interval", "nominal", "coverage", "mean width"
        ));
        // Widest first, as the plot's bands are drawn.
        for (key, inside) in coverage.iter().rev() {
            let nominal: f64 = key.parse().unwrap_or(f64::NAN);
            text.push_str(&format!(
                "{:<16}{:>11.1}%{:>11.1}%{:>12.3}\n",
                format!("model {key}"),
                100.0 * nominal,
                100.0 * inside,
                width.get(key).copied().unwrap_or(f64::NAN)
            ));
        }
    }
    if let Some(pinball) = model.pinball {
        text.push_str(&format!(
            "mean pinball loss of the quantiles: {pinball:.3}\n"
        ));
    }
    text
}

/// Each horizon step's RMSE, model against the baselines (`per_step[0]` scores the first
/// step), as a table for the terminal.
pub fn step_table(per_step: &[MetricsReport]) -> String {
    let seasonal = per_step.iter().all(|r| r.seasonal_naive.is_some());
    let mut text = format!("{:<16}{:>12}{:>12}", "RMSE by step", "model", "naive");
    if seasonal {
        text.push_str(&format!("{:>16}", "seasonal naive"));
    }
    text.push_str(&format!("{:>12}\n", "linear"));
    for (step, report) in per_step.iter().enumerate() {
        text.push_str(&format!(
            "{:<16}{:>12.3}{:>12.3}",
            format!("step {}", step + 1),
            report.model.rmse,
            report.naive.rmse
        ));
        if let (true, Some(s)) = (seasonal, &report.seasonal_naive) {
            text.push_str(&format!("{:>16.3}", s.rmse));
        }
        text.push_str(&format!("{:>12.3}\n", report.linear.rmse));
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
    fn coverage_width_and_pinball_by_hand() {
        let levels = [0.1, 0.5, 0.9];
        // Targets 5, 10 and 0 against intervals [4, 6], [0, 8] and [1, 3]: the first holds
        // its target, the second does not (above), the third does not (below).
        let values = vec![
            vec![4.0, 5.0, 6.0],
            vec![0.0, 4.0, 8.0],
            vec![1.0, 2.0, 3.0],
        ];
        let actual = [5.0, 10.0, 0.0];
        let quantiles = QuantilePredictions {
            levels: &levels,
            values: &values,
        };
        let s = with_intervals(scores(&actual, &[5.0, 4.0, 2.0]), &actual, quantiles);
        let coverage = s.coverage.expect("quantile run");
        assert_eq!(coverage.len(), 1);
        assert_eq!(coverage["0.8"], 1.0 / 3.0);
        assert_eq!(
            s.width.expect("quantile run")["0.8"],
            (2.0 + 8.0 + 2.0) / 3.0
        );
        // Pinball per target and level (y − q ≥ 0: τ·e, else (τ − 1)·e):
        // target 5: 0.1·1 + 0 + 0.1·1 = 0.2; target 10: 0.1·10 + 0.5·6 + 0.9·2 = 5.8;
        // target 0: 0.9·1 + 0.5·2 + 0.1·3 = 2.2.
        let expected = (0.2 + 5.8 + 2.2) / 9.0;
        assert!((s.pinball.expect("quantile run") - expected).abs() < 1e-12);
        // The bounds are inside.
        let edge = with_intervals(
            scores(&[4.0], &[5.0]),
            &[4.0],
            QuantilePredictions {
                levels: &levels,
                values: &values[..1],
            },
        );
        assert_eq!(edge.coverage.expect("quantile run")["0.8"], 1.0);
    }

    #[test]
    fn central_intervals_pair_symmetric_levels() {
        assert_eq!(
            central_intervals(&[0.05, 0.1, 0.5, 0.9, 0.95]),
            vec![(0, 4, 0.9), (1, 3, 0.8)]
        );
        assert_eq!(central_intervals(&[0.1, 0.5, 0.8]), vec![]);
        assert_eq!(interval_key(0.8), "0.8");
    }

    #[test]
    fn point_scores_have_no_interval_keys_in_json() {
        let json = serde_json::to_value(scores(&[1.0], &[2.0])).expect("serialisable");
        let mut keys: Vec<&String> = json.as_object().expect("an object").keys().collect();
        keys.sort();
        assert_eq!(keys, ["mae", "mape", "rmse", "smape"]);
    }

    #[test]
    fn table_lists_every_forecaster() {
        let s = scores(&[1.0], &[1.5]);
        let report = MetricsReport {
            model: s.clone(),
            linear: s.clone(),
            naive: s.clone(),
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
