//! The LSTM op in Burn tensor operations: what every backend without a kernel of its own runs
//! (wgpu among them), and the reference the CPU kernel is tested against.

use burn::prelude::*;
use burn::tensor::activation;

use super::{
    batch_major, step_major, LstmActivations, LstmGradients, LstmKernels, LstmTrace, Nonlinearity,
    OutputGrad,
};

impl Nonlinearity {
    pub(super) fn apply<B: Backend>(self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Self::Sigmoid => activation::sigmoid(x),
            Self::HardSigmoid { alpha, beta } => activation::hard_sigmoid(x, alpha, beta),
            Self::Tanh => activation::tanh(x),
            Self::Relu => activation::relu(x),
        }
    }

    /// The derivative at the input that produced `y`, computed from `y` alone (all four
    /// functions allow it; at relu's and the hard sigmoid's kinks it takes Burn's side).
    pub(super) fn slope<B: Backend>(self, y: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Self::Sigmoid => y.clone() * (y.neg() + 1.0),
            Self::HardSigmoid { alpha, .. } => {
                y.clone()
                    .greater_elem(0.0)
                    .bool_and(y.lower_elem(1.0))
                    .float()
                    * alpha
            }
            Self::Tanh => y.square().neg() + 1.0,
            Self::Relu => y.greater_elem(0.0).float(),
        }
    }
}

/// Rows `step·batch .. (step+1)·batch` of a step-major tensor.
fn rows<B: Backend>(tensor: &Tensor<B, 2>, step: usize, batch: usize) -> Tensor<B, 2> {
    let width = tensor.dims()[1];
    tensor
        .clone()
        .slice([step * batch..(step + 1) * batch, 0..width])
}

fn columns<B: Backend>(tensor: &Tensor<B, 2>, from: usize, to: usize) -> Tensor<B, 2> {
    let height = tensor.dims()[0];
    tensor.clone().slice([0..height, from..to])
}

/// See [`LstmBackend::lstm_forward`](super::LstmBackend::lstm_forward).
pub fn forward<B: Backend>(
    sequences: Tensor<B, 3>,
    kernels: LstmKernels<B>,
    activations: LstmActivations,
    reverse: bool,
    keep_trace: bool,
) -> (Tensor<B, 3>, Option<LstmTrace<B>>) {
    let [batch, steps, _] = sequences.dims();
    let hidden = kernels.recurrent.dims()[0];
    let inputs = step_major(sequences, reverse);
    let projected =
        inputs.clone().matmul(kernels.input.clone()) + kernels.bias.clone().unsqueeze_dim(0);

    let mut gates = Vec::with_capacity(steps);
    let mut cells: Vec<Tensor<B, 2>> = Vec::with_capacity(steps);
    let mut hiddens: Vec<Tensor<B, 2>> = Vec::with_capacity(steps);
    for step in 0..steps {
        let mut z = rows(&projected, step, batch);
        // From the zero state the recurrent product and the forget term vanish.
        if let Some(previous) = hiddens.last() {
            z = z + previous.clone().matmul(kernels.recurrent.clone());
        }
        let sigmoid_gates = activations.gate.apply(columns(&z, 0, 3 * hidden));
        let candidate = activations.cell.apply(columns(&z, 3 * hidden, 4 * hidden));
        let input_gate = columns(&sigmoid_gates, 0, hidden);
        let output_gate = columns(&sigmoid_gates, 2 * hidden, 3 * hidden);
        let mut cell = input_gate * candidate.clone();
        if let Some(previous) = cells.last() {
            let forget_gate = columns(&sigmoid_gates, hidden, 2 * hidden);
            cell = cell + forget_gate * previous.clone();
        }
        let h = output_gate * activations.hidden.apply(cell.clone());
        if keep_trace {
            gates.push(Tensor::cat(vec![sigmoid_gates, candidate], 1));
        }
        cells.push(cell);
        hiddens.push(h);
    }
    let hiddens = Tensor::cat(hiddens, 0);
    let outputs = batch_major(hiddens.clone(), batch, reverse);
    let trace = keep_trace.then(|| LstmTrace {
        inputs,
        kernels,
        activations,
        reverse,
        gates: Tensor::cat(gates, 0),
        cells: Tensor::cat(cells, 0),
        hiddens,
    });
    (outputs, trace)
}

