//! The transforms' statistics against SciPy and statsmodels on AirPassengers; the reference
//! numbers and the script that made them are in `fixtures/`.

use data::transform::{box_cox_lambda, kpss_level};

const AIR: &str = include_str!("../../../examples/data/airpassengers.csv");
const REFERENCE: &str = include_str!("fixtures/transform_reference.json");

fn passengers() -> Vec<f64> {
    AIR.lines()
        .skip(1)
        .map(|line| {
            line.split(',')
                .nth(1)
                .expect("two columns")
                .parse()
                .expect("number")
        })
        .collect()
}

fn reference(path: &str) -> f64 {
    let json: serde_json::Value = serde_json::from_str(REFERENCE).expect("valid JSON");
    json.pointer(path)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no {path} in the reference"))
}

#[test]
fn box_cox_lambda_matches_scipy() {
    let values = passengers();
    for n in [24, 101, 144] {
        let expected = reference(&format!("/box_cox_lambda/{n}"));
        let lambda = box_cox_lambda(&values[..n]);
        // SciPy's Brent search stops at about 1.5e-8 in lambda.
        assert!(
            (lambda - expected).abs() < 1e-6,
            "first {n}: {lambda} vs SciPy's {expected}"
        );
    }
}

#[test]
fn kpss_matches_statsmodels() {
    let values = passengers();
    let log: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let seasonal: Vec<f64> = (12..101).map(|i| log[i] - log[i - 12]).collect();
    for (name, series) in [
        ("raw", &values),
        ("log", &log),
        ("seasonal_difference_of_log_101", &seasonal),
    ] {
        let expected = reference(&format!("/kpss/{name}"));
        let statistic = kpss_level(series);
        assert!(
            (statistic - expected).abs() <= 1e-10 * expected,
            "{name}: {statistic} vs statsmodels' {expected}"
        );
    }
}
