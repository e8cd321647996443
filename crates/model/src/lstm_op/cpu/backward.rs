//! The backward pass: the recurrence back through the steps, split by batch rows across
//! threads, then the weight gradients over all steps at once, split by columns.

use pulp::{Simd, WithSimd};
use std::ops::Range;

use super::outer_sums::{outer_product_sums, ColumnBlock, PANEL};
use super::packed::{sequence_gradient_batch_major, PackedMatrix};
use super::threads::{batch_parts, on_threads, rows_of_every_step, threads_for, widest_simd};
use super::{spare, Cpu};
use crate::lstm_op::{LstmActivations, LstmGradients, LstmTrace, OutputGrad};
use crate::ndarray_buffers::{owned, shared, slice, tensor};

/// One thread's share of [`backward_rows`], as [`ForwardJob`](super::forward::ForwardJob) is of the forward.
struct BackwardJob<'a, 'b> {
    reads: &'b BackwardReads<'a>,
    part: Range<usize>,
    gates: Vec<&'b mut [f32]>,
}

impl WithSimd for BackwardJob<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        backward_rows(self.reads, self.part, self.gates)
    }
}

/// What every thread of the backward recurrence reads: the trace's cells (step-major), the
/// outputs' gradient (`[batch, steps, hidden]` as given, or `[batch, hidden]` when
/// `final_only`), the transposed recurrent kernel.
struct BackwardReads<'a> {
    cells: &'a [f32],
    output_grad: &'a [f32],
    final_only: bool,
    recurrent_t: &'a PackedMatrix,
    batch: usize,
    steps: usize,
    reverse: bool,
    hidden: usize,
    activations: LstmActivations,
}

/// One part's rows back through every step, last to first: each step's activated gates in
/// `gates` are overwritten with the gradient of their pre-activations (`dz`). Each value of a
/// row is read before it is overwritten, and no step reads another step's gates, so the trace's
/// gate buffer holds `dz` without a second buffer of its size.
#[inline(always)]
fn backward_rows(reads: &BackwardReads<'_>, part: Range<usize>, mut gates: Vec<&mut [f32]>) {
    let BackwardReads {
        cells,
        output_grad,
        final_only,
        recurrent_t,
        batch,
        steps,
        reverse,
        hidden,
        activations,
    } = *reads;
    let LstmActivations {
        gate,
        cell: candidate_activation,
        hidden: hidden_activation,
    } = activations;
    let (rows, width) = (part.len(), 4 * hidden);
    let mut hidden_carry = vec![0.0; rows * hidden];
    let mut cell_carry = vec![0.0; rows * hidden];
    // Per row: act(c), its slope, and each gate's slope at its value, each computed in one
    // vectorised pass, so that the loop below is plain arithmetic.
    let mut squashed = vec![0.0; hidden];
    let mut squashed_slope = vec![0.0; hidden];
    let mut gate_slopes = vec![0.0; width];
    let no_cells = vec![0.0; hidden];
    for (step, dz_step) in gates.iter_mut().enumerate().rev() {
        let time = if reverse { steps - 1 - step } else { step };
        for (b, row) in dz_step.chunks_exact_mut(width).enumerate() {
            let r = step * batch + part.start + b;
            let cell = &cells[r * hidden..(r + 1) * hidden];
            let previous = match step {
                0 => &no_cells[..],
                _ => &cells[(r - batch) * hidden..(r - batch + 1) * hidden],
            };
            // The outputs' gradient is read where it lies, batch-major, in time order.
            let from_output = match final_only {
                false => &output_grad[((part.start + b) * steps + time) * hidden..][..hidden],
                true if step == steps - 1 => &output_grad[(part.start + b) * hidden..][..hidden],
                true => &no_cells[..],
            };
            squashed.copy_from_slice(cell);
            hidden_activation.apply_in_place(&mut squashed);
            hidden_activation.slopes_into(&squashed, &mut squashed_slope);
            gate.slopes_into(&row[..3 * hidden], &mut gate_slopes[..3 * hidden]);
            candidate_activation.slopes_into(&row[3 * hidden..], &mut gate_slopes[3 * hidden..]);
            let (i_slope, rest) = gate_slopes.split_at(hidden);
            let (f_slope, rest) = rest.split_at(hidden);
            let (o_slope, g_slope) = rest.split_at(hidden);
            let (dz_i, rest) = row.split_at_mut(hidden);
            let (dz_f, rest) = rest.split_at_mut(hidden);
            let (dz_o, dz_g) = rest.split_at_mut(hidden);
            let dh_carried = &hidden_carry[b * hidden..(b + 1) * hidden];
            let dc_carried = &mut cell_carry[b * hidden..(b + 1) * hidden];
            for j in 0..hidden {
                let (i, f, o, g) = (dz_i[j], dz_f[j], dz_o[j], dz_g[j]);
                let dh = from_output[j] + dh_carried[j];
                let dc = dh * o * squashed_slope[j] + dc_carried[j];
                dc_carried[j] = dc * f;
                dz_i[j] = dc * g * i_slope[j];
                dz_f[j] = dc * previous[j] * f_slope[j];
                dz_o[j] = dh * squashed[j] * o_slope[j];
                dz_g[j] = dc * i * g_slope[j];
            }
        }
        if step > 0 {
            recurrent_t.multiply_into(dz_step, &mut hidden_carry, false);
        }
    }
}

