//! The GRU op as a CPU kernel for `NdArray`, on the LSTM kernel's machinery: the input
//! projection of all steps as one product, each step's recurrent product with the packed
//! recurrent kernel, and each step's gate arithmetic in one pass over its rows, forward and
//! backward, each thread taking its rows of the batch through every step; then the weight
//! gradients over all steps at once.

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_ndarray::NdArrayTensor;

use super::layout::{batch_major_view, step_major_rows};
use super::packed::{sequence_gradient_batch_major, PackedMatrix};
use pulp::{Simd, WithSimd};
use std::ops::Range;

use super::threads::{
    batch_parts, gemm_on_threads, on_threads, rows_of_every_step, threads_for, view, widest_simd,
};
use super::{spare, Cpu};
use crate::lstm_op::{GruActivations, GruGradients, GruKernels, GruTrace, OutputGrad};
use crate::ndarray_buffers::{array, shared, slice, tensor};

/// What every thread of the forward recurrence reads.
struct ForwardReads<'a> {
    /// The sequences, step-major `[steps][batch][input]`.
    inputs: &'a [f32],
    input_kernel: &'a PackedMatrix,
    batch: usize,
    input: usize,
    recurrent: &'a PackedMatrix,
    input_bias: &'a [f32],
    new_bias: &'a [f32],
    hidden: usize,
    activations: GruActivations,
}

/// One thread's rows (`part` of the batch) through every step, as a [`WithSimd`] job (see the
/// LSTM's `ForwardJob`): `gates[step]` receives the rows' input projections, then their
/// activated gates. Projecting each step's inputs here rather than all steps at once beforehand
/// finds the values in cache, as the LSTM kernel does.
struct ForwardJob<'a, 'b> {
    reads: &'b ForwardReads<'a>,
    part: Range<usize>,
    gates: Vec<&'b mut [f32]>,
    recurrent_new: Vec<&'b mut [f32]>,
    hiddens: Vec<&'b mut [f32]>,
}

impl WithSimd for ForwardJob<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let ForwardReads {
            inputs,
            input_kernel,
            batch,
            input,
            recurrent,
            input_bias,
            new_bias,
            hidden,
            activations,
        } = *self.reads;
        let (mut gates, mut recurrent_new, mut hiddens) =
            (self.gates, self.recurrent_new, self.hiddens);
        let width = 3 * hidden;
        let (part, rows) = (self.part.clone(), self.part.len());
        let mut product = vec![0.0; rows * width];
        for step in 0..gates.len() {
            let first_row = step * batch + part.start;
            input_kernel.multiply_into(
                &inputs[first_row * input..][..rows * input],
                &mut *gates[step],
                false,
            );
            let (done, todo) = hiddens.split_at_mut(step);
            let previous = done.last().map(|previous| &**previous);
            match previous {
                Some(previous) => recurrent.multiply_into(previous, &mut product, false),
                None => product.fill(0.0),
            }
            let (gate_rows, new_rows, h_rows) =
                (&mut *gates[step], &mut *recurrent_new[step], &mut *todo[0]);
            for b in 0..rows {
                let g = &mut gate_rows[b * width..(b + 1) * width];
                let u = &product[b * width..(b + 1) * width];
                for ((g, u), bias) in g.iter_mut().zip(u).zip(input_bias).take(2 * hidden) {
                    *g += bias + u;
                }
                let (update_reset, new) = g.split_at_mut(2 * hidden);
                activations.gate.apply_in_place(update_reset);
                let (update, reset) = update_reset.split_at(hidden);
                let u_new = &mut new_rows[b * hidden..(b + 1) * hidden];
                for ((u_new, u), bias) in u_new.iter_mut().zip(&u[2 * hidden..]).zip(new_bias) {
                    *u_new = u + bias;
                }
                for (((n, bias), r), u_new) in new
                    .iter_mut()
                    .zip(&input_bias[2 * hidden..])
                    .zip(reset)
                    .zip(&*u_new)
                {
                    *n += bias + r * u_new;
                }
                activations.candidate.apply_in_place(new);
                let h = &mut h_rows[b * hidden..(b + 1) * hidden];
                match previous {
                    Some(previous) => {
                        let previous = &previous[b * hidden..(b + 1) * hidden];
                        for (((h, z), n), p) in h.iter_mut().zip(update).zip(&*new).zip(previous) {
                            *h = (1.0 - z) * n + z * p;
                        }
                    }
                    None => {
                        for ((h, z), n) in h.iter_mut().zip(update).zip(&*new) {
                            *h = (1.0 - z) * n;
                        }
                    }
                }
            }
        }
    }
}

