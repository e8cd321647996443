//! The LSTM op on `NdArray`: the fused CPU kernel ([`cpu`](super::cpu)).

use burn::prelude::*;

use super::{
    cpu, GruActivations, GruGradients, GruKernels, GruTrace, LstmActivations, LstmBackend,
    LstmGradients, LstmKernels, LstmTrace, OutputGrad,
};

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

    fn gru_forward(
        sequences: Tensor<Self, 3>,
        kernels: GruKernels<Self>,
        activations: GruActivations,
        reverse: bool,
        keep_trace: bool,
    ) -> (Tensor<Self, 3>, Option<GruTrace<Self>>) {
        cpu::gru::forward(sequences, kernels, activations, reverse, keep_trace)
    }

    fn gru_backward(
        trace: GruTrace<Self>,
        output_grad: OutputGrad<Self>,
        want_sequences: bool,
    ) -> GruGradients<Self> {
        cpu::gru::backward(trace, output_grad, want_sequences)
    }

    fn lstm_final_step(outputs: Tensor<Self, 3>, reverse: bool) -> Tensor<Self, 2> {
        cpu::final_step(outputs, reverse)
    }

    fn lstm_join_columns<const D: usize, const N: usize>(
        parts: [Tensor<Self, D>; N],
    ) -> Tensor<Self, D> {
        cpu::join_columns(parts)
    }

    fn lstm_split_columns<const D: usize, const N: usize>(
        joined: Tensor<Self, D>,
    ) -> [Tensor<Self, D>; N] {
        cpu::split_columns(joined)
    }
}
