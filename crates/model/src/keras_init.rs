//! Keras' default initialisation for `LSTM`, `GRU` and `Dense`, applied to Burn's modules.
//!
//! Burn initialises every LSTM weight with Xavier-normal per gate; Keras uses a Glorot-uniform
//! input kernel over all four gates (`[I, 4H]`), an orthogonal recurrent kernel (`[H, 4H]`), zero
//! biases and a forget-gate bias of one (`unit_forget_bias=True`). The relu cell of the tutorial
//! is sensitive to the recurrent kernel's scale, so we reproduce Keras' choice.

use burn::module::Param;
use burn::nn::{GateController, Gru, Linear, Lstm};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::TensorData;

/// Re-initialises `lstm` as Keras' `LSTM` layer would be. Burn's second (recurrent) bias per gate
/// is set to zero, so the sum of both biases equals Keras' single bias.
pub fn lstm<B: Backend>(mut lstm: Lstm<B>, device: &B::Device) -> Lstm<B> {
    // Keras orders the gates input, forget, cell, output in its fused kernels; the forget gate's
    // bias starts at one (`unit_forget_bias=True`).
    let gates = [
        &mut lstm.input_gate,
        &mut lstm.forget_gate,
        &mut lstm.cell_gate,
        &mut lstm.output_gate,
    ];
    recurrent_gates(gates, [0.0, 1.0, 0.0, 0.0], device);
    lstm
}

/// Re-initialises `gru` as Keras' `GRU` layer (`reset_after=True`) would be: Glorot-uniform input
/// kernel over the three gates (`[I, 3H]`), orthogonal recurrent kernel (`[H, 3H]`), zero biases.
/// Keras orders the gates update, reset, candidate, as Burn names them.
pub fn gru<B: Backend>(mut gru: Gru<B>, device: &B::Device) -> Gru<B> {
    let gates = [&mut gru.update_gate, &mut gru.reset_gate, &mut gru.new_gate];
    recurrent_gates(gates, [0.0; 3], device);
    gru
}

