//! The training and inference steps Burn's `Learner` calls: forward, MSE loss, gradients.

use burn::nn::loss::{MseLoss, Reduction};
use burn::train::{InferenceStep, RegressionOutput, TrainOutput, TrainStep};
use data::SequenceBatch;

use crate::lstm_op::{LstmBackend, TrainingBackend};
use crate::regressor::RecurrentRegressor;

impl<B: LstmBackend> RecurrentRegressor<B> {
    /// Forward pass and mean squared error against the batch's targets.
    pub fn forward_regression(&self, batch: SequenceBatch<B>) -> RegressionOutput<B> {
        let output = self.forward(batch.inputs);
        let loss = MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, batch.targets)
    }
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
    use burn::prelude::*;
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
