//! The training and inference steps Burn's `Learner` calls: forward, the loss (squared error,
//! or pinball for quantiles), gradients.

use burn::nn::loss::{MseLoss, Reduction};
use burn::prelude::*;
use burn::train::{InferenceStep, RegressionOutput, TrainOutput, TrainStep};
use data::SequenceBatch;

use crate::lstm_op::{LstmBackend, TrainingBackend};
use crate::regressor::RecurrentRegressor;

impl<B: LstmBackend> RecurrentRegressor<B> {
    /// Forward pass and its loss against the batch's targets: the mean squared error, or for a
    /// model with quantiles the mean [`pinball_loss`]. The output is `[batch, outputs]`, the
    /// targets `[batch, outputs / quantiles]`.
    pub fn forward_regression(&self, batch: SequenceBatch<B>) -> RegressionOutput<B> {
        let output = self.forward(batch.inputs);
        let loss = if self.quantiles.is_empty() {
            MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean)
        } else {
            pinball_loss(output.clone(), batch.targets.clone(), &self.quantiles)
        };
        RegressionOutput::new(loss, output, batch.targets)
    }
}

/// The mean pinball (quantile) loss: for each target `y`, each level `τ` and its prediction
/// `q`, `τ·(y − q)` when `y ≥ q` and `(1 − τ)·(q − y)` otherwise, averaged over every target
/// and level. Its minimiser over `q` is the `τ`-quantile of `y`.
///
/// `predictions`: `[batch, values · levels.len()]`, each value's levels together;
/// `targets`: `[batch, values]` → a one-element tensor.
pub fn pinball_loss<B: Backend>(
    predictions: Tensor<B, 2>,
    targets: Tensor<B, 2>,
    levels: &[f64],
) -> Tensor<B, 1> {
    let [batch, values] = targets.dims();
    let device = predictions.device();
    let count = levels.len();
    let tau = Tensor::<B, 1>::from_data(
        burn::tensor::TensorData::new(levels.to_vec(), [count]).convert::<B::FloatElem>(),
        &device,
    )
    .reshape([1, 1, count]);
    let errors = targets.reshape([batch, values, 1]) - predictions.reshape([batch, values, count]);
    let under = burn::tensor::activation::relu(errors.clone()) * tau.clone();
    let over = burn::tensor::activation::relu(errors.neg()) * (tau.neg() + 1.0);
    (under + over).mean()
}

impl<B: TrainingBackend> TrainStep for RecurrentRegressor<B> {
    type Input = SequenceBatch<B>;
    type Output = RegressionOutput<B>;

