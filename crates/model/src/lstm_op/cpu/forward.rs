//! The forward pass: each thread takes its rows of the batch through every step.

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_ndarray::NdArrayTensor;
use pulp::{Simd, WithSimd};
use std::ops::Range;

use super::layout::{batch_major_view, step_major_rows};
use super::packed::PackedMatrix;
use super::threads::{batch_parts, on_threads, rows_of_every_step, threads_for, widest_simd};
use super::{spare, Cpu};
use crate::lstm_op::{LstmActivations, LstmKernels, LstmTrace};
use crate::ndarray_buffers::{array, shared, slice, tensor};

/// One thread's share of [`forward_rows`], as a [`WithSimd`] job: its `with_simd` and everything
/// it calls are `#[inline(always)]`, so they are compiled with the chosen instruction set (a
/// closure would be compiled on its own, for the baseline).
struct ForwardJob<'a, 'b> {
    reads: &'b ForwardReads<'a>,
    part: Range<usize>,
    gates: Vec<&'b mut [f32]>,
    cells: Vec<&'b mut [f32]>,
    hiddens: Vec<&'b mut [f32]>,
}

impl WithSimd for ForwardJob<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        forward_rows(self.reads, self.part, self.gates, self.cells, self.hiddens)
    }
}

/// What every thread of the forward recurrence reads.
struct ForwardReads<'a> {
    /// The sequences, step-major `[steps][batch][input]`.
    inputs: &'a [f32],
    input_kernel: &'a PackedMatrix,
    recurrent: &'a PackedMatrix,
    bias: &'a [f32],
    batch: usize,
    input: usize,
    hidden: usize,
    activations: LstmActivations,
}

/// One part's rows through every step: writes the gates' pre-activations (input projection
/// plus recurrent product), overwrites them with the activated gates, and writes cells and
/// hiddens. Projecting each step's inputs here rather than all steps at once beforehand saves
/// a pass over the whole gate buffer (larger than any cache) and finds the values in cache.
#[inline(always)]
fn forward_rows(
    reads: &ForwardReads<'_>,
    part: Range<usize>,
    mut gates: Vec<&mut [f32]>,
    mut cells: Vec<&mut [f32]>,
    mut hiddens: Vec<&mut [f32]>,
) {
    let ForwardReads {
        inputs,
        input_kernel,
        recurrent,
        bias,
        batch,
        input,
        hidden,
        activations,
    } = *reads;
    let LstmActivations {
        gate,
        cell: candidate_activation,
        hidden: hidden_activation,
    } = activations;
    let width = 4 * hidden;
    for (step, z) in gates.iter_mut().enumerate() {
        let (done_hiddens, todo_hiddens) = hiddens.split_at_mut(step);
        let (done_cells, todo_cells) = cells.split_at_mut(step);
        let previous_cells = done_cells.last().map(|cells| &**cells);
        let first_row = step * batch + part.start;
        input_kernel.multiply_into(&inputs[first_row * input..][..part.len() * input], z, false);
        if let Some(previous) = done_hiddens.last() {
            recurrent.multiply_into(previous, z, true);
        }
        let (h_now, c_now) = (&mut *todo_hiddens[0], &mut *todo_cells[0]);
        for (b, ((row, c), h)) in z
            .chunks_exact_mut(width)
            .zip(c_now.chunks_exact_mut(hidden))
            .zip(h_now.chunks_exact_mut(hidden))
            .enumerate()
        {
            for (z, b) in row.iter_mut().zip(bias) {
                *z += b;
            }
            let (sigmoid_gates, candidate) = row.split_at_mut(3 * hidden);
            gate.apply_in_place(sigmoid_gates);
            candidate_activation.apply_in_place(candidate);
            let (i, f_and_o) = sigmoid_gates.split_at(hidden);
            let (f, o) = f_and_o.split_at(hidden);
            match previous_cells {
                Some(cells) => {
                    let previous = &cells[b * hidden..(b + 1) * hidden];
                    for ((((c, i), g), f), previous) in
                        c.iter_mut().zip(i).zip(&*candidate).zip(f).zip(previous)
                    {
                        *c = i * g + f * previous;
                    }
                }
                None => {
                    for ((c, i), g) in c.iter_mut().zip(i).zip(&*candidate) {
                        *c = i * g;
                    }
                }
            }
            h.copy_from_slice(c);
            hidden_activation.apply_in_place(h);
            for (h, o) in h.iter_mut().zip(o) {
                *h *= o;
            }
        }
    }
}

