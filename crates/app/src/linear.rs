//! The linear baseline: least-squares regression of each forecast step on exactly the inputs the
//! network sees (the same window of the same transformed, scaled values), fitted on the training
//! forecasts. On many real series a linear model on the same lags is as good as a recurrent
//! network; every report shows it so that the user can tell.

use data::SequenceItem;
use nalgebra::{DMatrix, SVD};

/// Training rows folded into the normal equations at a time: the rows are never all held as one
/// matrix, so a long series with a wide window costs `ROWS_PER_CHUNK × inputs` values, not
/// `samples × inputs`.
const ROWS_PER_CHUNK: usize = 4096;

/// Singular values of the normal equations below this fraction of the largest are treated as
/// zero: the fit is then the minimum-norm one, as for more inputs than training windows or a
/// constant input column. The Gram matrix squares the inputs' condition number, so this is
/// NumPy's `lstsq` cut-off (machine epsilon times the size) squared and then some.
const RELATIVE_CUTOFF: f64 = 1e-12;

/// A fitted linear forecaster: `steps = [inputs, 1] · coefficients`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearBaseline {
    /// `[inputs + 1, outputs]`: a row per input value of an item (in the item's order), then the
    /// intercept.
    coefficients: DMatrix<f64>,
}

impl LinearBaseline {
    /// Fits one least-squares regression per output on `items` (each with the same number of
    /// inputs and of targets, at least one item), with an intercept. `ridge` ≥ 0 adds
    /// `ridge · |β|²` (the intercept left out) to the squared error, in the items' units: 0 is
    /// ordinary least squares (minimum-norm when the inputs do not determine the fit).
    pub fn fit(items: &[SequenceItem], ridge: f64) -> Self {
        let first = items
            .first()
            .expect("the training part holds at least one forecast");
        let (inputs, outputs) = (first.input.len(), first.target.len());
        let width = inputs + 1;
        let mut gram = DMatrix::<f64>::zeros(width, width);
        let mut cross = DMatrix::<f64>::zeros(width, outputs);
        for chunk in items.chunks(ROWS_PER_CHUNK) {
            let design = DMatrix::from_fn(chunk.len(), width, |row, column| {
                chunk[row].input.get(column).copied().unwrap_or(1.0)
            });
            let targets = DMatrix::from_fn(chunk.len(), outputs, |row, column| {
                chunk[row].target[column]
            });
            gram += design.tr_mul(&design);
            cross += design.tr_mul(&targets);
        }
        for input in 0..inputs {
            gram[(input, input)] += ridge;
        }
        let svd = SVD::new(gram, true, true);
        let cutoff = RELATIVE_CUTOFF * svd.singular_values.max();
        let coefficients = svd
            .solve(&cross, cutoff)
            .expect("U and V were computed and the cut-off is not negative");
        Self { coefficients }
    }

    /// The forecast for one item's inputs (as many as the items it was fitted on).
    pub fn predict(&self, input: &[f64]) -> Vec<f64> {
        let inputs = self.coefficients.nrows() - 1;
        assert_eq!(input.len(), inputs, "the inputs the baseline was fitted on");
        (0..self.coefficients.ncols())
            .map(|output| {
                let column = self.coefficients.column(output);
                let intercept = column[inputs];
                input
                    .iter()
                    .zip(column.iter())
                    .fold(intercept, |sum, (x, beta)| sum + x * beta)
            })
            .collect()
    }

    /// The coefficient of input `input` for output `output`.
    pub fn coefficient(&self, input: usize, output: usize) -> f64 {
        self.coefficients[(input, output)]
    }

