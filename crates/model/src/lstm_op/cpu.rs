//! The LSTM op as a CPU kernel for `NdArray`: plain `f32` buffers, the per-step products with
//! the recurrent kernel packed once per pass ([`PackedMatrix`]), the products over all steps
//! through ndarray's `general_mat_mul` (the `matrixmultiply` GEMM that burn-ndarray itself
//! uses), and each step's gate arithmetic in one loop.
//!
//! Per step, the tensor version runs a dozen element-wise operations, each a pass over memory
//! and a fresh allocation; here one pass reads the step's pre-activations and writes the gates,
//! the cell state and the hidden state, and the backward pass likewise computes all four gates'
//! gradients in one pass. Buffers are step-major in processing order, as in [`LstmTrace`].

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_ndarray::{NdArray, NdArrayTensor};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArcArray, ArrayView2, ArrayViewMut2, Axis, IxDyn};
use pulp::{Simd, WithSimd};
use std::ops::Range;
use std::sync::OnceLock;

use super::outer_sums::{outer_product_sums, ColumnBlock, PANEL};
use super::packed::PackedMatrix;
use super::spare;
use super::{LstmActivations, LstmGradients, LstmKernels, LstmTrace, Nonlinearity, OutputGrad};
use crate::ndarray_buffers::{array, other_dtype, owned, shared, slice, tensor};

type Cpu = NdArray;

impl Nonlinearity {
    /// `slopes[j]` = the derivative at the input that produced `values[j]`, from the value
    /// alone; one vectorised pass, as [`apply_in_place`](Self::apply_in_place).
    #[inline(always)]
    fn slopes_into(self, values: &[f32], slopes: &mut [f32]) {
        let values = &values[..slopes.len()];
        let each = slopes.iter_mut().zip(values);
        match self {
            Self::Sigmoid => each.for_each(|(s, y)| *s = y * (1.0 - y)),
            Self::HardSigmoid { alpha, .. } => {
                let alpha = alpha as f32;
                each.for_each(|(s, &y)| *s = if y > 0.0 && y < 1.0 { alpha } else { 0.0 })
            }
            Self::Tanh => each.for_each(|(s, y)| *s = 1.0 - y * y),
            Self::Relu => each.for_each(|(s, &y)| *s = if y > 0.0 { 1.0 } else { 0.0 }),
        }
    }

