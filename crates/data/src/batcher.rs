//! Turns [`SequenceItem`]s into tensors on the training device.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::synthetic::SequenceItem;

/// A batch of sequences and their targets.
#[derive(Clone, Debug)]
pub struct SequenceBatch<B: Backend> {
    /// Input sequences, `[batch, steps, features]`.
    pub inputs: Tensor<B, 3>,
    /// Targets, `[batch, outputs]`.
    pub targets: Tensor<B, 2>,
}

/// Stacks items into a [`SequenceBatch`], converting float64 values to the backend's float type.
#[derive(Clone, Debug)]
pub struct SequenceBatcher {
    steps: usize,
    features: usize,
}

impl SequenceBatcher {
    /// A batcher for sequences of `steps` time steps with `features` values each.
    pub fn new(steps: usize, features: usize) -> Self {
        Self { steps, features }
    }
}

impl<B: Backend> Batcher<B, SequenceItem, SequenceBatch<B>> for SequenceBatcher {
    fn batch(&self, items: Vec<SequenceItem>, device: &B::Device) -> SequenceBatch<B> {
        let batch = items.len();
        let outputs = items.first().map_or(0, |item| item.target.len());
        let mut inputs = Vec::with_capacity(batch * self.steps * self.features);
        let mut targets = Vec::with_capacity(batch * outputs);
        for item in &items {
            debug_assert_eq!(item.input.len(), self.steps * self.features);
            inputs.extend_from_slice(&item.input);
            targets.extend_from_slice(&item.target);
        }
        let inputs = TensorData::new(inputs, [batch, self.steps, self.features]);
        let targets = TensorData::new(targets, [batch, outputs]);
        SequenceBatch {
            inputs: Tensor::from_data(inputs.convert::<B::FloatElem>(), device),
            targets: Tensor::from_data(targets.convert::<B::FloatElem>(), device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{SyntheticConfig, SyntheticDataset};
    use burn::data::dataset::Dataset;
    use burn_ndarray::NdArray;

    #[test]
    fn batch_has_tutorial_shapes_and_values_in_order() {
        let data = SyntheticDataset::generate(&SyntheticConfig::new()).expect("defaults are valid");
        let items: Vec<_> = (0..3).filter_map(|index| data.get(index)).collect();
        let batch: SequenceBatch<NdArray> =
            SequenceBatcher::new(10, 1).batch(items, &Default::default());

        assert_eq!(batch.inputs.dims(), [3, 10, 1]);
        assert_eq!(batch.targets.dims(), [3, 1]);
        let inputs = batch
            .inputs
            .into_data()
            .to_vec::<f32>()
            .expect("float data");
        let targets = batch
            .targets
            .into_data()
            .to_vec::<f32>()
            .expect("float data");
        assert_eq!(inputs[10], data.input(1)[0] as f32);
        assert_eq!(inputs[29], data.input(2)[9] as f32);
        assert_eq!(targets[2], data.target(2)[0] as f32);
    }

    #[test]
    fn several_features_keep_step_major_layout() {
        let config = SyntheticConfig::new()
            .with_samples(2)
            .with_steps(3)
            .with_features(2);
        let data = SyntheticDataset::generate(&config).expect("sizes are valid");
        let items: Vec<_> = (0..2).filter_map(|index| data.get(index)).collect();
        let batch: SequenceBatch<NdArray> =
            SequenceBatcher::new(3, 2).batch(items, &Default::default());

        assert_eq!(batch.inputs.dims(), [2, 3, 2]);
        assert_eq!(batch.targets.dims(), [2, 2]);
        let step_2_feature_1: f32 = batch.inputs.slice([1..2, 2..3, 1..2]).into_scalar();
        assert_eq!(step_2_feature_1, data.input(1)[5] as f32);
    }
}
