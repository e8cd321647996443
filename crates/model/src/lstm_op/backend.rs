//! The LSTM op's backend trait and the values it passes: kernels, activations, the trace the
//! backward pass reads, and the gradients it returns.

use burn::nn::activation::Activation;
use burn::prelude::*;

use super::gru::{self, GruActivations, GruGradients, GruKernels, GruTrace};
use super::{final_step, tensor_ops};
use crate::adam::AdamBackend;

/// A backend that can run [`lstm_sequence`](LstmBackend::lstm_sequence) and
/// [`gru_sequence`](LstmBackend::gru_sequence).
///
/// The default methods are written in tensor operations and fit every backend; `Autodiff<B>`
/// overrides `lstm_sequence` to record one node with a hand-written backward, and `NdArray`
/// overrides the forward and backward passes with a fused CPU kernel.
pub trait LstmBackend: Backend {
    /// Runs an LSTM from a zero state over `sequences` (`[batch, steps, input]`), backwards in
    /// time when `reverse`, and returns the hidden state at every step, `[batch, steps, hidden]`,
    /// in the input's time order.
    fn lstm_sequence(
        sequences: Tensor<Self, 3>,
        kernels: LstmKernels<Self>,
        activations: LstmActivations,
        reverse: bool,
    ) -> Tensor<Self, 3> {
        Self::lstm_forward(sequences, kernels, activations, reverse, false).0
    }

    /// The forward pass of [`lstm_sequence`](LstmBackend::lstm_sequence); with `keep_trace`,
    /// also what [`lstm_backward`](LstmBackend::lstm_backward) needs.
    fn lstm_forward(
        sequences: Tensor<Self, 3>,
        kernels: LstmKernels<Self>,
        activations: LstmActivations,
        reverse: bool,
        keep_trace: bool,
    ) -> (Tensor<Self, 3>, Option<LstmTrace<Self>>) {
        tensor_ops::forward(sequences, kernels, activations, reverse, keep_trace)
    }

    /// Back-propagates `output_grad` (the gradient of the forward pass's outputs) to the
    /// kernels, and to the sequences when `want_sequences`.
    fn lstm_backward(
        trace: LstmTrace<Self>,
        output_grad: OutputGrad<Self>,
        want_sequences: bool,
    ) -> LstmGradients<Self> {
        tensor_ops::backward(trace, output_grad, want_sequences)
    }

    /// [`lstm_sequence`](LstmBackend::lstm_sequence)'s hidden state after its last step only
    /// (time `steps - 1`, or 0 when `reverse`), `[batch, hidden]`: what a model that reads the
    /// final state needs. `Autodiff` records it as its own node, whose backward pass starts from
    /// the final state's gradient alone ([`OutputGrad::FinalStep`]) instead of a
    /// `[batch, steps, hidden]` gradient that is zero at every other step.
    fn lstm_final(
        sequences: Tensor<Self, 3>,
        kernels: LstmKernels<Self>,
        activations: LstmActivations,
        reverse: bool,
    ) -> Tensor<Self, 2> {
        Self::lstm_final_step(
            Self::lstm_sequence(sequences, kernels, activations, reverse),
            reverse,
        )
    }

    /// The hidden state of the last step processed, out of
    /// [`lstm_sequence`](LstmBackend::lstm_sequence)'s outputs: `[batch, steps, hidden]` →
    /// `[batch, hidden]`. A slice and a reshape; NdArray copies the step's rows directly (its
    /// reshape copies value by value through a generic iterator).
    fn lstm_final_step(outputs: Tensor<Self, 3>, reverse: bool) -> Tensor<Self, 2> {
        final_step(outputs, reverse)
    }