/// See [`LstmBackend::gru_forward`](crate::lstm_op::LstmBackend::gru_forward).
pub fn forward(
    sequences: Tensor<Cpu, 3>,
    kernels: GruKernels<Cpu>,
    activations: GruActivations,
    reverse: bool,
    keep_trace: bool,
) -> (Tensor<Cpu, 3>, Option<GruTrace<Cpu>>) {
    let [batch, steps, input] = sequences.dims();
    let hidden = kernels.recurrent.dims()[0];
    let flops = (steps * batch * 6 * hidden * (input + hidden)) as f64;
    forward_on_threads(
        sequences,
        kernels,
        activations,
        reverse,
        keep_trace,
        threads_for(batch, flops),
    )
}

/// [`forward`] with the batch split across `threads` threads.
pub(super) fn forward_on_threads(
    sequences: Tensor<Cpu, 3>,
    kernels: GruKernels<Cpu>,
    activations: GruActivations,
    reverse: bool,
    keep_trace: bool,
    threads: usize,
) -> (Tensor<Cpu, 3>, Option<GruTrace<Cpu>>) {
    let [batch, steps, input] = sequences.dims();
    let hidden = kernels.recurrent.dims()[0];
    let (width, rows) = (3 * hidden, steps * batch);
    let inputs = step_major_rows(sequences, reverse);
    let input_kernel = shared(kernels.input.clone());
    let input_bias = shared(kernels.input_bias.clone());
    let new_bias = shared(kernels.recurrent_bias.clone());
    let recurrent = PackedMatrix::pack(slice(&shared(kernels.recurrent.clone())), hidden, width);

    let step_inputs = shared(inputs.clone());
    let input_kernel = PackedMatrix::pack(slice(&input_kernel), input, width);
    // Every value is written before it is read: spare buffers of an earlier batch will do.
    let mut gates = spare::take(rows * width);
    let mut recurrent_new = spare::take(rows * hidden);
    let mut hiddens = spare::take(rows * hidden);
    let reads = ForwardReads {
        inputs: slice(&step_inputs),
        input_kernel: &input_kernel,
        batch,
        input,
        recurrent: &recurrent,
        input_bias: slice(&input_bias),
        new_bias: slice(&new_bias),
        hidden,
        activations,
    };
    let parts = batch_parts(batch, threads);
    let jobs: Vec<_> = parts
        .iter()
        .cloned()
        .zip(rows_of_every_step(&mut gates, batch, width, &parts))
        .zip(rows_of_every_step(
            &mut recurrent_new,
            batch,
            hidden,
            &parts,
        ))
        .zip(rows_of_every_step(&mut hiddens, batch, hidden, &parts))
        .collect();
    on_threads(jobs, |(((part, gates), recurrent_new), hiddens)| {
        widest_simd(ForwardJob {
            reads: &reads,
            part,
            gates,
            recurrent_new,
            hiddens,
        })
    });

    let hiddens = array(hiddens, [rows, hidden]);
    let outputs = batch_major_view(&hiddens, batch, reverse);
    if !keep_trace {
        spare::give_back(gates);
        spare::give_back(recurrent_new);
        return (outputs, None);
    }
    let trace = Some(GruTrace {
        inputs,
        kernels,
        activations,
        reverse,
        gates: tensor(gates, [rows, width]),
        recurrent_new: tensor(recurrent_new, [rows, hidden]),
        hiddens: Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(hiddens))),
    });
    (outputs, trace)
}

/// What every thread of the backward recurrence reads: the trace (step-major, whole batch) and
/// the outputs' gradient (`[batch, steps, hidden]`, or `[batch, hidden]` when `final_only`).
struct BackwardReads<'a> {
    gates: &'a [f32],
    recurrent_new: &'a [f32],
    hiddens: &'a [f32],
    output_grad: &'a [f32],
    final_only: bool,
    recurrent_t: &'a PackedMatrix,
    batch: usize,
    steps: usize,
    reverse: bool,
    hidden: usize,
    activations: GruActivations,
}

/// One thread's rows back through every step, last to first, writing their `dx` and `du`.
struct BackwardJob<'a, 'b> {
    reads: &'b BackwardReads<'a>,
    part: Range<usize>,
    dx: Vec<&'b mut [f32]>,
    du: Vec<&'b mut [f32]>,
}