/// Keras' initialisation of a recurrent layer's `N` gates, in Keras' kernel order: one
/// Glorot-uniform input kernel `[I, N·H]` and one orthogonal recurrent kernel `[H, N·H]`, cut into
/// per-gate blocks; input biases `input_biases`, recurrent biases zero. Draws the recurrent
/// kernel first, then each gate's input block.
fn recurrent_gates<B: Backend, const N: usize>(
    gates: [&mut GateController<B>; N],
    input_biases: [f64; N],
    device: &B::Device,
) {
    let [input, hidden] = gates[0].input_transform.weight.dims();
    let limit = (6.0 / (input + N * hidden) as f64).sqrt();
    let recurrent_kernel = orthogonal::<B>(hidden, N * hidden, device);
    for (index, (gate, bias)) in gates.into_iter().zip(input_biases).enumerate() {
        let input_kernel = Tensor::random(
            [input, hidden],
            Distribution::Uniform(-limit, limit),
            device,
        );
        let columns = index * hidden..(index + 1) * hidden;
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
}

/// A `[rows, columns]` matrix with orthonormal rows or columns (whichever are fewer), as Burn's
/// `Initializer::Orthogonal { gain: 1.0 }` draws it: a standard-normal draw from the backend's
/// generator, orthonormalised by Gram-Schmidt. Burn runs that loop as some `n²` small tensor
/// operations (a sixth of the tutorial's whole run); [`orthonormalise`] runs it on the host.
fn orthogonal<B: Backend>(rows: usize, columns: usize, device: &B::Device) -> Tensor<B, 2> {
    let drawn: Tensor<B, 2> =
        Tensor::random([rows, columns], Distribution::Normal(0.0, 1.0), device);
    let values = drawn
        .into_data()
        .convert::<f64>()
        .into_vec::<f64>()
        .expect("floats");
    let matrix = orthonormalise(&values, rows, columns);
    Tensor::from_data(TensorData::new(matrix, [rows, columns]), device)
}

/// The `Q` of the QR decomposition with a positive diagonal of `R` (unique), of the row-major
/// `[rows, columns]` matrix `values` in its tall orientation (transposed when it is wide), by
/// modified Gram-Schmidt in `f64`; returned in the input's orientation.
fn orthonormalise(values: &[f64], rows: usize, columns: usize) -> Vec<f32> {
    let tall = rows >= columns;
    let (long, short) = if tall {
        (rows, columns)
    } else {
        (columns, rows)
    };
    // Element `i` of vector `v` of the tall orientation.
    let position = |v: usize, i: usize| {
        if tall {
            i * columns + v
        } else {
            v * columns + i
        }
    };
    let mut matrix = vec![0f32; rows * columns];
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(short);
    for vector in 0..short {
        let mut v: Vec<f64> = (0..long).map(|i| values[position(vector, i)]).collect();
        for q in &basis {
            let projection: f64 = q.iter().zip(&v).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(q).for_each(|(x, q)| *x -= projection * q);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        for (i, value) in v.iter().enumerate() {
            matrix[position(vector, i)] = *value as f32;
        }
        basis.push(v);
    }
    matrix
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
    use crate::regressor::RecurrentLayer;
    use crate::RecurrentRegressorConfig;
    use burn_ndarray::NdArray;

    fn tutorial_lstm() -> Lstm<NdArray> {
        let model = RecurrentRegressorConfig::new().init::<NdArray>(&Default::default());
        match model.layers.into_iter().next() {
            Some(RecurrentLayer::Lstm(lstm)) => lstm,
            other => panic!("expected one LSTM layer, got {other:?}"),
        }
    }

    #[test]
    fn recurrent_kernel_has_orthonormal_rows_across_gates() {
        let _rng = crate::backend_rng();
        let lstm = tutorial_lstm();
        let gates = [
            &lstm.input_gate,
            &lstm.forget_gate,
            &lstm.cell_gate,
            &lstm.output_gate,
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

    /// `Q` has orthonormal columns (tall) or rows (wide), and `R = Qᵀ·A` (tall) is upper
    /// triangular with a positive diagonal: the QR decomposition Burn's initialiser computes,
    /// which is unique. `A` comes from a fixed formula, not from the shared generator.
    #[test]
    fn orthonormalise_computes_the_q_of_qr() {
        for (rows, columns) in [(200, 50), (50, 200), (7, 7), (3, 12)] {
            let values: Vec<f64> = (0..rows * columns)
                .map(|k| {
                    ((k * 7919 % 1000) as f64 / 500.0 - 1.0)
                        + if k % (columns + 1) == 0 { 2.0 } else { 0.0 }
                })
                .collect();
            let q = orthonormalise(&values, rows, columns);
            let (long, short) = (rows.max(columns), rows.min(columns));
            let q_at = |v: usize, i: usize| -> f64 {
                if rows >= columns {
                    q[i * columns + v] as f64
                } else {
                    q[v * columns + i] as f64
                }
            };
            let a_at = |v: usize, i: usize| -> f64 {
                if rows >= columns {
                    values[i * columns + v]
                } else {
                    values[v * columns + i]
                }
            };
            for u in 0..short {
                for v in 0..short {
                    let dot: f64 = (0..long).map(|i| q_at(u, i) * q_at(v, i)).sum();
                    let expected = if u == v { 1.0 } else { 0.0 };
                    assert!(
                        (dot - expected).abs() < 1e-5,
                        "{rows}x{columns}: q{u}·q{v} = {dot}"
                    );
                    let r: f64 = (0..long).map(|i| q_at(u, i) * a_at(v, i)).sum();
                    if u > v {
                        assert!(r.abs() < 1e-4, "{rows}x{columns}: R[{u},{v}] = {r}");
                    }
                    if u == v {
                        assert!(r > 0.0, "{rows}x{columns}: R[{u},{u}] = {r}");
                    }
                }
            }
        }
    }

    #[test]
    fn biases_follow_unit_forget_bias() {
        let _rng = crate::backend_rng();
        let lstm = tutorial_lstm();
        let bias_sum = |gate: &burn::nn::GateController<NdArray>| -> Vec<f32> {
            let input = gate.input_transform.bias.as_ref().expect("bias on").val();
            let hidden = gate.hidden_transform.bias.as_ref().expect("bias on").val();
            (input + hidden).into_data().to_vec().expect("float data")
        };
        assert!(bias_sum(&lstm.forget_gate).iter().all(|&b| b == 1.0));
        for gate in [&lstm.input_gate, &lstm.cell_gate, &lstm.output_gate] {
            assert!(bias_sum(gate).iter().all(|&b| b == 0.0));
        }
    }

    #[test]
    fn input_kernel_stays_within_glorot_limit() {
        let _rng = crate::backend_rng();
        let lstm = tutorial_lstm();
        let limit = (6.0f32 / 201.0).sqrt();
        let weights = lstm.cell_gate.input_transform.weight.val();
        let largest = weights.abs().max().into_scalar();
        assert!(
            largest <= limit && largest > limit / 2.0,
            "{largest} vs {limit}"
        );
    }

    #[test]
    fn gru_recurrent_kernel_is_orthogonal_and_biases_zero() {
        let _rng = crate::backend_rng();
        let config = RecurrentRegressorConfig::new()
            .with_hidden(8)
            .with_cell(crate::CellKind::Gru);
        let model = config.init::<NdArray>(&Default::default());
        let Some(RecurrentLayer::Gru(gru)) = model.layers.first() else {
            panic!("expected a GRU layer")
        };
        let gates = [&gru.update_gate, &gru.reset_gate, &gru.new_gate];
        let kernel = Tensor::cat(
            gates
                .iter()
                .map(|gate| gate.hidden_transform.weight.val())
                .collect(),
            1,
        );
        assert_eq!(kernel.dims(), [8, 24]);
        let gram = kernel.clone().matmul(kernel.transpose());
        let error = (gram - Tensor::eye(8, &Default::default()))
            .abs()
            .max()
            .into_scalar();
        assert!(error < 1e-4, "K·Kᵀ differs from I by {error}");
        for gate in gates {
            for bias in [&gate.input_transform.bias, &gate.hidden_transform.bias] {
                let bias = bias.as_ref().expect("bias on").val();
                assert_eq!(bias.abs().sum().into_scalar(), 0.0);
            }
        }
    }
}
