//! Keras' default initialisation for `LSTM` and `Dense`, applied to Burn's modules.
//!
//! Burn initialises every LSTM weight with Xavier-normal per gate; Keras uses a Glorot-uniform
//! input kernel over all four gates (`[I, 4H]`), an orthogonal recurrent kernel (`[H, 4H]`), zero
//! biases and a forget-gate bias of one (`unit_forget_bias=True`). The relu cell of the tutorial
//! is sensitive to the recurrent kernel's scale, so we reproduce Keras' choice.

use burn::module::{Initializer, Param};
use burn::nn::{Linear, Lstm};
use burn::prelude::*;
use burn::tensor::Distribution;

/// Re-initialises `lstm` as Keras' `LSTM` layer would be. Burn's second (recurrent) bias per gate
/// is set to zero, so the sum of both biases equals Keras' single bias.
pub fn lstm<B: Backend>(mut lstm: Lstm<B>, device: &B::Device) -> Lstm<B> {
    let [input, hidden] = lstm.input_gate.input_transform.weight.dims();
    let limit = (6.0 / (input + 4 * hidden) as f64).sqrt();
    let recurrent_kernel: Tensor<B, 2> = Initializer::Orthogonal { gain: 1.0 }
        .init([hidden, 4 * hidden], device)
        .val();

    // Keras orders the gates input, forget, cell, output in its fused kernels.
    let gates = [
        &mut lstm.input_gate,
        &mut lstm.forget_gate,
        &mut lstm.cell_gate,
        &mut lstm.output_gate,
    ];
    for (index, gate) in gates.into_iter().enumerate() {
        let input_kernel = Tensor::random(
            [input, hidden],
            Distribution::Uniform(-limit, limit),
            device,
        );
        let columns = index * hidden..(index + 1) * hidden;
        let bias = if index == 1 { 1.0 } else { 0.0 };
        gate.input_transform.weight = Param::from_tensor(input_kernel);
        gate.input_transform.bias = Some(Param::from_tensor(Tensor::full([hidden], bias, device)));
        gate.hidden_transform.weight = Param::from_tensor(
            recurrent_kernel
                .clone()
                .slice([0..hidden, columns])
                .detach(),
        );
        gate.hidden_transform.bias = Some(Param::from_tensor(Tensor::zeros([hidden], device)));
    }
    lstm
}

/// Re-initialises `dense` as Keras' `Dense` layer would be: Glorot-uniform kernel, zero bias.
pub fn dense<B: Backend>(mut dense: Linear<B>) -> Linear<B> {
    let [inputs, outputs] = dense.weight.dims();
    let device = dense.weight.device();
    let limit = (6.0 / (inputs + outputs) as f64).sqrt();
    dense.weight = Param::from_tensor(Tensor::random(
        [inputs, outputs],
        Distribution::Uniform(-limit, limit),
        &device,
    ));
    dense.bias = Some(Param::from_tensor(Tensor::zeros([outputs], &device)));
    dense
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LstmRegressorConfig;
    use burn_ndarray::NdArray;

    #[test]
    fn recurrent_kernel_has_orthonormal_rows_across_gates() {
        let model = LstmRegressorConfig::new().init::<NdArray>(&Default::default());
        let gates = [
            &model.lstm.input_gate,
            &model.lstm.forget_gate,
            &model.lstm.cell_gate,
            &model.lstm.output_gate,
        ];
        let kernel = Tensor::cat(
            gates
                .iter()
                .map(|gate| gate.hidden_transform.weight.val())
                .collect(),
            1,
        );
        assert_eq!(kernel.dims(), [50, 200]);
        let gram = kernel.clone().matmul(kernel.transpose());
        let error = (gram - Tensor::eye(50, &Default::default()))
            .abs()
            .max()
            .into_scalar();
        assert!(error < 1e-4, "K·Kᵀ differs from I by {error}");
    }

    #[test]
    fn biases_follow_unit_forget_bias() {
        let model = LstmRegressorConfig::new().init::<NdArray>(&Default::default());
        let bias_sum = |gate: &burn::nn::GateController<NdArray>| -> Vec<f32> {
            let input = gate.input_transform.bias.as_ref().expect("bias on").val();
            let hidden = gate.hidden_transform.bias.as_ref().expect("bias on").val();
            (input + hidden).into_data().to_vec().expect("float data")
        };
        assert!(bias_sum(&model.lstm.forget_gate).iter().all(|&b| b == 1.0));
        for gate in [
            &model.lstm.input_gate,
            &model.lstm.cell_gate,
            &model.lstm.output_gate,
        ] {
            assert!(bias_sum(gate).iter().all(|&b| b == 0.0));
        }
    }

    #[test]
    fn input_kernel_stays_within_glorot_limit() {
        let model = LstmRegressorConfig::new().init::<NdArray>(&Default::default());
        let limit = (6.0f32 / 201.0).sqrt();
        let weights = model.lstm.cell_gate.input_transform.weight.val();
        let largest = weights.abs().max().into_scalar();
        assert!(
            largest <= limit && largest > limit / 2.0,
            "{largest} vs {limit}"
        );
    }
}