impl WithSimd for BackwardJob<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let BackwardReads {
            gates,
            recurrent_new,
            hiddens,
            output_grad,
            final_only,
            recurrent_t,
            batch,
            steps,
            reverse,
            hidden,
            activations,
        } = *self.reads;
        let (part, mut dx, mut du) = (self.part, self.dx, self.du);
        let width = 3 * hidden;
        let mut carried = vec![0.0; part.len() * hidden];
        let mut dh = vec![0.0; hidden];
        let mut slopes = vec![0.0; width];
        for step in (0..steps).rev() {
            let time = if reverse { steps - 1 - step } else { step };
            let (dx_rows, du_rows) = (&mut *dx[step], &mut *du[step]);
            for (local, b) in part.clone().enumerate() {
                let row = step * batch + b;
                let given = match final_only {
                    false => Some(&output_grad[(b * steps + time) * hidden..][..hidden]),
                    true if step == steps - 1 => Some(&output_grad[b * hidden..][..hidden]),
                    true => None,
                };
                let carried_row = &mut carried[local * hidden..(local + 1) * hidden];
                match given {
                    Some(given) => {
                        for ((dh, g), c) in dh.iter_mut().zip(given).zip(&*carried_row) {
                            *dh = g + c;
                        }
                    }
                    None => dh.copy_from_slice(carried_row),
                }
                let g = &gates[row * width..(row + 1) * width];
                let (update, rest) = g.split_at(hidden);
                let (reset, new) = rest.split_at(hidden);
                let u_new = &recurrent_new[row * hidden..(row + 1) * hidden];
                activations
                    .gate
                    .slopes_into(&g[..2 * hidden], &mut slopes[..2 * hidden]);
                activations
                    .candidate
                    .slopes_into(new, &mut slopes[2 * hidden..]);
                let previous = (step > 0).then(|| &hiddens[(row - batch) * hidden..][..hidden]);
                let dx_row = &mut dx_rows[local * width..(local + 1) * width];
                let du_row = &mut du_rows[local * width..(local + 1) * width];
                let (dx_update, dx_rest) = dx_row.split_at_mut(hidden);
                let (dx_reset, dx_new) = dx_rest.split_at_mut(hidden);
                let (du_update, du_rest) = du_row.split_at_mut(hidden);
                let (du_reset, du_new) = du_rest.split_at_mut(hidden);
                let (slope_update, slope_rest) = slopes.split_at(hidden);
                let (slope_reset, slope_new) = slope_rest.split_at(hidden);
                // Each gradient in its own pass over the row, so that every loop vectorises.
                for (((d, &dh), &z), &s) in dx_new.iter_mut().zip(&dh).zip(update).zip(slope_new) {
                    *d = dh * (1.0 - z) * s;
                }
                match previous {
                    Some(previous) => {
                        for ((((d, &dh), &p), &n), &s) in dx_update
                            .iter_mut()
                            .zip(&dh)
                            .zip(previous)
                            .zip(new)
                            .zip(slope_update)
                        {
                            *d = dh * (p - n) * s;
                        }
                    }
                    None => {
                        for (((d, &dh), &n), &s) in
                            dx_update.iter_mut().zip(&dh).zip(new).zip(slope_update)
                        {
                            *d = dh * (0.0 - n) * s;
                        }
                    }
                }
                for (((d, &a), &u), &s) in dx_reset
                    .iter_mut()
                    .zip(&*dx_new)
                    .zip(u_new)
                    .zip(slope_reset)
                {
                    *d = a * u * s;
                }
                du_update.copy_from_slice(dx_update);
                du_reset.copy_from_slice(dx_reset);
                for ((d, &a), &r) in du_new.iter_mut().zip(&*dx_new).zip(reset) {
                    *d = a * r;
                }
                for ((c, &dh), &z) in carried_row.iter_mut().zip(&dh).zip(update) {
                    *c = dh * z;
                }
            }
            if step > 0 {
                recurrent_t.multiply_into(du_rows, &mut carried, true);
            }
        }
    }
}