    /// `N` tensors of the same shape side by side along the last axis: `N` `[.., columns]`
    /// tensors → `[.., N·columns]`. This joins the gates' weights in the fused kernels' layout
    /// (`N` = 4 for the LSTM, 3 for the GRU) and the two directions' outputs of a bidirectional
    /// layer (`N` = 2). `Tensor::cat` does the same, but on NdArray it copies element by element
    /// through a generic iterator, and its autodiff node slices the gradient just as slowly (for
    /// small models more time than the kernels' own work); NdArray overrides both directions with
    /// row copies.
    fn lstm_join_columns<const D: usize, const N: usize>(
        parts: [Tensor<Self, D>; N],
    ) -> Tensor<Self, D> {
        Tensor::cat(parts.into(), D - 1)
    }

    /// The inverse of [`lstm_join_columns`](LstmBackend::lstm_join_columns): `[.., N·columns]`
    /// → `N` `[.., columns]`.
    fn lstm_split_columns<const D: usize, const N: usize>(
        joined: Tensor<Self, D>,
    ) -> [Tensor<Self, D>; N] {
        let width = joined.dims()[D - 1] / N;
        std::array::from_fn(|part| joined.clone().narrow(D - 1, part * width, width))
    }

    /// Runs a GRU ([`gru`](super::gru)'s `reset_after` form) from a zero state over
    /// `sequences` (`[batch, steps, input]`), backwards in time when `reverse`, and returns the
    /// hidden state at every step, `[batch, steps, hidden]`, in the input's time order.
    fn gru_sequence(
        sequences: Tensor<Self, 3>,
        kernels: GruKernels<Self>,
        activations: GruActivations,
        reverse: bool,
    ) -> Tensor<Self, 3> {
        Self::gru_forward(sequences, kernels, activations, reverse, false).0
    }

    /// The forward pass of [`gru_sequence`](LstmBackend::gru_sequence); with `keep_trace`, also
    /// what [`gru_backward`](LstmBackend::gru_backward) needs.
    fn gru_forward(
        sequences: Tensor<Self, 3>,
        kernels: GruKernels<Self>,
        activations: GruActivations,
        reverse: bool,
        keep_trace: bool,
    ) -> (Tensor<Self, 3>, Option<GruTrace<Self>>) {
        gru::forward(sequences, kernels, activations, reverse, keep_trace)
    }

    /// Back-propagates `output_grad` through the GRU to its kernels, and to the sequences when
    /// `want_sequences`.
    fn gru_backward(
        trace: GruTrace<Self>,
        output_grad: OutputGrad<Self>,
        want_sequences: bool,
    ) -> GruGradients<Self> {
        gru::backward(trace, output_grad, want_sequences)
    }

    /// [`gru_sequence`](LstmBackend::gru_sequence)'s hidden state after its last step only,
    /// `[batch, hidden]`; `Autodiff` records it as its own node, as
    /// [`lstm_final`](LstmBackend::lstm_final).
    fn gru_final(
        sequences: Tensor<Self, 3>,
        kernels: GruKernels<Self>,
        activations: GruActivations,
        reverse: bool,
    ) -> Tensor<Self, 2> {
        Self::lstm_final_step(
            Self::gru_sequence(sequences, kernels, activations, reverse),
            reverse,
        )
    }
}

/// The gradient [`LstmBackend::lstm_backward`] starts from.
#[derive(Clone, Debug)]
pub enum OutputGrad<B: Backend> {
    /// Of the hidden state at every step, `[batch, steps, hidden]`, in the input's time order.
    EveryStep(Tensor<B, 3>),
    /// Of the final hidden state only ([`LstmBackend::lstm_final`]), `[batch, hidden]`; zero at
    /// every other step.
    FinalStep(Tensor<B, 2>),
}

impl<B: Backend> OutputGrad<B> {
    /// The batch size.
    pub fn batch(&self) -> usize {
        match self {
            Self::EveryStep(grad) => grad.dims()[0],
            Self::FinalStep(grad) => grad.dims()[0],
        }
    }