    /// The intercept of output `output`.
    pub fn intercept(&self, output: usize) -> f64 {
        self.coefficients[(self.coefficients.nrows() - 1, output)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(input: &[f64], target: &[f64]) -> SequenceItem {
        SequenceItem {
            input: input.to_vec(),
            target: target.to_vec(),
        }
    }

    /// Items of two inputs whose targets are exact linear functions of them.
    fn exact_items() -> Vec<SequenceItem> {
        (0..50)
            .map(|i| {
                let (a, b) = ((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos());
                item(&[a, b], &[2.0 * a - 3.0 * b + 0.5, -a + 4.0])
            })
            .collect()
    }

    #[test]
    fn recovers_exact_coefficients_for_every_output() {
        let fitted = LinearBaseline::fit(&exact_items(), 0.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(fitted.coefficient(0, 0), 2.0));
        assert!(close(fitted.coefficient(1, 0), -3.0));
        assert!(close(fitted.intercept(0), 0.5));
        assert!(close(fitted.coefficient(0, 1), -1.0));
        assert!(close(fitted.coefficient(1, 1), 0.0));
        assert!(close(fitted.intercept(1), 4.0));
        let steps = fitted.predict(&[1.0, 2.0]);
        assert!(
            close(steps[0], 2.0 - 6.0 + 0.5) && close(steps[1], 3.0),
            "{steps:?}"
        );
    }

    #[test]
    fn many_chunks_fit_as_one() {
        // More rows than one chunk: the normal equations are summed over the chunks.
        let items: Vec<SequenceItem> = (0..ROWS_PER_CHUNK * 2 + 17)
            .map(|i| {
                let x = (i as f64 * 0.013).sin();
                item(&[x], &[3.0 * x - 1.0 + 0.01 * (i as f64 * 1.7).cos()])
            })
            .collect();
        let fitted = LinearBaseline::fit(&items, 0.0);
        // The closed form of a one-input regression: slope cov(x, y) / var(x).
        let n = items.len() as f64;
        let mean = |f: &dyn Fn(&SequenceItem) -> f64| items.iter().map(f).sum::<f64>() / n;
        let (mx, my) = (mean(&|i| i.input[0]), mean(&|i| i.target[0]));
        let cov = mean(&|i| (i.input[0] - mx) * (i.target[0] - my));
        let var = mean(&|i| (i.input[0] - mx).powi(2));
        let slope = cov / var;
        assert!((fitted.coefficient(0, 0) - slope).abs() < 1e-9);
        assert!((fitted.intercept(0) - (my - slope * mx)).abs() < 1e-9);
    }

    #[test]
    fn ridge_shrinks_the_slope_but_not_the_intercept() {
        // Centred inputs: the ridge slope is Σxy / (Σx² + λ) and the intercept stays the mean.
        let xs = [-2.0, -1.0, 0.0, 1.0, 2.0];
        let items: Vec<SequenceItem> = xs.iter().map(|&x| item(&[x], &[2.0 * x + 7.0])).collect();
        let lambda = 10.0;
        let fitted = LinearBaseline::fit(&items, lambda);
        let sxy: f64 = xs.iter().map(|x| x * (2.0 * x + 7.0)).sum();
        let sxx: f64 = xs.iter().map(|x| x * x).sum();
        assert!((fitted.coefficient(0, 0) - sxy / (sxx + lambda)).abs() < 1e-12);
        assert!((fitted.intercept(0) - 7.0).abs() < 1e-12);
    }

    #[test]
    fn more_inputs_than_items_give_the_minimum_norm_fit() {
        // Two identical input columns: any split of the slope fits; the minimum-norm one halves
        // it. One item with four inputs fits exactly without failing.
        let items: Vec<SequenceItem> = (0..10)
            .map(|i| item(&[f64::from(i), f64::from(i)], &[4.0 * f64::from(i)]))
            .collect();
        let fitted = LinearBaseline::fit(&items, 0.0);
        assert!((fitted.coefficient(0, 0) - 2.0).abs() < 1e-6);
        assert!((fitted.coefficient(1, 0) - 2.0).abs() < 1e-6);
        let one = [item(&[1.0, 2.0, 3.0, 4.0], &[5.0])];
        let fitted = LinearBaseline::fit(&one, 0.0);
        assert!((fitted.predict(&[1.0, 2.0, 3.0, 4.0])[0] - 5.0).abs() < 1e-9);
    }
}