/// See [`LstmBackend::gru_backward`](crate::lstm_op::LstmBackend::gru_backward).
pub fn backward(
    trace: GruTrace<Cpu>,
    output_grad: OutputGrad<Cpu>,
    want_sequences: bool,
) -> GruGradients<Cpu> {
    let [rows, hidden] = trace.hiddens.dims();
    let (batch, input) = (output_grad.batch(), trace.inputs.dims()[1]);
    let flops = (rows * 12 * hidden * (input + hidden)) as f64;
    let threads = threads_for(batch, flops);
    backward_on_threads(trace, output_grad, want_sequences, threads)
}

/// [`backward`] with the batch split across `threads` threads through the recurrence.
pub(super) fn backward_on_threads(
    trace: GruTrace<Cpu>,
    output_grad: OutputGrad<Cpu>,
    want_sequences: bool,
    threads: usize,
) -> GruGradients<Cpu> {
    let [rows, hidden] = trace.hiddens.dims();
    let (batch, input) = (output_grad.batch(), trace.inputs.dims()[1]);
    let (width, steps) = (3 * hidden, rows / batch);
    let (output_grad, final_only) = match output_grad {
        OutputGrad::EveryStep(grad) => (shared(grad), false),
        OutputGrad::FinalStep(grad) => (shared(grad), true),
    };
    let recurrent_t = PackedMatrix::pack_transposed(
        slice(&shared(trace.kernels.recurrent.clone())),
        width,
        hidden,
    );
    let gates = shared(trace.gates);
    let recurrent_new = shared(trace.recurrent_new);
    let hiddens = shared(trace.hiddens);
    let hidden_values = slice(&hiddens);

    // Per step: the gradients of the input projection (`dx`) and of the recurrent one (`du`,
    // which differs from `dx` in the new gate: the reset gate multiplies its recurrent part).
    let mut dx = vec![0.0; rows * width];
    let mut du = vec![0.0; rows * width];
    let reads = BackwardReads {
        gates: slice(&gates),
        recurrent_new: slice(&recurrent_new),
        hiddens: hidden_values,
        output_grad: slice(&output_grad),
        final_only,
        recurrent_t: &recurrent_t,
        batch,
        steps,
        reverse: trace.reverse,
        hidden,
        activations: trace.activations,
    };
    let parts = batch_parts(batch, threads);
    let jobs: Vec<_> = parts
        .iter()
        .cloned()
        .zip(rows_of_every_step(&mut dx, batch, width, &parts))
        .zip(rows_of_every_step(&mut du, batch, width, &parts))
        .collect();
    on_threads(jobs, |((part, dx), du)| {
        widest_simd(BackwardJob {
            reads: &reads,
            part,
            dx,
            du,
        })
    });

    // The weight gradients over all steps: `xᵀ·dx`, `hᵀ·du` (step s's recurrent input is
    // h(s-1); step 0's is zero and adds nothing), and the biases' sums.
    let inputs = shared(trace.inputs);
    let mut input_kernel = vec![0.0; input * width];
    gemm_on_threads(
        view(slice(&inputs), rows, input).reversed_axes(),
        view(&dx, rows, width),
        &mut input_kernel,
        threads,
    );
    let mut recurrent_kernel = vec![0.0; hidden * width];
    if steps > 1 {
        gemm_on_threads(
            view(
                &hidden_values[..(rows - batch) * hidden],
                rows - batch,
                hidden,
            )
            .reversed_axes(),
            view(&du[batch * width..], rows - batch, width),
            &mut recurrent_kernel,
            threads,
        );
    }
    let mut input_bias = vec![0.0; width];
    let mut recurrent_bias = vec![0.0; hidden];
    for (dx_row, du_row) in dx.chunks_exact(width).zip(du.chunks_exact(width)) {
        for (sum, value) in input_bias.iter_mut().zip(dx_row) {
            *sum += value;
        }
        for (sum, value) in recurrent_bias.iter_mut().zip(&du_row[2 * hidden..]) {
            *sum += value;
        }
    }
    let sequences = want_sequences.then(|| {
        let input_kernel = shared(trace.kernels.input);
        let input_kernel_t = PackedMatrix::pack_transposed(slice(&input_kernel), width, input);
        let grad =
            sequence_gradient_batch_major(&input_kernel_t, &dx, batch, trace.reverse, threads);
        tensor(grad, [batch, steps, input])
    });
    GruGradients {
        sequences,
        input_kernel: tensor(input_kernel, [input, width]),
        recurrent_kernel: tensor(recurrent_kernel, [hidden, width]),
        input_bias: tensor(input_bias, [width]),
        recurrent_bias: tensor(recurrent_bias, [hidden]),
    }
}
