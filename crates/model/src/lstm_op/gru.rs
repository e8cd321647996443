//! The whole-sequence GRU as one backend operation, Keras' `reset_after=True` form (PyTorch's
//! `nn.GRU`, Burn's `Gru` with `reset_after`): per step, with the input projection `x = xᵢ·Wᵢ + bᵢ`
//! and the recurrent one `u = h·Wₕ + [0, 0, bₕₙ]` (gates `[update, reset, new]`, `3H` columns),
//!
//! ```text
//! z = σ(x_z + u_z)    r = σ(x_r + u_r)    n = act(x_n + r ⊙ u_n)    h' = z ⊙ h + (1 − z) ⊙ n
//! ```
//!
//! The update and reset gates' two biases are summed into `bᵢ`; the new gate's recurrent bias
//! `bₕₙ` stays apart, inside the reset gate's product. Forward and backward are written in tensor
//! operations ([`forward`], [`backward`]) and run on the inner backend, so that training records
//! one autodiff node per layer and direction instead of some twenty per step.

use burn::prelude::*;

use super::{batch_major, step_major, Nonlinearity, OutputGrad};

/// The fused weights of one GRU direction, gates `[update, reset, new]`.
#[derive(Clone, Debug)]
pub struct GruKernels<B: Backend> {
    /// Input kernel `[input, 3·hidden]`.
    pub input: Tensor<B, 2>,
    /// Recurrent kernel `[hidden, 3·hidden]`.
    pub recurrent: Tensor<B, 2>,
    /// Input bias `[3·hidden]`: both biases of the update and reset gates, summed, and the new
    /// gate's input bias.
    pub input_bias: Tensor<B, 1>,
    /// The new gate's recurrent bias `[hidden]`, which the reset gate multiplies.
    pub recurrent_bias: Tensor<B, 1>,
}

/// The two activations of a GRU cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruActivations {
    /// The update and reset gates'.
    pub gate: Nonlinearity,
    /// The new (candidate) state's.
    pub candidate: Nonlinearity,
}

/// What the GRU's backward pass needs from its forward pass; steps in processing order,
/// step-major (rows `s·batch .. (s+1)·batch` are step `s`).
#[derive(Clone, Debug)]
pub struct GruTrace<B: Backend> {
    /// The inputs, `[steps·batch, input]`.
    pub(super) inputs: Tensor<B, 2>,
    pub(super) kernels: GruKernels<B>,
    pub(super) activations: GruActivations,
    pub(super) reverse: bool,
    /// Activated gates `[z, r, n]`, `[steps·batch, 3·hidden]`.
    pub(super) gates: Tensor<B, 2>,
    /// The new gate's recurrent part `u_n` (with its bias), `[steps·batch, hidden]`.
    pub(super) recurrent_new: Tensor<B, 2>,
    /// Hidden states, `[steps·batch, hidden]`.
    pub(super) hiddens: Tensor<B, 2>,
}

/// The gradients [`LstmBackend::gru_backward`](super::LstmBackend::gru_backward) computes.
#[derive(Debug)]
pub struct GruGradients<B: Backend> {
    /// `[batch, steps, input]`, when asked for.
    pub sequences: Option<Tensor<B, 3>>,
    /// `[input, 3·hidden]`.
    pub input_kernel: Tensor<B, 2>,
    /// `[hidden, 3·hidden]`.
    pub recurrent_kernel: Tensor<B, 2>,
    /// `[3·hidden]`.
    pub input_bias: Tensor<B, 1>,
    /// `[hidden]`.
    pub recurrent_bias: Tensor<B, 1>,
}

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

/// See [`LstmBackend::gru_forward`](super::LstmBackend::gru_forward).
pub fn forward<B: Backend>(
    sequences: Tensor<B, 3>,
    kernels: GruKernels<B>,
    activations: GruActivations,
    reverse: bool,
    keep_trace: bool,
) -> (Tensor<B, 3>, Option<GruTrace<B>>) {
    let [batch, steps, _] = sequences.dims();
    let hidden = kernels.recurrent.dims()[0];
    let inputs = step_major(sequences, reverse);
    let projected =
        inputs.clone().matmul(kernels.input.clone()) + kernels.input_bias.clone().unsqueeze_dim(0);
    let new_bias = kernels.recurrent_bias.clone().unsqueeze_dim::<2>(0);

    let mut gates = Vec::with_capacity(steps);
    let mut recurrent_new = Vec::with_capacity(steps);
    let mut hiddens: Vec<Tensor<B, 2>> = Vec::with_capacity(steps);
    for step in 0..steps {
        let x = rows(&projected, step, batch);
        let (update_reset, u_new) = match hiddens.last() {
            Some(previous) => {
                let u = previous.clone().matmul(kernels.recurrent.clone());
                (
                    columns(&x, 0, 2 * hidden) + columns(&u, 0, 2 * hidden),
                    columns(&u, 2 * hidden, 3 * hidden) + new_bias.clone(),
                )
            }
            // From the zero state the recurrent product vanishes; the new gate's bias stays.
            None => (
                columns(&x, 0, 2 * hidden),
                new_bias.clone().expand([batch, hidden]),
            ),
        };
        let update_reset = activations.gate.apply(update_reset);
        let update = columns(&update_reset, 0, hidden);
        let reset = columns(&update_reset, hidden, 2 * hidden);
        let new = activations
            .candidate
            .apply(columns(&x, 2 * hidden, 3 * hidden) + reset * u_new.clone());
        let mut h = (update.clone().neg() + 1.0) * new.clone();
        if let Some(previous) = hiddens.last() {
            h = h + update * previous.clone();
        }
        if keep_trace {
            gates.push(Tensor::cat(vec![update_reset, new], 1));
            recurrent_new.push(u_new);
        }
        hiddens.push(h);
    }
    let hiddens = Tensor::cat(hiddens, 0);
    let outputs = batch_major(hiddens.clone(), batch, reverse);
    let trace = keep_trace.then(|| GruTrace {
        inputs,
        kernels,
        activations,
        reverse,
        gates: Tensor::cat(gates, 0),
        recurrent_new: Tensor::cat(recurrent_new, 0),
        hiddens,
    });
    (outputs, trace)
}