/// See [`LstmBackend::lstm_forward`](crate::lstm_op::LstmBackend::lstm_forward).
pub fn forward(
    sequences: Tensor<Cpu, 3>,
    kernels: LstmKernels<Cpu>,
    activations: LstmActivations,
    reverse: bool,
    keep_trace: bool,
) -> (Tensor<Cpu, 3>, Option<LstmTrace<Cpu>>) {
    let [batch, steps, input] = sequences.dims();
    let hidden = kernels.recurrent.dims()[0];
    let flops = (steps * batch * 8 * hidden * (input + hidden)) as f64;
    let threads = threads_for(batch, flops);
    forward_on_threads(
        sequences,
        kernels,
        activations,
        reverse,
        keep_trace,
        threads,
    )
}

/// [`forward`] with the batch split across `threads` threads. Batch rows are independent
/// through the recurrence, so each thread takes its rows through every step and the threads
/// meet only at the end.
pub(super) fn forward_on_threads(
    sequences: Tensor<Cpu, 3>,
    kernels: LstmKernels<Cpu>,
    activations: LstmActivations,
    reverse: bool,
    keep_trace: bool,
    threads: usize,
) -> (Tensor<Cpu, 3>, Option<LstmTrace<Cpu>>) {
    let [batch, steps, input] = sequences.dims();
    let hidden = kernels.recurrent.dims()[0];
    let (width, rows) = (4 * hidden, steps * batch);
    let inputs = step_major_rows(sequences, reverse);
    let recurrent = shared(kernels.recurrent.clone());
    let bias = shared(kernels.bias.clone());

    // Each step overwrites its pre-activations with the activated gates: the trace keeps them.
    // Every value is written before it is read, so spare buffers of an earlier batch will do.
    let mut gates = spare::take(rows * width);
    let mut cells = spare::take(rows * hidden);
    let mut hiddens = spare::take(rows * hidden);
    let parts = batch_parts(batch, threads);
    let recurrent = PackedMatrix::pack(slice(&recurrent), hidden, width);
    let input_kernel = PackedMatrix::pack(slice(&shared(kernels.input.clone())), input, width);
    let step_inputs = shared(inputs.clone());
    let reads = ForwardReads {
        inputs: slice(&step_inputs),
        input_kernel: &input_kernel,
        recurrent: &recurrent,
        bias: slice(&bias),
        batch,
        input,
        hidden,
        activations,
    };
    let jobs: Vec<_> = parts
        .iter()
        .cloned()
        .zip(rows_of_every_step(&mut gates, batch, width, &parts))
        .zip(rows_of_every_step(&mut cells, batch, hidden, &parts))
        .zip(rows_of_every_step(&mut hiddens, batch, hidden, &parts))
        .collect();
    on_threads(jobs, |(((part, gates), cells), hiddens)| {
        widest_simd(ForwardJob {
            reads: &reads,
            part,
            gates,
            cells,
            hiddens,
        })
    });

    let hiddens = array(hiddens, [rows, hidden]);
    let outputs = batch_major_view(&hiddens, batch, reverse);
    if !keep_trace {
        spare::give_back(gates);
        spare::give_back(cells);
        return (outputs, None);
    }
    let trace = LstmTrace {
        inputs,
        kernels,
        activations,
        reverse,
        gates: tensor(gates, [rows, width]),
        cells: tensor(cells, [rows, hidden]),
        hiddens: Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(hiddens))),
    };
    (outputs, Some(trace))
}
