//! The whole-sequence LSTM as one backend operation, with its own backward pass.
//!
//! Recorded op by op, an LSTM over `T` steps leaves some thirty small nodes per step in the
//! autodiff graph, and the backward pass replays each of them. [`LstmBackend::lstm_sequence`]
//! is instead one node: its forward runs on the inner backend (nothing recorded), projects the
//! inputs (all steps with one matrix product in the tensor-op version, step by step in the CPU
//! kernel), runs one recurrent product per step, and keeps the activated gates and cell states;
//! its backward walks the steps once in reverse with one product per step, then computes every
//! weight gradient over all steps at once (`xᵀ·dz`, `hᵀ·dz`).
//!
//! Gates are laid out `[input, forget, output, candidate]` along the last axis of the fused
//! kernels (`4H` columns), so the three sigmoid gates are contiguous.
//!
//! This is Burn's backend extension pattern: a trait over `Backend` (`backend.rs`) whose default
//! methods are written in tensor operations (`tensor_ops.rs`; any backend can opt in with an
//! empty `impl`), an implementation for `Autodiff<B>` that registers the custom backward
//! (`autodiff.rs`), CubeCL kernels for the GPU backends (`cube/`: wgpu, CUDA), and a CPU kernel
//! for `NdArray` (`ndarray_backend.rs`, `cpu/`) that fuses each step's gate arithmetic into one loop, with its
//! matrix products in `cpu/packed.rs` (per step, weights packed once per pass) and
//! `cpu/outer_sums.rs` (the weight gradients).

mod autodiff;
mod backend;
mod cpu;
#[cfg(feature = "cube")]
mod cube;
mod gru;
mod layout;
mod ndarray_backend;
mod tensor_ops;