    /// Replaces each value by the function at it: one pass, with the choice of function made
    /// once per call, so that the compiler vectorises the loop.
    #[inline(always)]
    fn apply_in_place(self, values: &mut [f32]) {
        match self {
            Self::Sigmoid => values.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Self::HardSigmoid { alpha, beta } => {
                let (alpha, beta) = (alpha as f32, beta as f32);
                values
                    .iter_mut()
                    .for_each(|v| *v = (alpha * *v + beta).clamp(0.0, 1.0))
            }
            Self::Tanh => values.iter_mut().for_each(|v| *v = tanh(*v)),
            Self::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
    }
}

/// `e^x` without a library call, so that loops over it vectorise: `x = n·ln 2 + r` with
/// `|r| <= ln 2 / 2`, `e^r` by Cephes' `expf` polynomial, `2^n` built in the exponent bits.
/// Within 8.3e-8 relative of the exact value (libm's `expf`: 6.0e-8; measured over [-87, 88] in
/// steps of 1e-4). Arguments are clamped to where `2^n` is a normal float (`e^-87` is 1.6e-38,
/// `e^88` 1.7e38), which the sigmoid and tanh saturate long before.
#[inline(always)]
fn exp(x: f32) -> f32 {
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer in the float unit itself.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5; // Cephes: 5.0000001201e-1, which is 0.5 in f32
    let e_r = p * r * r + r + 1.0;
    // 2^n from its biased exponent n + 127 (1..=254 here), read out of the float 2^23 + n + 127
    // whose low bits hold it: `as i32` would saturate and keep the loop scalar.
    // (Wrapping: an overflow check, which debug builds keep, would keep the loop scalar too.)
    let biased = (n + (127.0 + 8_388_608.0))
        .to_bits()
        .wrapping_sub(0x4B00_0000);
    e_r * f32::from_bits(biased << 23)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh` through one [`exp`]: `1 - 2/(e^2x + 1)`, which loses relative precision near zero by
/// cancellation, so small arguments take the Taylor series instead (both are computed and one
/// kept, which vectorises; the series' first omitted term is below 1e-8 relative there). Within
/// about 1e-6 relative of libm's `tanhf` everywhere; saturates to exactly ±1.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let x2 = x * x;
    let series = x
        * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0 - x2 * (62.0 / 2835.0)))));
    let closed = 1.0 - 2.0 / (exp(2.0 * x) + 1.0);
    if x.abs() < 0.25 {
        series
    } else {
        closed
    }
}

/// Step-major rows (`[steps·batch, width]`, processing order) as `[batch, steps, width]` in the
/// input's time order, sharing `rows`' buffer: [`super::batch_major`] does this in tensor
/// operations, but NdArray's `reshape` copies every time (W3: 13 MB per batch, on one thread).
fn batch_major_view(rows: &ArcArray<f32, IxDyn>, batch: usize, reverse: bool) -> Tensor<Cpu, 3> {
    let [total, width] = rows.shape() else {
        unreachable!("step-major rows are two-dimensional")
    };
    let steps = total / batch;
    let mut array = rows
        .clone()
        .into_shape_with_order(IxDyn(&[steps, batch, *width]))
        .expect("the rows are contiguous, `steps·batch` of them");
    array.swap_axes(0, 1);
    if reverse {
        array.invert_axis(Axis(1));
    }
    Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(array)))
}

/// [`super::step_major`] for NdArray: `[batch, steps, width]` as step-major rows
/// (`[steps·batch, width]`, processing order), one row copy per sequence and step. The tensor
/// version's reshape of a transposed view copies value by value through ndarray's generic
/// iterator: with W2's one feature, 5% of the training thread's `perf` samples went there.
fn step_major_rows(sequences: Tensor<Cpu, 3>, reverse: bool) -> Tensor<Cpu, 2> {
    let [batch, steps, width] = sequences.dims();
    let values = shared(sequences);
    let values = slice(&values);
    let mut rows = Vec::with_capacity(steps * batch * width);
    for position in 0..steps {
        let step = if reverse {
            steps - 1 - position
        } else {
            position
        };
        for sequence in 0..batch {
            let start = (sequence * steps + step) * width;
            rows.extend_from_slice(&values[start..start + width]);
        }
    }
    tensor(rows, [steps * batch, width])
}

/// See [`LstmBackend::lstm_final_step`](super::LstmBackend::lstm_final_step). The outputs of
/// [`forward`] are a view of step-major rows, so one step's hidden states are a contiguous
/// block of them: one copy.
pub fn final_step(outputs: Tensor<Cpu, 3>, reverse: bool) -> Tensor<Cpu, 2> {
    let [_, steps, _] = outputs.dims();
    let time = if reverse { 0 } else { steps - 1 };
    let array = match outputs.into_primitive().tensor() {
        NdArrayTensor::F32(storage) => storage.into_shared(),
        other => other_dtype(other),
    };
    // `to_owned` copies a contiguous view in one piece, any other element by element.
    let state = array.index_axis(Axis(1), time).to_owned().into_shared();
    // Without a trace (inference) nothing else holds the hidden states: the next batch's
    // forward pass takes their buffer instead of a fresh one (W3: 13 MB per batch).
    spare::give_back_array(array);
    Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(state)))
}

fn view(values: &[f32], rows: usize, columns: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, columns), values).expect("buffer sizes follow the shapes")
}

fn view_mut(values: &mut [f32], rows: usize, columns: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, columns), values).expect("buffer sizes follow the shapes")
}

/// `c = a·b`, `c` row-major `[a.rows, b.columns]`, on `threads` threads: each computes a block of
/// `c`'s rows (or of its columns, when `c` is wider than tall), so no two write the same value
/// and each value is summed in the same order whatever the thread count.
fn gemm_on_threads(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, c: &mut [f32], threads: usize) {
    let (rows, columns) = (a.nrows(), b.ncols());
    let mut c = view_mut(c, rows, columns);
    let by_rows = rows >= columns;
    let axis = if by_rows { Axis(0) } else { Axis(1) };
    let block = c.len_of(axis).div_ceil(threads.max(1)).max(1);
    let c_blocks = c.axis_chunks_iter_mut(axis, block);
    let jobs: Vec<_> = if by_rows {
        a.axis_chunks_iter(Axis(0), block)
            .zip(std::iter::repeat(b))
            .zip(c_blocks)
            .collect()
    } else {
        std::iter::repeat(a)
            .zip(b.axis_chunks_iter(Axis(1), block))
            .zip(c_blocks)
            .collect()
    };
    on_threads(jobs, |((a, b), mut c)| {
        general_mat_mul(1.0, &a, &b, 0.0, &mut c)
    });
}

/// Below this many floating-point operations per thread, handing work to another thread costs
/// more than it saves: the tutorial (13 MFLOP per backward pass) measured faster on one thread
/// than on two, with threads started per call and again with the kept pool ([`helpers`]; at
/// 2 MFLOP the whole `app train` took 375 ms against 355, medians of six alternating runs).
const MIN_FLOPS_PER_THREAD: f64 = 16e6;
/// Each thread's rows in the per-step products: fewer than this leave the GEMM's 8-row tiles
/// mostly empty.
const MIN_ROWS_PER_THREAD: usize = 8;

/// The cores this process may use (cgroup quotas and `taskset` included), looked up once.
fn available_threads() -> usize {
    static AVAILABLE: OnceLock<usize> = OnceLock::new();
    *AVAILABLE.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// How many threads share work of `flops` spread over `rows` independent rows.
fn threads_for(rows: usize, flops: f64) -> usize {
    let by_work = (flops / MIN_FLOPS_PER_THREAD) as usize;
    let by_rows = rows / MIN_ROWS_PER_THREAD;
    available_threads().min(by_work).min(by_rows).max(1)
}

/// Splits `0..batch` into `threads` contiguous ranges of nearly equal length.
fn batch_parts(batch: usize, threads: usize) -> Vec<Range<usize>> {
    let threads = threads.clamp(1, batch.max(1));
    (0..threads)
        .map(|t| batch * t / threads..batch * (t + 1) / threads)
        .collect()
}

/// Cuts a step-major buffer (`[steps][batch][width]`) into each part's rows of every step:
/// `result[part][step]` is that part's `[rows, width]` block of that step.
fn rows_of_every_step<'a>(
    buffer: &'a mut [f32],
    batch: usize,
    width: usize,
    parts: &[Range<usize>],
) -> Vec<Vec<&'a mut [f32]>> {
    let mut blocks: Vec<Vec<&mut [f32]>> = parts.iter().map(|_| Vec::new()).collect();
    for step in buffer.chunks_exact_mut(batch * width) {
        let mut rest = step;
        for (part, rows) in blocks.iter_mut().zip(parts) {
            let (block, after) = rest.split_at_mut(rows.len() * width);
            part.push(block);
            rest = after;
        }
    }
    blocks
}

/// Runs `job` once per item, the last on this thread and the others on [`helpers`]' threads.
fn on_threads<T: Send>(mut items: Vec<T>, job: impl Fn(T) + Sync) {
    let own = items.pop();
    let job = &job;
    helpers().in_place_scope(|scope| {
        for item in items {
            scope.spawn(move |_| job(item));
        }
        if let Some(item) = own {
            job(item);
        }
    });
}

/// Threads kept between calls, one fewer than [`available_threads`] since the calling thread
/// takes a share too (idle pool threads spin a while before they sleep, and a spare one took
/// time from the two that work). A thread started per call, as `std::thread::scope` does, cost
/// tens of microseconds and a cold allocator heap, three times per training batch.
fn helpers() -> &'static rayon::ThreadPool {
    static HELPERS: OnceLock<rayon::ThreadPool> = OnceLock::new();
    HELPERS.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(available_threads().saturating_sub(1).max(1))
            .thread_name(|index| format!("lstm-kernel-{index}"))
            .build()
            .expect("a thread pool starts")
    })
}

/// Runs `job` compiled for the widest SIMD instructions this CPU has (AVX-512, AVX2+FMA, ...,
/// picked at run time by `pulp`). The build targets baseline x86-64, whose SSE2 is all the
/// compiler may use elsewhere: the gate passes ran four lanes at a time. The arithmetic is the
/// same operations in the same order (Rust does not contract `a * b + c` into an FMA), only
/// wider.
fn widest_simd(job: impl WithSimd<Output = ()>) {
    pulp::Arch::new().dispatch(job)
}

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

/// One thread's share of [`backward_rows`], as [`ForwardJob`] is of the forward.
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
/// a pass over the whole gate buffer (52 MB in W3) and finds the values in cache.
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

/// See [`LstmBackend::lstm_forward`](super::LstmBackend::lstm_forward).
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
fn forward_on_threads(
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

/// See [`LstmBackend::lstm_backward`](super::LstmBackend::lstm_backward).
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
fn backward_on_threads(
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
        let mut grad = vec![0.0; rows * input];
        gemm_on_threads(
            view(&dz, rows, width),
            view(slice(&input_kernel), input, width).reversed_axes(),
            &mut grad,
            threads,
        );
        batch_major_view(&array(grad, [rows, input]), batch, trace.reverse)
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

/// See [`LstmBackend::lstm_join_gates`](super::LstmBackend::lstm_join_gates): each row of the
/// result is the four gates' rows one after the other.
pub fn join_gates<const D: usize>(gates: [Tensor<Cpu, D>; 4]) -> Tensor<Cpu, D> {
    let mut shape = gates[0].dims();
    let columns = shape[D - 1];
    let gates = gates.map(shared);
    let rows = gates[0].len() / columns.max(1);
    let mut joined = Vec::with_capacity(4 * rows * columns);
    for row in 0..rows {
        for gate in &gates {
            joined.extend_from_slice(&slice(gate)[row * columns..][..columns]);
        }
    }
    shape[D - 1] = 4 * columns;
    tensor(joined, shape)
}

/// See [`LstmBackend::lstm_split_gates`](super::LstmBackend::lstm_split_gates).
pub fn split_gates<const D: usize>(joined: Tensor<Cpu, D>) -> [Tensor<Cpu, D>; 4] {
    let mut shape = joined.dims();
    let columns = shape[D - 1] / 4;
    shape[D - 1] = columns;
    let joined = shared(joined);
    let rows = joined.len() / (4 * columns).max(1);
    std::array::from_fn(|gate| {
        let mut part = Vec::with_capacity(rows * columns);
        for row in slice(&joined).chunks_exact((4 * columns).max(1)) {
            part.extend_from_slice(&row[gate * columns..][..columns]);
        }
        tensor(part, shape)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// The row-copy join and split equal `Tensor::cat` and `narrow` (what every other backend
    /// runs), for vectors, matrices, a transposed (non-contiguous) matrix and one column per
    /// gate, and split undoes join.
    #[test]
    fn joining_and_splitting_gates_equal_cat_and_narrow() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let matrix = |rows: usize, columns: usize| {
            Tensor::<Cpu, 2>::random([rows, columns], Distribution::Normal(0.0, 1.0), &device)
        };
        let transposed = std::array::from_fn(|_| matrix(5, 3).transpose());
        for gates in [
            std::array::from_fn(|_| matrix(3, 4)),
            std::array::from_fn(|_| matrix(2, 1)),
            transposed,
        ] {
            let joined = join_gates(gates.clone());
            assert_eq!(
                values(joined.clone()),
                values(Tensor::cat(gates.to_vec(), 1)),
                "join of {:?}",
                gates[0].dims()
            );
            let width = gates[0].dims()[1];
            for (gate, (part, original)) in split_gates(joined.clone())
                .into_iter()
                .zip(gates)
                .enumerate()
            {
                assert_eq!(part.dims(), original.dims());
                assert_eq!(
                    values(part),
                    values(joined.clone().narrow(1, gate * width, width))
                );
                assert_eq!(
                    values(
                        split_gates(join_gates([
                            original.clone(),
                            original.clone(),
                            original.clone(),
                            original.clone()
                        ]))[gate]
                            .clone()
                    ),
                    values(original)
                );
            }
        }
        let vectors: [Tensor<Cpu, 1>; 4] = std::array::from_fn(|gate| {
            Tensor::from_floats([gate as f32, 10.0 + gate as f32], &device)
        });
        let joined = join_gates(vectors);
        assert_eq!(
            values(joined.clone()),
            [0.0, 10.0, 1.0, 11.0, 2.0, 12.0, 3.0, 13.0]
        );
        let parts = split_gates(joined).map(values);
        assert_eq!(parts[2], [2.0, 12.0]);
    }

    /// The row copies equal the tensor-operation versions every other backend runs: step-major
    /// rows of contiguous and transposed (non-contiguous) sequences, and the final step of plain
    /// outputs and of [`forward`]'s (a view of step-major rows), in both directions.
    #[test]
    fn step_rows_and_final_step_equal_the_tensor_operations() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let random = |shape: [usize; 3]| {
            Tensor::<Cpu, 3>::random(shape, Distribution::Normal(0.0, 1.0), &device)
        };
        let kernels = |input: usize, hidden: usize| LstmKernels {
            input: Tensor::random([input, 4 * hidden], Distribution::Normal(0.0, 0.5), &device),
            recurrent: Tensor::random(
                [hidden, 4 * hidden],
                Distribution::Normal(0.0, 0.5),
                &device,
            ),
            bias: Tensor::random([4 * hidden], Distribution::Normal(0.0, 0.5), &device),
        };
        let activations = LstmActivations {
            gate: Nonlinearity::Sigmoid,
            cell: Nonlinearity::Tanh,
            hidden: Nonlinearity::Tanh,
        };
        for reverse in [false, true] {
            for sequences in [
                random([4, 5, 3]),
                random([2, 7, 1]),
                random([5, 4, 3]).swap_dims(0, 1),
            ] {
                let rows = step_major_rows(sequences.clone(), reverse);
                let expected = super::super::step_major(sequences.clone(), reverse);
                assert_eq!(rows.dims(), expected.dims());
                assert_eq!(values(rows), values(expected), "{:?}", sequences.dims());

                assert_eq!(
                    values(final_step(sequences.clone(), reverse)),
                    values(super::super::final_step(sequences.clone(), reverse))
                );
                let [_, _, input] = sequences.dims();
                let (outputs, _) = forward(
                    sequences.clone(),
                    kernels(input, 6),
                    activations,
                    reverse,
                    false,
                );
                assert_eq!(
                    values(final_step(outputs.clone(), reverse)),
                    values(super::super::final_step(outputs, reverse)),
                    "final step of forward's outputs, {:?}",
                    sequences.dims()
                );
            }
        }
    }

    #[test]
    fn batch_parts_cover_the_batch_in_order() {
        for batch in [1, 2, 7, 64] {
            for threads in [1, 2, 3, 100] {
                let parts = batch_parts(batch, threads);
                assert_eq!(parts.len(), threads.min(batch));
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts.last().map(|p| p.end), Some(batch));
                assert!(parts
                    .windows(2)
                    .all(|w| w[0].end == w[1].start && !w[1].is_empty()));
            }
        }
    }

    #[test]
    fn fast_exp_and_sigmoid_are_within_3e_7_relative() {
        let (mut worst_exp, mut worst_sigmoid) = (0f64, 0f64);
        for i in -870_000..=880_000 {
            let x = i as f32 * 1e-4;
            let exact = (x as f64).exp();
            worst_exp = worst_exp.max(((exp(x) as f64 - exact) / exact).abs());
            let exact = 1.0 / (1.0 + (-x as f64).exp());
            worst_sigmoid = worst_sigmoid.max(((sigmoid(x) as f64 - exact) / exact).abs());
        }
        assert!(worst_exp < 3e-7, "exp: worst relative error {worst_exp}");
        assert!(
            worst_sigmoid < 3e-7,
            "sigmoid: worst relative error {worst_sigmoid}"
        );
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert!(sigmoid(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn fast_tanh_is_within_a_millionth_relative_of_libm() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let exact = (x as f64).tanh();
            let error = ((tanh(x) as f64 - exact) / exact.abs().max(1e-30)).abs();
            worst = worst.max(if x == 0.0 { 0.0 } else { error });
        }
        for x in [30.0f32, 100.0, 1e30, f32::INFINITY] {
            assert_eq!(tanh(x), 1.0);
            assert_eq!(tanh(-x), -1.0);
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
    }
}
