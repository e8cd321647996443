//! The LSTM op as a CPU kernel for `NdArray`: plain `f32` buffers, the matrix products through
//! ndarray's `general_mat_mul` (the `matrixmultiply` GEMM that burn-ndarray itself uses), and
//! each step's gate arithmetic in one loop.
//!
//! Per step, the tensor version runs a dozen element-wise operations, each a pass over memory
//! and a fresh allocation; here one pass reads the step's pre-activations and writes the gates,
//! the cell state and the hidden state, and the backward pass likewise computes all four gates'
//! gradients in one pass. Buffers are step-major in processing order, as in [`LstmTrace`].

use burn::prelude::*;
use burn::tensor::{TensorMetadata, TensorPrimitive};
use burn_ndarray::{NdArray, NdArrayTensor};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArcArray, ArrayView2, ArrayViewMut2, IxDyn};

use super::{
    batch_major, step_major, LstmActivations, LstmGradients, LstmKernels, LstmTrace, Nonlinearity,
};

type Cpu = NdArray;

impl Nonlinearity {
    #[inline]
    fn value(self, x: f32) -> f32 {
        match self {
            Self::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Self::HardSigmoid { alpha, beta } => (alpha as f32 * x + beta as f32).clamp(0.0, 1.0),
            Self::Tanh => tanh(x),
            Self::Relu => x.max(0.0),
        }
    }

    /// The derivative at the input that produced `y`, from `y` alone.
    #[inline]
    fn slope_at(self, y: f32) -> f32 {
        match self {
            Self::Sigmoid => y * (1.0 - y),
            Self::HardSigmoid { alpha, .. } => {
                if y > 0.0 && y < 1.0 {
                    alpha as f32
                } else {
                    0.0
                }
            }
            Self::Tanh => 1.0 - y * y,
            Self::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// Borrows the tensor's values, row-major, copying only when it is not contiguous.
fn shared<const D: usize>(tensor: Tensor<Cpu, D>) -> ArcArray<f32, IxDyn> {
    match tensor.into_primitive().tensor() {
        NdArrayTensor::F32(storage) => {
            let array = storage.into_shared();
            if array.is_standard_layout() {
                array
            } else {
                array.as_standard_layout().into_owned().into_shared()
            }
        }
        other => other_dtype(other),
    }
}

/// `tanh` through one `exp`: libm's `tanhf` (through `expm1f`) took a quarter of W2's time.
/// `1 - 2/(e^2x + 1)` loses relative precision near zero by cancellation, so small arguments
/// take the Taylor series instead (its first omitted term is below 1e-9 relative there); the
/// result is within about 1e-6 relative everywhere, and saturates cleanly (`exp` overflowing
/// to infinity gives 1).
#[inline]
fn tanh(x: f32) -> f32 {
    if x.abs() < 0.125 {
        let x2 = x * x;
        x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0))))
    } else {
        1.0 - 2.0 / ((2.0 * x).exp() + 1.0)
    }
}

fn slice(array: &ArcArray<f32, IxDyn>) -> &[f32] {
    array.as_slice().expect("shared() returns standard layouts")
}

fn other_dtype(tensor: NdArrayTensor) -> ! {
    unreachable!("NdArray's float tensors hold f32, not {:?}", tensor.dtype())
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<Cpu, D> {
    let array =
        ArcArray::from_shape_vec(IxDyn(&shape), values).expect("buffer sizes follow the shapes");
    Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(array)))
}

fn view(values: &[f32], rows: usize, columns: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, columns), values).expect("buffer sizes follow the shapes")
}

fn view_mut(values: &mut [f32], rows: usize, columns: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, columns), values).expect("buffer sizes follow the shapes")
}