pub use backend::{
    LstmActivations, LstmBackend, LstmGradients, LstmKernels, LstmTrace, Nonlinearity, OutputGrad,
    TrainingBackend,
};
pub use cpu::measured_peak_gflops;
#[cfg(all(test, feature = "wgpu"))]
pub(crate) use cube::tests::adapter_or_skip;
pub use gru::{GruActivations, GruGradients, GruKernels, GruTrace};
pub(crate) use layout::final_step;
use layout::{batch_major, step_major};

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;
    use burn::tensor::Distribution;
    use burn_ndarray::NdArray;

    fn random<const D: usize>(shape: [usize; D]) -> Tensor<NdArray, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 0.5), &Default::default())
    }

    fn assert_close<const D: usize>(
        label: &str,
        ours: Tensor<NdArray, D>,
        reference: Tensor<NdArray, D>,
    ) {
        assert_eq!(ours.dims(), reference.dims(), "{label}: shapes");
        let ours = ours.into_data().to_vec::<f32>().expect("floats");
        let reference = reference.into_data().to_vec::<f32>().expect("floats");
        let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (index, (a, b)) in ours.iter().zip(&reference).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{label}[{index}]: CPU kernel {a} vs tensor ops {b} (scale {scale})"
            );
        }
    }

    /// The CPU kernel (what NdArray runs) against the tensor-op version (what wgpu and every
    /// other backend run), forward and backward, over shapes, activations and directions. The
    /// kernel itself is checked against `nn::Lstm` in `fused_lstm`.
    #[test]
    fn cpu_kernel_equals_the_tensor_op_version() {
        let _rng = crate::backend_rng();
        <NdArray as Backend>::seed(&Default::default(), 5);
        let sigmoid = Nonlinearity::Sigmoid;
        let hard = Nonlinearity::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        };
        for (batch, steps, input, hidden) in [(1, 1, 1, 1), (3, 7, 2, 5), (2, 12, 4, 8)] {
            for (gate, cell) in [
                (sigmoid, Nonlinearity::Tanh),
                (sigmoid, Nonlinearity::Relu),
                (hard, Nonlinearity::Tanh),
            ] {
                for reverse in [false, true] {
                    let label = format!(
                        "B{batch} T{steps} I{input} H{hidden} {gate:?} {cell:?} reverse={reverse}"
                    );
                    let activations = LstmActivations {
                        gate,
                        cell,
                        hidden: cell,
                    };
                    let kernels = LstmKernels {
                        input: random([input, 4 * hidden]),
                        recurrent: random([hidden, 4 * hidden]),
                        bias: random([4 * hidden]),
                    };
                    let sequences = random([batch, steps, input]);
                    let (ours, our_trace) = cpu::forward(
                        sequences.clone(),
                        kernels.clone(),
                        activations,
                        reverse,
                        true,
                    );
                    let (reference, reference_trace) =
                        tensor_ops::forward(sequences, kernels, activations, reverse, true);
                    assert_close(&format!("{label} outputs"), ours, reference);

                    let (our_trace, reference_trace) =
                        (our_trace.expect("kept"), reference_trace.expect("kept"));
                    // The CPU kernel reads a final-step gradient as it is; the tensor-op version
                    // writes it into zeros at every other step first.
                    for output_grad in [
                        OutputGrad::EveryStep(random([batch, steps, hidden])),
                        OutputGrad::FinalStep(random([batch, hidden])),
                    ] {
                        let label = match output_grad {
                            OutputGrad::EveryStep(_) => format!("{label} every step"),
                            OutputGrad::FinalStep(_) => format!("{label} final step"),
                        };
                        let ours = cpu::backward(our_trace.clone(), output_grad.clone(), true);
                        let reference =
                            tensor_ops::backward(reference_trace.clone(), output_grad, true);
                        assert_close(
                            &format!("{label} d sequences"),
                            ours.sequences.expect("asked for"),
                            reference.sequences.expect("asked for"),
                        );
                        assert_close(
                            &format!("{label} d input kernel"),
                            ours.input_kernel,
                            reference.input_kernel,
                        );
                        assert_close(
                            &format!("{label} d recurrent kernel"),
                            ours.recurrent_kernel,
                            reference.recurrent_kernel,
                        );
                        assert_close(&format!("{label} d bias"), ours.bias, reference.bias);
                    }
                }
            }
        }
    }

    /// The GRU's CPU kernel against its tensor-op version (what wgpu runs), forward and
    /// backward, over shapes, activations, directions and both kinds of output gradient. The
    /// kernel is checked against `nn::Gru` in `fused_gru`.
    #[test]
    fn gru_cpu_kernel_equals_the_tensor_op_version() {
        let _rng = crate::backend_rng();
        <NdArray as Backend>::seed(&Default::default(), 6);
        let hard = Nonlinearity::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        };
        for (batch, steps, input, hidden) in [(1, 1, 1, 1), (3, 7, 2, 5), (2, 12, 4, 8)] {
            for (gate, candidate) in [
                (Nonlinearity::Sigmoid, Nonlinearity::Tanh),
                (hard, Nonlinearity::Relu),
            ] {
                for reverse in [false, true] {
                    let label = format!("GRU B{batch} T{steps} I{input} H{hidden} {gate:?} {candidate:?} reverse={reverse}");
                    let activations = GruActivations { gate, candidate };
                    let kernels = GruKernels {
                        input: random([input, 3 * hidden]),
                        recurrent: random([hidden, 3 * hidden]),
                        input_bias: random([3 * hidden]),
                        recurrent_bias: random([hidden]),
                    };
                    let sequences = random([batch, steps, input]);
                    let (ours, our_trace) = cpu::gru::forward(
                        sequences.clone(),
                        kernels.clone(),
                        activations,
                        reverse,
                        true,
                    );
                    let (reference, reference_trace) =
                        gru::forward(sequences, kernels, activations, reverse, true);
                    assert_close(&format!("{label} outputs"), ours, reference);
                    let (our_trace, reference_trace) =
                        (our_trace.expect("kept"), reference_trace.expect("kept"));
                    for output_grad in [
                        OutputGrad::EveryStep(random([batch, steps, hidden])),
                        OutputGrad::FinalStep(random([batch, hidden])),
                    ] {
                        let label = match output_grad {
                            OutputGrad::EveryStep(_) => format!("{label} every step"),
                            OutputGrad::FinalStep(_) => format!("{label} final step"),
                        };
                        let ours = cpu::gru::backward(our_trace.clone(), output_grad.clone(), true);
                        let reference = gru::backward(reference_trace.clone(), output_grad, true);
                        assert_close(
                            &format!("{label} d sequences"),
                            ours.sequences.expect("asked for"),
                            reference.sequences.expect("asked for"),
                        );
                        assert_close(
                            &format!("{label} d input kernel"),
                            ours.input_kernel,
                            reference.input_kernel,
                        );
                        assert_close(
                            &format!("{label} d recurrent kernel"),
                            ours.recurrent_kernel,
                            reference.recurrent_kernel,
                        );
                        assert_close(
                            &format!("{label} d input bias"),
                            ours.input_bias,
                            reference.input_bias,
                        );
                        assert_close(
                            &format!("{label} d recurrent bias"),
                            ours.recurrent_bias,
                            reference.recurrent_bias,
                        );
                    }
                }
            }
        }
    }
}
