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
//! This is Burn's backend extension pattern: a trait over `Backend` whose default methods are
//! written in tensor operations (`tensor_ops.rs`, any backend can opt in with an empty `impl`),
//! an implementation for `Autodiff<B>` that registers the custom backward, and a CPU kernel for
//! `NdArray` (`cpu.rs`) that fuses each step's gate arithmetic into one loop, with its matrix
//! products in `packed.rs` (per step, weights packed once per pass) and `outer_sums.rs` (the
//! weight gradients).

mod cpu;
mod outer_sums;
mod packed;
mod peak;
mod spare;
mod tensor_ops;

pub use peak::measured_peak_gflops;

use burn::nn::activation::Activation;
use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_autodiff::Autodiff;

use crate::adam::AdamBackend;

/// A backend that can run [`lstm_sequence`](LstmBackend::lstm_sequence).
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

    /// The four gates' weights side by side along the last axis, in the fused kernels' layout:
    /// four `[.., columns]` tensors → `[.., 4·columns]`. `Tensor::cat` does the same, but on
    /// NdArray it copies element by element through a generic iterator, and its autodiff node
    /// slices the gradient just as slowly (together a quarter of W2's training-thread time
    /// outside the kernels); NdArray overrides both directions with row copies.
    fn lstm_join_gates<const D: usize>(gates: [Tensor<Self, D>; 4]) -> Tensor<Self, D> {
        Tensor::cat(gates.into(), D - 1)
    }

    /// The inverse of [`lstm_join_gates`](LstmBackend::lstm_join_gates): `[.., 4·columns]` →
    /// four `[.., columns]`.
    fn lstm_split_gates<const D: usize>(joined: Tensor<Self, D>) -> [Tensor<Self, D>; 4] {
        let width = joined.dims()[D - 1] / 4;
        std::array::from_fn(|gate| joined.clone().narrow(D - 1, gate * width, width))
    }
}

/// The hidden state of the last step processed: `[batch, steps, hidden]` → `[batch, hidden]`.
fn final_step<B: Backend>(outputs: Tensor<B, 3>, reverse: bool) -> Tensor<B, 2> {
    let [batch, steps, hidden] = outputs.dims();
    let time = if reverse { 0 } else { steps - 1 };
    outputs
        .slice([0..batch, time..time + 1, 0..hidden])
        .reshape([batch, hidden])
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
    inputs: Tensor<B, 2>,
    kernels: LstmKernels<B>,
    activations: LstmActivations,
    reverse: bool,
    /// Activated gates, `[steps·batch, 4·hidden]`.
    gates: Tensor<B, 2>,
    /// Cell states, `[steps·batch, hidden]`.
    cells: Tensor<B, 2>,
    /// Hidden states, `[steps·batch, hidden]`.
    hiddens: Tensor<B, 2>,
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

/// The autodiff node of [`LstmBackend::lstm_sequence`] (outputs at every step) or, when
/// `final_only`, of [`LstmBackend::lstm_final`].
#[derive(Debug)]
struct LstmSequenceBackward {
    final_only: bool,
}

impl<B: LstmBackend> Backward<B, 4> for LstmSequenceBackward {
    type State = LstmTrace<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [sequences, input_kernel, recurrent_kernel, bias] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let output_grad = if self.final_only {
            OutputGrad::FinalStep(float(output_grad))
        } else {
            OutputGrad::EveryStep(float(output_grad))
        };
        let computed = B::lstm_backward(ops.state, output_grad, sequences.is_some());
        if let (Some(node), Some(grad)) = (sequences, computed.sequences) {
            grads.register::<B>(node.id, grad.into_primitive().tensor());
        }
        if let Some(node) = input_kernel {
            grads.register::<B>(node.id, computed.input_kernel.into_primitive().tensor());
        }
        if let Some(node) = recurrent_kernel {
            grads.register::<B>(node.id, computed.recurrent_kernel.into_primitive().tensor());
        }
        if let Some(node) = bias {
            grads.register::<B>(node.id, computed.bias.into_primitive().tensor());
        }
    }
}

/// The autodiff node of [`LstmBackend::lstm_join_gates`]: each gate's gradient is its block
/// of columns of the joined gradient.
#[derive(Debug)]
struct JoinGatesBackward<const D: usize>;

impl<B: LstmBackend, const D: usize> Backward<B, 4> for JoinGatesBackward<D> {
    type State = ();

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let joined = float::<B, D>(grads.consume::<B>(&ops.node));
        let parts = B::lstm_split_gates(joined);
        for (parent, grad) in ops.parents.into_iter().zip(parts) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, grad.into_primitive().tensor());
            }
        }
    }
}

fn float<B: Backend, const D: usize>(primitive: B::FloatTensorPrimitive) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

impl<B: LstmBackend, C: CheckpointStrategy> LstmBackend for Autodiff<B, C> {
    fn lstm_sequence(
        sequences: Tensor<Self, 3>,
        kernels: LstmKernels<Self>,
        activations: LstmActivations,
        reverse: bool,
    ) -> Tensor<Self, 3> {
        record(sequences, kernels, activations, reverse, false)
    }

