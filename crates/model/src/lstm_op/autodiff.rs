//! The LSTM op on `Autodiff<B>`: the op and the gate join each recorded as one node, with a
//! backward pass that calls the inner backend's.

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_autodiff::Autodiff;

use super::{
    GruActivations, GruKernels, GruTrace, LstmActivations, LstmBackend, LstmKernels, LstmTrace,
    OutputGrad,
};

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

/// The autodiff node of [`LstmBackend::gru_sequence`] or, when `final_only`, of
/// [`LstmBackend::gru_final`].
#[derive(Debug)]
struct GruSequenceBackward {
    final_only: bool,
}

impl<B: LstmBackend> Backward<B, 5> for GruSequenceBackward {
    type State = GruTrace<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 5>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [sequences, input_kernel, recurrent_kernel, input_bias, recurrent_bias] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let output_grad = if self.final_only {
            OutputGrad::FinalStep(float(output_grad))
        } else {
            OutputGrad::EveryStep(float(output_grad))
        };
        let computed = B::gru_backward(ops.state, output_grad, sequences.is_some());
        if let (Some(node), Some(grad)) = (sequences, computed.sequences) {
            grads.register::<B>(node.id, grad.into_primitive().tensor());
        }
        let parameters = [
            (
                input_kernel,
                computed.input_kernel.into_primitive().tensor(),
            ),
            (
                recurrent_kernel,
                computed.recurrent_kernel.into_primitive().tensor(),
            ),
        ];
        for (node, grad) in parameters {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
        let biases = [
            (input_bias, computed.input_bias.into_primitive().tensor()),
            (
                recurrent_bias,
                computed.recurrent_bias.into_primitive().tensor(),
            ),
        ];
        for (node, grad) in biases {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

/// The autodiff node of [`LstmBackend::lstm_join_columns`]: each part's gradient is its block
/// of columns of the joined gradient.
#[derive(Debug)]
struct JoinColumnsBackward<const D: usize>;

impl<B: LstmBackend, const D: usize, const N: usize> Backward<B, N> for JoinColumnsBackward<D> {
    type State = ();

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let joined = float::<B, D>(grads.consume::<B>(&ops.node));
        let parts: [Tensor<B, D>; N] = B::lstm_split_columns(joined);
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

    fn gru_sequence(
        sequences: Tensor<Self, 3>,
        kernels: GruKernels<Self>,
        activations: GruActivations,
        reverse: bool,
    ) -> Tensor<Self, 3> {
        record_gru(sequences, kernels, activations, reverse, false)
    }

    fn gru_final(
        sequences: Tensor<Self, 3>,
        kernels: GruKernels<Self>,
        activations: GruActivations,
        reverse: bool,
    ) -> Tensor<Self, 2> {
        record_gru(sequences, kernels, activations, reverse, true)
    }

    fn lstm_join_columns<const D: usize, const N: usize>(
        parts: [Tensor<Self, D>; N],
    ) -> Tensor<Self, D> {
        let parts = parts.map(|part| part.into_primitive().tensor());
        let nodes = parts.each_ref().map(|part| part.node.clone());
        let inner = parts.map(|part| float::<B, D>(part.primitive));
        let joined = B::lstm_join_columns(inner).into_primitive().tensor();
        // Compute-bound, as `record`: nothing to recompute under a checkpointing strategy.
        let joined = JoinColumnsBackward::<D>
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

/// [`record`] for the GRU op.
fn record_gru<B: LstmBackend, C: CheckpointStrategy, const D: usize>(
    sequences: Tensor<Autodiff<B, C>, 3>,
    kernels: GruKernels<Autodiff<B, C>>,
    activations: GruActivations,
    reverse: bool,
    final_only: bool,
) -> Tensor<Autodiff<B, C>, D> {
    let sequences = sequences.into_primitive().tensor();
    let input = kernels.input.into_primitive().tensor();
    let recurrent = kernels.recurrent.into_primitive().tensor();
    let input_bias = kernels.input_bias.into_primitive().tensor();
    let recurrent_bias = kernels.recurrent_bias.into_primitive().tensor();
    let nodes = [
        sequences.node.clone(),
        input.node.clone(),
        recurrent.node.clone(),
        input_bias.node.clone(),
        recurrent_bias.node.clone(),
    ];
    let inner_kernels = GruKernels::<B> {
        input: float(input.primitive),
        recurrent: float(recurrent.primitive),
        input_bias: float(input_bias.primitive),
        recurrent_bias: float(recurrent_bias.primitive),
    };
    let inner_sequences = float::<B, 3>(sequences.primitive);
    let output = match (GruSequenceBackward { final_only })
        .prepare::<C>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (outputs, trace) =
                B::gru_forward(inner_sequences, inner_kernels, activations, reverse, true);
            let trace = trace.expect("gru_forward keeps the trace it is asked for");
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
                B::gru_final(inner_sequences, inner_kernels, activations, reverse)
                    .into_primitive()
                    .tensor()
            } else {
                B::gru_sequence(inner_sequences, inner_kernels, activations, reverse)
                    .into_primitive()
                    .tensor()
            };
            prep.finish(output)
        }
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}