/// `c = a·b + beta·c`, `c` row-major `[a.rows, b.columns]`.
fn gemm(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, beta: f32, c: &mut [f32]) {
    let (rows, columns) = (a.nrows(), b.ncols());
    general_mat_mul(1.0, &a, &b, beta, &mut view_mut(c, rows, columns));
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
    let (width, rows) = (4 * hidden, steps * batch);
    let inputs = step_major(sequences, reverse);
    let recurrent = shared(kernels.recurrent.clone());
    let recurrent = slice(&recurrent);
    let bias = shared(kernels.bias.clone());
    let bias = slice(&bias);
    let LstmActivations {
        gate,
        cell: candidate_activation,
        hidden: hidden_activation,
    } = activations;

    // All steps' input projections at once; each step then adds its recurrent product and
    // overwrites its pre-activations with the activated gates.
    let mut gates = vec![0.0; rows * width];
    gemm(
        view(slice(&shared(inputs.clone())), rows, input),
        view(slice(&shared(kernels.input.clone())), input, width),
        0.0,
        &mut gates,
    );
    let mut cells = vec![0.0; rows * hidden];
    let mut hiddens = vec![0.0; rows * hidden];
    let step_cells = batch * hidden;
    for step in 0..steps {
        let z = &mut gates[step * batch * width..(step + 1) * batch * width];
        let (done_hiddens, todo_hiddens) = hiddens.split_at_mut(step * step_cells);
        let (done_cells, todo_cells) = cells.split_at_mut(step * step_cells);
        let previous_cells = (step > 0).then(|| &done_cells[(step - 1) * step_cells..]);
        if step > 0 {
            let previous = &done_hiddens[(step - 1) * step_cells..];
            gemm(
                view(previous, batch, hidden),
                view(recurrent, hidden, width),
                1.0,
                z,
            );
        }
        let (h_now, c_now) = (
            &mut todo_hiddens[..step_cells],
            &mut todo_cells[..step_cells],
        );
        for b in 0..batch {
            let row = &mut z[b * width..(b + 1) * width];
            for j in 0..hidden {
                let i = gate.value(row[j] + bias[j]);
                let f = gate.value(row[hidden + j] + bias[hidden + j]);
                let o = gate.value(row[2 * hidden + j] + bias[2 * hidden + j]);
                let g = candidate_activation.value(row[3 * hidden + j] + bias[3 * hidden + j]);
                let carried = previous_cells.map_or(0.0, |cells| f * cells[b * hidden + j]);
                let c = i * g + carried;
                row[j] = i;
                row[hidden + j] = f;
                row[2 * hidden + j] = o;
                row[3 * hidden + j] = g;
                c_now[b * hidden + j] = c;
                h_now[b * hidden + j] = o * hidden_activation.value(c);
            }
        }
    }
    let hiddens = tensor(hiddens, [rows, hidden]);
    let outputs = batch_major(hiddens.clone(), batch, reverse);
    let trace = keep_trace.then(|| LstmTrace {
        inputs,
        kernels,
        activations,
        reverse,
        gates: tensor(gates, [rows, width]),
        cells: tensor(cells, [rows, hidden]),
        hiddens,
    });
    (outputs, trace)
}

