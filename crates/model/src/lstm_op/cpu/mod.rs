//! The LSTM op as a CPU kernel for `NdArray`: plain `f32` buffers, the per-step products with
//! the recurrent kernel packed once per pass ([`PackedMatrix`](packed::PackedMatrix)), the products over all steps
//! through ndarray's `general_mat_mul` (the `matrixmultiply` GEMM that burn-ndarray itself
//! uses), and each step's gate arithmetic in one loop.
//!
//! Per step, the tensor version runs a dozen element-wise operations, each a pass over memory
//! and a fresh allocation; here one pass reads the step's pre-activations and writes the gates,
//! the cell state and the hidden state, and the backward pass likewise computes all four gates'
//! gradients in one pass. Buffers are step-major in processing order, as in [`LstmTrace`](crate::lstm_op::LstmTrace).

mod backward;
mod forward;
pub mod gru;
mod layout;
mod maths;
mod outer_sums;
mod packed;
mod peak;
mod spare;
mod threads;

pub use backward::backward;
pub use forward::forward;
pub use layout::{final_step, join_columns, split_columns};
pub use peak::measured_peak_gflops;

use burn_ndarray::NdArray;

type Cpu = NdArray;

#[cfg(test)]
mod tests {
    use super::backward::backward_on_threads;
    use super::forward::forward_on_threads;
    use super::Cpu;
    use crate::lstm_op::{LstmActivations, LstmKernels, Nonlinearity, OutputGrad};
    use burn::prelude::*;
    use burn::tensor::Distribution;

    fn values<const D: usize>(tensor: Tensor<Cpu, D>) -> Vec<f32> {
        tensor.into_data().to_vec::<f32>().expect("floats")
    }

    /// Splitting the batch across threads changes who computes a row, not how: outputs and
    /// every gradient equal the one-thread results exactly, for uneven splits, a part of one
    /// row, and more threads than rows.
    #[test]
    fn threads_compute_exactly_what_one_thread_does() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let random = |shape: Vec<usize>| {
            Tensor::<Cpu, 1>::random(
                [shape.iter().product::<usize>()],
                Distribution::Normal(0.0, 0.5),
                &device,
            )
        };
        for (batch, steps, input, hidden) in [(7, 5, 3, 6), (2, 4, 1, 9), (33, 3, 2, 17)] {
            let kernels = LstmKernels {
                input: random(vec![input, 4 * hidden]).reshape([input, 4 * hidden]),
                recurrent: random(vec![hidden, 4 * hidden]).reshape([hidden, 4 * hidden]),
                bias: random(vec![4 * hidden]),
            };
            let sequences = random(vec![batch, steps, input]).reshape([batch, steps, input]);
            let output_grad = random(vec![batch, steps, hidden]).reshape([batch, steps, hidden]);
            let final_grad = random(vec![batch, hidden]).reshape([batch, hidden]);
            let activations = LstmActivations {
                gate: Nonlinearity::Sigmoid,
                cell: Nonlinearity::Tanh,
                hidden: Nonlinearity::Tanh,
            };
            let run = |threads: usize| {
                let (outputs, trace) = forward_on_threads(
                    sequences.clone(),
                    kernels.clone(),
                    activations,
                    true,
                    true,
                    threads,
                );
                let trace = trace.expect("kept");
                let every_step = OutputGrad::EveryStep(output_grad.clone());
                let grads = backward_on_threads(trace.clone(), every_step, true, threads);
                let final_step = OutputGrad::FinalStep(final_grad.clone());
                let final_grads = backward_on_threads(trace, final_step, true, threads);
                [
                    values(outputs),
                    values(grads.sequences.expect("asked for")),
                    values(grads.input_kernel),
                    values(grads.recurrent_kernel),
                    values(grads.bias),
                    values(final_grads.sequences.expect("asked for")),
                    values(final_grads.recurrent_kernel),
                ]
            };
            let one = run(1);
            for threads in [2, 3, batch + 1] {
                let many = run(threads);
                for (name, (a, b)) in [
                    "outputs",
                    "d sequences",
                    "d input kernel",
                    "d recurrent kernel",
                    "d bias",
                    "final step: d sequences",
                    "final step: d recurrent kernel",
                ]
                .iter()
                .zip(one.iter().zip(&many))
                {
                    assert_eq!(
                        a, b,
                        "B{batch} T{steps} I{input} H{hidden}, {threads} threads: {name}"
                    );
                }
            }
        }
    }

    /// The same for the GRU kernel: outputs and every gradient equal the one-thread results
    /// exactly, whatever the split.
    #[test]
    fn gru_threads_compute_exactly_what_one_thread_does() {
        use super::gru::{backward_on_threads, forward_on_threads};
        use crate::lstm_op::{GruActivations, GruKernels};
        let _rng = crate::backend_rng();
        let device = Default::default();
        let random = |shape: Vec<usize>| {
            Tensor::<Cpu, 1>::random(
                [shape.iter().product::<usize>()],
                Distribution::Normal(0.0, 0.5),
                &device,
            )
        };
        for (batch, steps, input, hidden) in [(7, 5, 3, 6), (2, 4, 1, 9), (33, 3, 2, 17)] {
            let kernels = GruKernels {
                input: random(vec![input, 3 * hidden]).reshape([input, 3 * hidden]),
                recurrent: random(vec![hidden, 3 * hidden]).reshape([hidden, 3 * hidden]),
                input_bias: random(vec![3 * hidden]),
                recurrent_bias: random(vec![hidden]),
            };
            let sequences = random(vec![batch, steps, input]).reshape([batch, steps, input]);
            let output_grad = random(vec![batch, steps, hidden]).reshape([batch, steps, hidden]);
            let final_grad = random(vec![batch, hidden]).reshape([batch, hidden]);
            let activations = GruActivations {
                gate: Nonlinearity::Sigmoid,
                candidate: Nonlinearity::Tanh,
            };
            let run = |threads: usize| {
                let (outputs, trace) = forward_on_threads(
                    sequences.clone(),
                    kernels.clone(),
                    activations,
                    true,
                    true,
                    threads,
                );
                let trace = trace.expect("kept");
                let every_step = OutputGrad::EveryStep(output_grad.clone());
                let grads = backward_on_threads(trace.clone(), every_step, true, threads);
                let final_step = OutputGrad::FinalStep(final_grad.clone());
                let final_grads = backward_on_threads(trace, final_step, true, threads);
                [
                    values(outputs),
                    values(grads.sequences.expect("asked for")),
                    values(grads.input_kernel),
                    values(grads.recurrent_kernel),
                    values(grads.input_bias),
                    values(grads.recurrent_bias),
                    values(final_grads.sequences.expect("asked for")),
                    values(final_grads.recurrent_kernel),
                ]
            };
            let one = run(1);
            for threads in [2, 3, batch + 1] {
                assert_eq!(
                    one,
                    run(threads),
                    "B{batch} T{steps} I{input} H{hidden}, {threads} threads"
                );
            }
        }
    }
}