    fn lstm_final(
        sequences: Tensor<Self, 3>,
        kernels: LstmKernels<Self>,
        activations: LstmActivations,
        reverse: bool,
    ) -> Tensor<Self, 2> {
        record(sequences, kernels, activations, reverse, true)
    }

    fn lstm_join_gates<const D: usize>(gates: [Tensor<Self, D>; 4]) -> Tensor<Self, D> {
        let gates = gates.map(|gate| gate.into_primitive().tensor());
        let nodes = gates.each_ref().map(|gate| gate.node.clone());
        let inner = gates.map(|gate| float::<B, D>(gate.primitive));
        let joined = B::lstm_join_gates(inner).into_primitive().tensor();
        // Compute-bound, as `record`: nothing to recompute under a checkpointing strategy.
        let joined = JoinGatesBackward::<D>
            .prepare::<C>(nodes)
            .compute_bound()
            .stateless(joined);
        Tensor::from_primitive(TensorPrimitive::Float(joined))
    }
}

/// Runs the op on the inner backend and records it as one autodiff node: its output is the
/// hidden state at every step (`D` = 3), or at the final step only when `final_only` (`D` = 2).
fn record<B: LstmBackend, C: CheckpointStrategy, const D: usize>(
    sequences: Tensor<Autodiff<B, C>, 3>,
    kernels: LstmKernels<Autodiff<B, C>>,
    activations: LstmActivations,
    reverse: bool,
    final_only: bool,
) -> Tensor<Autodiff<B, C>, D> {
    let sequences = sequences.into_primitive().tensor();
    let input = kernels.input.into_primitive().tensor();
    let recurrent = kernels.recurrent.into_primitive().tensor();
    let bias = kernels.bias.into_primitive().tensor();
    let nodes = [
        sequences.node.clone(),
        input.node.clone(),
        recurrent.node.clone(),
        bias.node.clone(),
    ];
    let inner_kernels = LstmKernels::<B> {
        input: float(input.primitive),
        recurrent: float(recurrent.primitive),
        bias: float(bias.primitive),
    };
    let inner_sequences = float::<B, 3>(sequences.primitive);
    let output = match (LstmSequenceBackward { final_only })
        .prepare::<C>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (outputs, trace) =
                B::lstm_forward(inner_sequences, inner_kernels, activations, reverse, true);
            let trace = trace.expect("lstm_forward keeps the trace it is asked for");
            let output = if final_only {
                B::lstm_final_step(outputs, reverse)
                    .into_primitive()
                    .tensor()
            } else {
                outputs.into_primitive().tensor()
            };
            prep.finish(trace, output)
        }
        OpsKind::UnTracked(prep) => {
            let output = if final_only {
                B::lstm_final(inner_sequences, inner_kernels, activations, reverse)
                    .into_primitive()
                    .tensor()
            } else {
                B::lstm_sequence(inner_sequences, inner_kernels, activations, reverse)
                    .into_primitive()
                    .tensor()
            };
            prep.finish(output)
        }
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

impl LstmBackend for burn_ndarray::NdArray {
    fn lstm_forward(
        sequences: Tensor<Self, 3>,
        kernels: LstmKernels<Self>,
        activations: LstmActivations,
        reverse: bool,
        keep_trace: bool,
    ) -> (Tensor<Self, 3>, Option<LstmTrace<Self>>) {
        cpu::forward(sequences, kernels, activations, reverse, keep_trace)
    }

    fn lstm_backward(
        trace: LstmTrace<Self>,
        output_grad: OutputGrad<Self>,
        want_sequences: bool,
    ) -> LstmGradients<Self> {
        cpu::backward(trace, output_grad, want_sequences)
    }

    fn lstm_final_step(outputs: Tensor<Self, 3>, reverse: bool) -> Tensor<Self, 2> {
        cpu::final_step(outputs, reverse)
    }

    fn lstm_join_gates<const D: usize>(gates: [Tensor<Self, D>; 4]) -> Tensor<Self, D> {
        cpu::join_gates(gates)
    }

    fn lstm_split_gates<const D: usize>(joined: Tensor<Self, D>) -> [Tensor<Self, D>; 4] {
        cpu::split_gates(joined)
    }
}

#[cfg(feature = "wgpu")]
impl LstmBackend for burn_wgpu::Wgpu {}

/// Step-major rows in processing order: `[batch, steps, width]` → `[steps·batch, width]`,
/// reversed in time when `reverse`.
fn step_major<B: Backend>(sequences: Tensor<B, 3>, reverse: bool) -> Tensor<B, 2> {
    let [batch, steps, width] = sequences.dims();
    let ordered = if reverse {
        sequences.flip([1])
    } else {
        sequences
    };
    ordered.swap_dims(0, 1).reshape([steps * batch, width])
}

/// The inverse of [`step_major`].
fn batch_major<B: Backend>(rows: Tensor<B, 2>, batch: usize, reverse: bool) -> Tensor<B, 3> {
    let [total, width] = rows.dims();
    let ordered = rows.reshape([total / batch, batch, width]).swap_dims(0, 1);
    if reverse {
        ordered.flip([1])
    } else {
        ordered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