/// See [`LstmBackend::lstm_backward`](super::LstmBackend::lstm_backward).
pub fn backward(
    trace: LstmTrace<Cpu>,
    output_grad: Tensor<Cpu, 3>,
    want_sequences: bool,
) -> LstmGradients<Cpu> {
    let [batch, steps, hidden] = output_grad.dims();
    let input = trace.inputs.dims()[1];
    let (width, rows) = (4 * hidden, steps * batch);
    let output_grad = shared(step_major(output_grad, trace.reverse));
    let output_grad = slice(&output_grad);
    let gates = shared(trace.gates);
    let gates = slice(&gates);
    let cells = shared(trace.cells);
    let cells = slice(&cells);
    // Transposed once, contiguous: the per-step product packs it faster than a strided view.
    let recurrent_t = shared(trace.kernels.recurrent.transpose());
    let LstmActivations {
        gate,
        cell: candidate_activation,
        hidden: hidden_activation,
    } = trace.activations;

    // dz: the gradient of the gates' pre-activations, every step.
    let mut dz = vec![0.0; rows * width];
    let mut hidden_carry = vec![0.0; batch * hidden];
    let mut cell_carry = vec![0.0; batch * hidden];
    for step in (0..steps).rev() {
        let dz_step = &mut dz[step * batch * width..(step + 1) * batch * width];
        for b in 0..batch {
            let r = step * batch + b;
            let row = &gates[r * width..(r + 1) * width];
            let dz_row = &mut dz_step[b * width..(b + 1) * width];
            for j in 0..hidden {
                let k = b * hidden + j;
                let (i, f) = (row[j], row[hidden + j]);
                let (o, g) = (row[2 * hidden + j], row[3 * hidden + j]);
                let squashed = hidden_activation.value(cells[r * hidden + j]);
                let dh = output_grad[r * hidden + j] + hidden_carry[k];
                let dc = dh * o * hidden_activation.slope_at(squashed) + cell_carry[k];
                let previous_cell = if step > 0 {
                    cells[(r - batch) * hidden + j]
                } else {
                    0.0
                };
                cell_carry[k] = dc * f;
                dz_row[j] = dc * g * gate.slope_at(i);
                dz_row[hidden + j] = dc * previous_cell * gate.slope_at(f);
                dz_row[2 * hidden + j] = dh * squashed * gate.slope_at(o);
                dz_row[3 * hidden + j] = dc * i * candidate_activation.slope_at(g);
            }
        }
        if step > 0 {
            gemm(
                view(dz_step, batch, width),
                view(slice(&recurrent_t), width, hidden),
                0.0,
                &mut hidden_carry,
            );
        }
    }

    let inputs = shared(trace.inputs);
    let inputs = slice(&inputs);
    let mut input_kernel = vec![0.0; input * width];
    gemm(
        view(inputs, rows, input).reversed_axes(),
        view(&dz, rows, width),
        0.0,
        &mut input_kernel,
    );
    // Step s's recurrent input is h(s-1); step 0's is zero and adds nothing.
    let mut recurrent_kernel = vec![0.0; hidden * width];
    if steps > 1 {
        let hiddens = shared(trace.hiddens);
        let hiddens = slice(&hiddens);
        gemm(
            view(&hiddens[..(rows - batch) * hidden], rows - batch, hidden).reversed_axes(),
            view(&dz[batch * width..], rows - batch, width),
            0.0,
            &mut recurrent_kernel,
        );
    }
    let mut bias = vec![0.0; width];
    for row in dz.chunks_exact(width) {
        for (sum, value) in bias.iter_mut().zip(row) {
            *sum += value;
        }
    }
    let sequences = want_sequences.then(|| {
        let input_kernel = shared(trace.kernels.input);
        let mut grad = vec![0.0; rows * input];
        gemm(
            view(&dz, rows, width),
            view(slice(&input_kernel), input, width).reversed_axes(),
            0.0,
            &mut grad,
        );
        batch_major(tensor(grad, [rows, input]), batch, trace.reverse)
    });
    LstmGradients {
        sequences,
        input_kernel: tensor(input_kernel, [input, width]),
        recurrent_kernel: tensor(recurrent_kernel, [hidden, width]),
        bias: tensor(bias, [width]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_tanh_is_within_a_millionth_relative_of_libm() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let exact = (x as f64).tanh();
            let error = ((super::tanh(x) as f64 - exact) / exact.abs().max(1e-30)).abs();
            worst = worst.max(if x == 0.0 { 0.0 } else { error });
        }
        for x in [30.0f32, 100.0, 1e30, f32::INFINITY] {
            assert_eq!(super::tanh(x), 1.0);
            assert_eq!(super::tanh(-x), -1.0);
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
    }
}