/// See [`LstmBackend::lstm_backward`](crate::lstm_op::LstmBackend::lstm_backward).
pub fn backward(
    trace: LstmTrace<Cpu>,
    output_grad: OutputGrad<Cpu>,
    want_sequences: bool,
) -> LstmGradients<Cpu> {
    let [rows, hidden] = trace.cells.dims();
    let (batch, input) = (output_grad.batch(), trace.inputs.dims()[1]);
    let steps = rows / batch;
    // The forward's products, twice over (the recurrence, then the weight gradients).
    let flops = (steps * batch * 16 * hidden * (input + hidden)) as f64;
    let threads = threads_for(batch, flops);
    backward_on_threads(trace, output_grad, want_sequences, threads)
}

/// [`backward`] with the batch split across `threads` threads through the recurrence, and each
/// weight-gradient product split across them by blocks of its result.
pub(super) fn backward_on_threads(
    trace: LstmTrace<Cpu>,
    output_grad: OutputGrad<Cpu>,
    want_sequences: bool,
    threads: usize,
) -> LstmGradients<Cpu> {
    let [rows, hidden] = trace.cells.dims();
    let (batch, input) = (output_grad.batch(), trace.inputs.dims()[1]);
    let (width, steps) = (4 * hidden, rows / batch);
    let (output_grad, final_only) = match output_grad {
        OutputGrad::EveryStep(grad) => (shared(grad), false),
        OutputGrad::FinalStep(grad) => (shared(grad), true),
    };
    let cells = shared(trace.cells);
    let recurrent_t = PackedMatrix::pack_transposed(
        slice(&shared(trace.kernels.recurrent.clone())),
        width,
        hidden,
    );
    let mut dz = owned(trace.gates);
    let parts = batch_parts(batch, threads);
    let reads = BackwardReads {
        cells: slice(&cells),
        output_grad: slice(&output_grad),
        final_only,
        recurrent_t: &recurrent_t,
        batch,
        steps,
        reverse: trace.reverse,
        hidden,
        activations: trace.activations,
    };
    let jobs: Vec<_> = parts
        .iter()
        .cloned()
        .zip(rows_of_every_step(&mut dz, batch, width, &parts))
        .collect();
    on_threads(jobs, |(part, gates)| {
        widest_simd(BackwardJob {
            reads: &reads,
            part,
            gates,
        })
    });

    // The weight gradients, each thread a block of their columns (of `dz`'s columns): `xᵀ·dz`,
    // `hᵀ·dz` (step s's recurrent input is h(s-1); step 0's is zero and adds nothing) and the
    // bias's `Σ dz`.
    let inputs = shared(trace.inputs);
    let hiddens = shared(trace.hiddens);
    let column_parts: Vec<_> = batch_parts(width.div_ceil(PANEL), threads)
        .into_iter()
        .map(|panels| panels.start * PANEL..(panels.end * PANEL).min(width))
        .collect();
    let mut blocks: Vec<Option<[ColumnBlock; 2]>> = column_parts.iter().map(|_| None).collect();
    let jobs: Vec<_> = column_parts.into_iter().zip(&mut blocks).collect();
    on_threads(jobs, |(columns, block)| {
        let of_inputs =
            outer_product_sums(slice(&inputs), input, &dz, width, columns.clone(), true);
        let of_hiddens = outer_product_sums(
            &slice(&hiddens)[..(rows - batch) * hidden],
            hidden,
            &dz[batch * width..],
            width,
            columns,
            false,
        );
        *block = Some([of_inputs, of_hiddens]);
    });
    let mut input_kernel = vec![0.0; input * width];
    let mut recurrent_kernel = vec![0.0; hidden * width];
    let mut bias = vec![0.0; width];
    for [of_inputs, of_hiddens] in blocks.into_iter().flatten() {
        let columns = of_inputs.columns.clone();
        for (kernel, block) in [
            (&mut input_kernel, &of_inputs.product),
            (&mut recurrent_kernel, &of_hiddens.product),
        ] {
            for (row, part) in kernel
                .chunks_exact_mut(width)
                .zip(block.chunks_exact(columns.len()))
            {
                row[columns.clone()].copy_from_slice(part);
            }
        }
        if let Some(sums) = &of_inputs.sums {
            bias[columns].copy_from_slice(sums);
        }
    }
    let sequences = want_sequences.then(|| {
        let input_kernel = shared(trace.kernels.input);
        let input_kernel_t = PackedMatrix::pack_transposed(slice(&input_kernel), width, input);
        let grad =
            sequence_gradient_batch_major(&input_kernel_t, &dz, batch, trace.reverse, threads);
        tensor(grad, [batch, steps, input])
    });
    spare::give_back(dz);
    spare::give_back_array(cells);
    spare::give_back_array(hiddens);
    LstmGradients {
        sequences,
        input_kernel: tensor(input_kernel, [input, width]),
        recurrent_kernel: tensor(recurrent_kernel, [hidden, width]),
        bias: tensor(bias, [width]),
    }
}