/// See [`LstmBackend::lstm_backward`](super::LstmBackend::lstm_backward).
pub fn backward<B: Backend>(
    trace: LstmTrace<B>,
    output_grad: OutputGrad<B>,
    want_sequences: bool,
) -> LstmGradients<B> {
    let batch = output_grad.batch();
    let steps = trace.cells.dims()[0] / batch;
    let output_grad = output_grad.every_step(steps, trace.reverse);
    let [batch, steps, hidden] = output_grad.dims();
    let activations = trace.activations;
    let output_grad = step_major(output_grad, trace.reverse);
    let recurrent_t = trace.kernels.recurrent.clone().transpose();

    // z: the gates before activation. dz per step, filled last step first.
    let mut gate_grads = Vec::with_capacity(steps);
    let mut hidden_grad: Option<Tensor<B, 2>> = None;
    let mut cell_grad: Option<Tensor<B, 2>> = None;
    for step in (0..steps).rev() {
        let mut dh = rows(&output_grad, step, batch);
        if let Some(carried) = hidden_grad.take() {
            dh = dh + carried;
        }
        let gates = rows(&trace.gates, step, batch);
        let sigmoid_gates = columns(&gates, 0, 3 * hidden);
        let input_gate = columns(&gates, 0, hidden);
        let forget_gate = columns(&gates, hidden, 2 * hidden);
        let output_gate = columns(&gates, 2 * hidden, 3 * hidden);
        let candidate = columns(&gates, 3 * hidden, 4 * hidden);
        let squashed = activations.hidden.apply(rows(&trace.cells, step, batch));

        let d_output = dh.clone() * squashed.clone();
        let mut dc = dh * output_gate * activations.hidden.slope(squashed);
        if let Some(carried) = cell_grad.take() {
            dc = dc + carried;
        }
        let d_input = dc.clone() * candidate.clone();
        let d_candidate = dc.clone() * input_gate;
        let d_forget = match step {
            0 => dc.zeros_like(),
            _ => dc.clone() * rows(&trace.cells, step - 1, batch),
        };
        let dz_gates = Tensor::cat(vec![d_input, d_forget, d_output], 1)
            * activations.gate.slope(sigmoid_gates);
        let dz_candidate = d_candidate * activations.cell.slope(candidate);
        let dz = Tensor::cat(vec![dz_gates, dz_candidate], 1);
        if step > 0 {
            cell_grad = Some(dc * forget_gate);
            hidden_grad = Some(dz.clone().matmul(recurrent_t.clone()));
        }
        gate_grads.push(dz);
    }
    gate_grads.reverse();
    kernel_gradients(
        &trace,
        Tensor::cat(gate_grads, 0),
        batch,
        want_sequences,
        Tensor::matmul,
    )
}

/// The gradients of the kernels (and of the sequences when `want_sequences`) from `dz`, the
/// gates' pre-activation gradients at every step (`[steps·batch, 4·hidden]`, step-major like
/// the trace): `xᵀ·dz`, `h(s-1)ᵀ·dz(s)` over the steps after the first, the column sums, and
/// `dz·W_xᵀ`, each product by `matmul`.
pub(super) fn kernel_gradients<B: Backend>(
    trace: &LstmTrace<B>,
    dz: Tensor<B, 2>,
    batch: usize,
    want_sequences: bool,
    matmul: impl Fn(Tensor<B, 2>, Tensor<B, 2>) -> Tensor<B, 2>,
) -> LstmGradients<B> {
    let [rows, four_hidden] = dz.dims();
    let (steps, hidden) = (rows / batch, four_hidden / 4);
    let input_kernel = matmul(trace.inputs.clone().transpose(), dz.clone());
    let recurrent_kernel = if steps > 1 {
        // Step s's recurrent input is h(s-1); step 0's is zero and adds nothing.
        let previous = trace
            .hiddens
            .clone()
            .slice([0..(steps - 1) * batch, 0..hidden]);
        let later = dz.clone().slice([batch..steps * batch, 0..4 * hidden]);
        matmul(previous.transpose(), later)
    } else {
        trace.kernels.recurrent.zeros_like()
    };
    let bias = dz.clone().sum_dim(0).reshape([4 * hidden]);
    let sequences = want_sequences.then(|| {
        batch_major(
            matmul(dz, trace.kernels.input.clone().transpose()),
            batch,
            trace.reverse,
        )
    });
    LstmGradients {
        sequences,
        input_kernel,
        recurrent_kernel,
        bias,
    }
}