    /// As `[batch, steps, hidden]`: a final-step gradient is written into zeros at its step.
    pub fn every_step(self, steps: usize, reverse: bool) -> Tensor<B, 3> {
        match self {
            Self::EveryStep(grad) => grad,
            Self::FinalStep(grad) => {
                let [batch, hidden] = grad.dims();
                let time = if reverse { 0 } else { steps - 1 };
                Tensor::zeros([batch, steps, hidden], &grad.device()).slice_assign(
                    [0..batch, time..time + 1, 0..hidden],
                    grad.reshape([batch, 1, hidden]),
                )
            }
        }
    }
}

/// The training backends: autodiff over a backend that runs the LSTM op too (validation and
/// inference run on the inner backend) and [`AdamBackend`]'s update.
pub trait TrainingBackend:
    LstmBackend + burn::tensor::backend::AutodiffBackend<InnerBackend: LstmBackend + AdamBackend>
{
}

impl<B> TrainingBackend for B where
    B: LstmBackend
        + burn::tensor::backend::AutodiffBackend<InnerBackend: LstmBackend + AdamBackend>
{
}

/// The fused weights of one LSTM direction, gates `[input, forget, output, candidate]`.
#[derive(Clone, Debug)]
pub struct LstmKernels<B: Backend> {
    /// Input kernel `[input, 4·hidden]`.
    pub input: Tensor<B, 2>,
    /// Recurrent kernel `[hidden, 4·hidden]`.
    pub recurrent: Tensor<B, 2>,
    /// Bias `[4·hidden]` (both of Burn's biases per gate, summed).
    pub bias: Tensor<B, 1>,
}

/// An element-wise function the op can differentiate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `clamp(alpha·x + beta, 0, 1)`.
    HardSigmoid {
        /// Slope.
        alpha: f64,
        /// Offset.
        beta: f64,
    },
    /// `tanh(x)`.
    Tanh,
    /// `max(0, x)`.
    Relu,
}

impl Nonlinearity {
    /// The function Burn's activation layer computes, if the op knows it.
    pub fn of<B: Backend>(layer: &Activation<B>) -> Option<Self> {
        match layer {
            Activation::Sigmoid(_) => Some(Self::Sigmoid),
            Activation::HardSigmoid(hard) => Some(Self::HardSigmoid {
                alpha: hard.alpha,
                beta: hard.beta,
            }),
            Activation::Tanh(_) => Some(Self::Tanh),
            Activation::Relu(_) => Some(Self::Relu),
            _ => None,
        }
    }
}

/// The three activations of an LSTM cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmActivations {
    /// The input, forget and output gates'.
    pub gate: Nonlinearity,
    /// The candidate's (`g`).
    pub cell: Nonlinearity,
    /// The cell state's in `h = o · act(c)`.
    pub hidden: Nonlinearity,
}

/// What the backward pass needs from the forward one. Steps are in processing order (reversed
/// in time for a reverse direction) and step-major: rows `s·batch .. (s+1)·batch` are step `s`.
#[derive(Clone, Debug)]
pub struct LstmTrace<B: Backend> {
    /// The inputs, `[steps·batch, input]`.
    pub(super) inputs: Tensor<B, 2>,
    pub(super) kernels: LstmKernels<B>,
    pub(super) activations: LstmActivations,
    pub(super) reverse: bool,
    /// Activated gates, `[steps·batch, 4·hidden]`.
    pub(super) gates: Tensor<B, 2>,
    /// Cell states, `[steps·batch, hidden]`.
    pub(super) cells: Tensor<B, 2>,
    /// Hidden states, `[steps·batch, hidden]`.
    pub(super) hiddens: Tensor<B, 2>,
}

/// The gradients [`LstmBackend::lstm_backward`] computes.
#[derive(Debug)]
pub struct LstmGradients<B: Backend> {
    /// `[batch, steps, input]`, when asked for.
    pub sequences: Option<Tensor<B, 3>>,
    /// `[input, 4·hidden]`.
    pub input_kernel: Tensor<B, 2>,
    /// `[hidden, 4·hidden]`.
    pub recurrent_kernel: Tensor<B, 2>,
    /// `[4·hidden]`.
    pub bias: Tensor<B, 1>,
}