    fn step(&self, batch: SequenceBatch<B>) -> TrainOutput<RegressionOutput<B>> {
        let item = self.forward_regression(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl<B: LstmBackend> InferenceStep for RecurrentRegressor<B> {
    type Input = SequenceBatch<B>;
    type Output = RegressionOutput<B>;

    fn step(&self, batch: SequenceBatch<B>) -> RegressionOutput<B> {
        self.forward_regression(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecurrentRegressorConfig;
    use burn::data::dataloader::batcher::Batcher;
    use burn::data::dataset::Dataset;
    use burn::module::{ModuleVisitor, Param};
    use burn::optim::GradientsParams;
    use burn_autodiff::Autodiff;
    use burn_ndarray::NdArray;
    use data::{SequenceBatcher, SyntheticConfig, SyntheticDataset};

    type Train = Autodiff<NdArray>;

    /// Collects, for every float parameter, whether its gradient exists, is finite and non-zero.
    struct GradientCheck<'a> {
        grads: &'a GradientsParams,
        report: Vec<(Vec<usize>, bool, f32)>,
    }

    impl ModuleVisitor<Train> for GradientCheck<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Train, D>>) {
            let shape = param.val().dims().to_vec();
            match self.grads.get::<NdArray, D>(param.id) {
                Some(grad) => {
                    let values = grad.into_data().to_vec::<f32>().expect("float grads");
                    let finite = values.iter().all(|v| v.is_finite());
                    let largest = values.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
                    self.report.push((shape, finite, largest));
                }
                None => self.report.push((shape, false, 0.0)),
            }
        }
    }

    #[test]
    fn one_backward_pass_reaches_every_parameter() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let data = SyntheticDataset::generate(&SyntheticConfig::new()).expect("defaults are valid");
        let items: Vec<_> = (0..32).filter_map(|index| data.get(index)).collect();
        // (config, float parameters): per LSTM direction 4 gates × (weight, bias) × (input,
        // recurrent), per GRU direction 3 gates × 4; the head has 2.
        let cases = [
            (RecurrentRegressorConfig::new(), 18),
            (
                RecurrentRegressorConfig::new()
                    .with_cell(crate::CellKind::Gru)
                    .with_hidden(8),
                14,
            ),
            (
                RecurrentRegressorConfig::new()
                    .with_hidden(8)
                    .with_layers(2)
                    .with_bidirectional(true)
                    .with_dropout(0.2),
                4 * 16 + 2,
            ),
            (
                RecurrentRegressorConfig::new()
                    .with_hidden(8)
                    .with_outputs(3)
                    .with_quantiles(vec![0.1, 0.5, 0.9]),
                18,
            ),
        ];
        for (config, parameters) in cases {
            Train::seed(&device, 3);
            let model = config.init::<Train>(&device);
            let batch = SequenceBatcher::new(10, 1).batch(items.clone(), &device);
            let output = TrainStep::step(&model, batch);
            let loss: f32 = output.item.loss.clone().into_scalar();
            assert!(loss.is_finite() && loss > 0.0);

            let mut check = GradientCheck {
                grads: &output.grads,
                report: Vec::new(),
            };
            model.visit(&mut check);
            assert_eq!(check.report.len(), parameters, "{}", config.describe());
            for (shape, finite, largest) in check.report {
                assert!(
                    finite,
                    "{}: parameter {shape:?} has a missing or non-finite gradient",
                    config.describe()
                );
                assert!(
                    largest > 0.0,
                    "{}: parameter {shape:?} has an all-zero gradient",
                    config.describe()
                );
            }
        }
    }

    #[test]
    fn pinball_loss_by_hand() {
        let device = Default::default();
        // Two sequences, two values, levels 0.1 and 0.9: predictions (q0.1, q0.9) per value.
        let predictions = Tensor::<NdArray, 2>::from_floats(
            [[0.0, 2.0, 1.0, 1.0], [-1.0, 0.5, 3.0, 4.0]],
            &device,
        );
        let targets = Tensor::<NdArray, 2>::from_floats([[1.0, 0.0], [0.0, 5.0]], &device);
        // Errors y − q and their losses:
        // row 0, value 0 (y 1): 1 → 0.1·1 = 0.1;  −1 → 0.1·1 = 0.1
        // row 0, value 1 (y 0): −1 → 0.9·1 = 0.9;  −1 → 0.1·1 = 0.1
        // row 1, value 0 (y 0): 1 → 0.1;           −0.5 → 0.1·0.5 = 0.05
        // row 1, value 1 (y 5): 2 → 0.2;           1 → 0.9
        let expected = (0.1 + 0.1 + 0.9 + 0.1 + 0.1 + 0.05 + 0.2 + 0.9) / 8.0;
        let loss: f32 = pinball_loss(predictions, targets, &[0.1, 0.9]).into_scalar();
        assert!(
            (f64::from(loss) - expected).abs() < 1e-6,
            "{loss} vs {expected}"
        );
    }

    #[test]
    fn quantile_outputs_ascend_and_train_on_the_pinball_loss() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let levels = vec![0.1, 0.5, 0.9];
        let model = RecurrentRegressorConfig::new()
            .with_hidden(6)
            .with_outputs(2 * levels.len())
            .with_quantiles(levels.clone())
            .init::<NdArray>(&device);
        let data = SyntheticDataset::generate(&SyntheticConfig::new()).expect("defaults are valid");
        let items: Vec<_> = (0..8).filter_map(|index| data.get(index)).collect();
        let mut batch: SequenceBatch<NdArray> = SequenceBatcher::new(10, 1).batch(items, &device);
        batch.targets = Tensor::cat(vec![batch.targets.clone(), batch.targets.clone() * 2.0], 1);

        let output = InferenceStep::step(&model, batch.clone());
        let predictions = output
            .output
            .clone()
            .into_data()
            .to_vec::<f32>()
            .expect("floats");
        assert_eq!(predictions.len(), 8 * 2 * 3);
        for value in predictions.chunks(3) {
            assert!(value[0] < value[1] && value[1] < value[2], "{value:?}");
        }
        let expected: f32 = pinball_loss(output.output, batch.targets, &levels).into_scalar();
        let loss: f32 = output.loss.into_scalar();
        assert_eq!(loss, expected);
    }

    #[test]
    fn inference_step_loss_is_the_mean_squared_error() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let model = RecurrentRegressorConfig::new().init::<NdArray>(&device);
        let data = SyntheticDataset::generate(&SyntheticConfig::new()).expect("defaults are valid");
        let items = (0..8).filter_map(|index| data.get(index)).collect();
        let batch: SequenceBatch<NdArray> = SequenceBatcher::new(10, 1).batch(items, &device);

        let output = InferenceStep::step(&model, batch);
        let predictions = output.output.into_data().to_vec::<f32>().expect("floats");
        let targets = output.targets.into_data().to_vec::<f32>().expect("floats");
        let expected = predictions
            .iter()
            .zip(&targets)
            .map(|(p, t)| (p - t) * (p - t))
            .sum::<f32>()
            / 8.0;
        let loss: f32 = output.loss.into_scalar();
        assert!(
            (loss - expected).abs() <= 1e-6 * expected.max(1e-6),
            "{loss} vs {expected}"
        );
    }
}
