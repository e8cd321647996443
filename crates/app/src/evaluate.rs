//! Predicting and scoring a trained model on a dataset (Keras' `predict` and `evaluate`).

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use data::{SequenceBatch, SequenceBatcher, SyntheticDataset};
use model::LstmBackend;
use model::RecurrentRegressor;

/// Predictions next to the targets, and their mean squared error.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Model outputs, `[samples, outputs]` row-major, converted to f64.
    pub predictions: Vec<f64>,
    /// The dataset's targets in the same layout.
    pub targets: Vec<f64>,
    /// Mean squared error over every output of every sample, computed in f64.
    pub mse: f64,
}

/// Runs `model` over `dataset` in batches of `batch_size` and scores it.
pub fn evaluate<B: LstmBackend>(
    model: &RecurrentRegressor<B>,
    dataset: &SyntheticDataset,
    batch_size: usize,
    device: &B::Device,
) -> Evaluation {
    let config = dataset.config();
    let batcher = SequenceBatcher::new(config.steps, config.features);
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let mut predictions = Vec::with_capacity(dataset.targets().len());
    for chunk in indices.chunks(batch_size.max(1)) {
        let items = chunk
            .iter()
            .filter_map(|&index| dataset.get(index))
            .collect();
        let batch: SequenceBatch<B> = batcher.batch(items, device);
        let output = model.forward(batch.inputs).into_data().convert::<f64>();
        predictions.extend(
            output
                .to_vec::<f64>()
                .expect("converted model output should hold f64 values"),
        );
    }
    let targets = dataset.targets().to_vec();
    let mse = mean_squared_error(&predictions, &targets);
    Evaluation {
        predictions,
        targets,
        mse,
    }
}

/// `mean((prediction - target)²)`; NaN when there is nothing to average.
pub fn mean_squared_error(predictions: &[f64], targets: &[f64]) -> f64 {
    assert_eq!(
        predictions.len(),
        targets.len(),
        "one prediction per target"
    );
    let sum: f64 = predictions
        .iter()
        .zip(targets)
        .map(|(p, t)| (p - t) * (p - t))
        .sum();
    sum / predictions.len() as f64
}

/// The tutorial's report line, `Loss: 0.xxxx`, followed by the unrounded value.
pub fn loss_line(mse: f64) -> String {
    format!("Loss: {mse:.4} (mse {mse:.3e})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_ndarray::NdArray;
    use data::SyntheticConfig;
    use model::RecurrentRegressorConfig;

    #[test]
    fn mean_squared_error_by_hand() {
        assert_eq!(
            mean_squared_error(&[1.0, 2.0, 4.0], &[1.0, 0.0, 1.0]),
            13.0 / 3.0
        );
        assert!(mean_squared_error(&[], &[]).is_nan());
    }

    #[test]
    fn loss_line_rounds_like_the_tutorial_and_keeps_the_value() {
        assert_eq!(loss_line(6.684e-5), "Loss: 0.0001 (mse 6.684e-5)");
        assert_eq!(loss_line(0.25), "Loss: 0.2500 (mse 2.500e-1)");
    }

    #[test]
    fn batch_size_does_not_change_the_predictions() {
        let device = Default::default();
        let model = RecurrentRegressorConfig::new().init::<NdArray>(&device);
        let data = SyntheticDataset::generate(&SyntheticConfig::new().with_samples(10))
            .expect("sizes are valid");
        let whole = evaluate(&model, &data, 10, &device);
        let pieces = evaluate(&model, &data, 3, &device);
        assert_eq!(whole.predictions.len(), 10);
        for (a, b) in whole.predictions.iter().zip(&pieces.predictions) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let direct = mean_squared_error(&whole.predictions, data.targets());
        assert_eq!(whole.mse, direct);
    }
}