/// See [`LstmBackend::gru_backward`](super::LstmBackend::gru_backward).
pub fn backward<B: Backend>(
    trace: GruTrace<B>,
    output_grad: OutputGrad<B>,
    want_sequences: bool,
) -> GruGradients<B> {
    let batch = output_grad.batch();
    let steps = trace.hiddens.dims()[0] / batch;
    let output_grad = output_grad.every_step(steps, trace.reverse);
    let [batch, steps, hidden] = output_grad.dims();
    let activations = trace.activations;
    let output_grad = step_major(output_grad, trace.reverse);
    let recurrent_t = trace.kernels.recurrent.clone().transpose();

    // Per step, filled last step first: the gradients of the input projection (`dx`, the gates
    // before activation) and of the recurrent one (`du`, the same but for the new gate, whose
    // recurrent part the reset gate multiplies).
    let mut input_grads = Vec::with_capacity(steps);
    let mut recurrent_grads = Vec::with_capacity(steps);
    let mut carried: Option<Tensor<B, 2>> = None;
    for step in (0..steps).rev() {
        let mut dh = rows(&output_grad, step, batch);
        if let Some(carried) = carried.take() {
            dh = dh + carried;
        }
        let gates = rows(&trace.gates, step, batch);
        let update_reset = columns(&gates, 0, 2 * hidden);
        let update = columns(&gates, 0, hidden);
        let reset = columns(&gates, hidden, 2 * hidden);
        let new = columns(&gates, 2 * hidden, 3 * hidden);
        let u_new = rows(&trace.recurrent_new, step, batch);
        let previous = (step > 0).then(|| rows(&trace.hiddens, step - 1, batch));

        let d_new = dh.clone() * (update.clone().neg() + 1.0);
        let d_update = match &previous {
            Some(previous) => dh.clone() * (previous.clone() - new.clone()),
            None => dh.clone() * new.clone().neg(),
        };
        let da_new = d_new * activations.candidate.slope(new);
        let d_reset = da_new.clone() * u_new;
        let du_new = da_new.clone() * reset;
        let da_update_reset =
            Tensor::cat(vec![d_update, d_reset], 1) * activations.gate.slope(update_reset);
        let dx = Tensor::cat(vec![da_update_reset.clone(), da_new], 1);
        let du = Tensor::cat(vec![da_update_reset, du_new], 1);
        if step > 0 {
            carried = Some(dh * update + du.clone().matmul(recurrent_t.clone()));
        }
        input_grads.push(dx);
        recurrent_grads.push(du);
    }
    input_grads.reverse();
    recurrent_grads.reverse();
    let dx = Tensor::cat(input_grads, 0);
    let du = Tensor::cat(recurrent_grads, 0);

    let input_kernel = trace.inputs.clone().transpose().matmul(dx.clone());
    let recurrent_kernel = if steps > 1 {
        // Step s's recurrent input is h(s-1); step 0's is zero and adds nothing.
        let previous = trace.hiddens.slice([0..(steps - 1) * batch, 0..hidden]);
        let later = du.clone().slice([batch..steps * batch, 0..3 * hidden]);
        previous.transpose().matmul(later)
    } else {
        trace.kernels.recurrent.zeros_like()
    };
    let input_bias = dx.clone().sum_dim(0).reshape([3 * hidden]);
    // The new gate's recurrent bias is used at every step, the first included.
    let recurrent_bias = columns(&du, 2 * hidden, 3 * hidden)
        .sum_dim(0)
        .reshape([hidden]);
    let sequences = want_sequences.then(|| {
        batch_major(
            dx.matmul(trace.kernels.input.transpose()),
            batch,
            trace.reverse,
        )
    });
    GruGradients {
        sequences,
        input_kernel,
        recurrent_kernel,
        input_bias,
        recurrent_bias,
    }
}
