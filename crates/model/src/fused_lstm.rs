//! Burn's `nn::Lstm` run as one [`LstmBackend::lstm_sequence`] operation.
//!
//! Burn's `Lstm::forward` runs, per time step, eight small matrix products (input and recurrent,
//! for each of four gates), eight bias additions and an activation per gate, every one recorded
//! for autodiff. Here the same parameters are concatenated once per call into a fused input
//! kernel `[I, 4H]`, recurrent kernel `[H, 4H]` and bias `[4H]` and handed to the sequence op
//! (see [`crate::lstm_op`]), which has its own backward pass. The module, its record and its
//! initialisation stay Burn's, so saved runs, Keras initialisation and the PyTorch fixture all
//! still apply; the gradients reach the per-gate parameters through the concatenation.

use burn::module::Param;
use burn::nn::{GateController, Linear, Lstm};
use burn::prelude::*;

use crate::lstm_op::{LstmActivations, LstmBackend, LstmKernels, Nonlinearity};

/// The fused kernels of `lstm`, gates in the order input, forget, output, cell (the three
/// sigmoid gates first, so one activation covers them), joined by
/// [`LstmBackend::lstm_join_columns`]: three autodiff nodes and one addition per call.
fn fused_kernels<B: LstmBackend>(lstm: &Lstm<B>) -> LstmKernels<B> {
    let gates = [
        &lstm.input_gate,
        &lstm.forget_gate,
        &lstm.output_gate,
        &lstm.cell_gate,
    ];
    let input = B::lstm_join_columns(gates.map(|gate| gate.input_transform.weight.val()));
    let recurrent = B::lstm_join_columns(gates.map(|gate| gate.hidden_transform.weight.val()));
    // Burn's LSTM has both biases on every gate or none (`LstmConfig::bias`).
    let biases = |transform: fn(&GateController<B>) -> &Linear<B>| {
        let biases = gates.map(|gate| transform(gate).bias.as_ref().map(Param::val));
        biases
            .iter()
            .all(Option::is_some)
            .then(|| B::lstm_join_columns(biases.map(|bias| bias.expect("checked above"))))
    };
    let bias = match (
        biases(|gate| &gate.input_transform),
        biases(|gate| &gate.hidden_transform),
    ) {
        (Some(input), Some(hidden)) => input + hidden,
        (Some(bias), None) | (None, Some(bias)) => bias,
        (None, None) => Tensor::zeros([4 * lstm.d_hidden], &input.device()),
    };
    LstmKernels {
        input,
        recurrent,
        bias,
    }
}

fn activations<B: Backend>(lstm: &Lstm<B>) -> Option<LstmActivations> {
    Some(LstmActivations {
        gate: Nonlinearity::of(&lstm.gate_activation)?,
        cell: Nonlinearity::of(&lstm.cell_activation)?,
        hidden: Nonlinearity::of(&lstm.hidden_activation)?,
    })
}

/// Whether [`forward`] computes what `lstm.forward` does: batch first, no coupled input-forget
/// gate, no cell clipping, activations the op can differentiate (what
/// [`RecurrentRegressorConfig`](crate::RecurrentRegressorConfig) builds).
pub fn supports<B: Backend>(lstm: &Lstm<B>) -> bool {
    lstm.batch_first && !lstm.input_forget && lstm.clip.is_none() && activations(lstm).is_some()
}

/// Runs `lstm` over `sequences` from a zero state, backwards in time when `reverse` (or when the
/// module itself is a reverse one), as one sequence operation.
///
/// `sequences`: `[batch, steps, input]` → the hidden state at every step `[batch, steps, hidden]`
/// (in the input's time order) and the final hidden state `[batch, hidden]` (the last one
/// computed: the first step's, for a reverse pass).
pub fn forward<B: LstmBackend>(
    lstm: &Lstm<B>,
    sequences: Tensor<B, 3>,
    reverse: bool,
) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let activations = activations(lstm).expect("fused_lstm::forward needs a supported LSTM");
    debug_assert!(supports(lstm), "fused_lstm::forward needs a plain LSTM");
    let reverse = reverse != lstm.reverse;
    let outputs = B::lstm_sequence(sequences, fused_kernels(lstm), activations, reverse);
    let last = crate::lstm_op::final_step(outputs.clone(), reverse);
    (outputs, last)
}

/// [`forward`]'s final hidden state alone, `[batch, hidden]`, as
/// [`LstmBackend::lstm_final`]: in training, its backward pass starts from this state's
/// gradient instead of one over every step.
pub fn final_output<B: LstmBackend>(
    lstm: &Lstm<B>,
    sequences: Tensor<B, 3>,
    reverse: bool,
) -> Tensor<B, 2> {
    let activations = activations(lstm).expect("fused_lstm::final_output needs a supported LSTM");
    debug_assert!(
        supports(lstm),
        "fused_lstm::final_output needs a plain LSTM"
    );
    let reverse = reverse != lstm.reverse;
    B::lstm_final(sequences, fused_kernels(lstm), activations, reverse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecurrentRegressorConfig;
    use crate::{CellActivation, GateActivation};
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::nn::LstmConfig;
    use burn::optim::GradientsParams;
    use burn::tensor::Distribution;
    use burn_autodiff::Autodiff;
    use burn_ndarray::NdArray;

    type Train = Autodiff<NdArray>;

    /// Every parameter gradient of a module, in module order, as f32 values.
    struct Gradients<'a> {
        grads: &'a GradientsParams,
        values: Vec<Vec<f32>>,
    }

    impl ModuleVisitor<Train> for Gradients<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Train, D>>) {
            let grad = self
                .grads
                .get::<NdArray, D>(param.id)
                .map(|grad| grad.into_data().to_vec::<f32>().expect("floats"))
                .unwrap_or_default();
            self.values.push(grad);
        }
    }

    fn assert_close(label: &str, ours: &[f32], reference: &[f32]) {
        assert_eq!(ours.len(), reference.len(), "{label}: lengths");
        let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (index, (a, b)) in ours.iter().zip(reference).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{label}[{index}]: fused {a} vs nn::Lstm {b} (scale {scale})"
            );
        }
    }

    /// Outputs, final state and every parameter gradient of the fused pass against Burn's own
    /// `Lstm::forward`, same weights, for a loss that weighs every output differently.
    fn check(
        batch: usize,
        steps: usize,
        input: usize,
        hidden: usize,
        activation: CellActivation,
        gates: GateActivation,
        reverse: bool,
    ) {
        let device = Default::default();
        let label = format!(
            "B{batch} T{steps} I{input} H{hidden} {activation} {gates:?} reverse={reverse}"
        );
        let lstm: Lstm<Train> = RecurrentRegressorConfig::new()
            .with_hidden(hidden)
            .with_activation(activation)
            .with_gate_activation(gates)
            .lstm_config(input)
            .with_reverse(reverse)
            .init(&device);
        let sequences = Tensor::<Train, 3>::random(
            [batch, steps, input],
            Distribution::Normal(0.0, 1.0),
            &device,
        )
        .require_grad();
        let weights = Tensor::<Train, 3>::random(
            [batch, steps, hidden],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );

        let (reference, reference_state) = lstm.forward(sequences.clone(), None);
        let (fused, fused_last) = forward(&lstm, sequences.clone(), false);
        assert_eq!(fused.dims(), [batch, steps, hidden]);
        let to_vec = |t: Tensor<Train, 3>| t.into_data().to_vec::<f32>().expect("floats");
        assert_close(
            &format!("{label} outputs"),
            &to_vec(fused.clone()),
            &to_vec(reference.clone()),
        );
        assert_close(
            &format!("{label} final"),
            &fused_last.into_data().to_vec::<f32>().expect("floats"),
            &reference_state
                .hidden
                .into_data()
                .to_vec::<f32>()
                .expect("floats"),
        );

        // The 16 parameters' gradients (4 gates × 2 weights × 2 biases), then the input's.
        let gradients = |loss: Tensor<Train, 1>| {
            let grads = loss.backward();
            let input_grad = sequences
                .grad(&grads)
                .expect("the input requires a gradient");
            let grads = GradientsParams::from_grads(grads, &lstm);
            let mut visitor = Gradients {
                grads: &grads,
                values: Vec::new(),
            };
            lstm.visit(&mut visitor);
            let mut values = visitor.values;
            values.push(input_grad.into_data().to_vec::<f32>().expect("floats"));
            values
        };
        let ours = gradients((fused * weights.clone()).sum());
        let theirs = gradients((reference * weights).sum());
        assert_eq!(ours.len(), 17, "{label}: 16 parameters and the input");
        for (index, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(!b.is_empty(), "{label}: parameter {index} has no gradient");
            assert_close(&format!("{label} gradient {index}"), a, b);
        }

        // The final state alone, as its own autodiff node (`lstm_final`), against nn::Lstm's.
        let final_weights =
            Tensor::<Train, 2>::random([batch, hidden], Distribution::Uniform(-1.0, 1.0), &device);
        let fused_final = final_output(&lstm, sequences.clone(), false);
        let reference_final = lstm.forward(sequences.clone(), None).1.hidden;
        let to_vec = |t: Tensor<Train, 2>| t.into_data().to_vec::<f32>().expect("floats");
        assert_close(
            &format!("{label} final_output"),
            &to_vec(fused_final.clone()),
            &to_vec(reference_final.clone()),
        );
        let ours = gradients((fused_final * final_weights.clone()).sum());
        let theirs = gradients((reference_final * final_weights).sum());
        for (index, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(!b.is_empty(), "{label}: parameter {index} has no gradient");
            assert_close(&format!("{label} final_output gradient {index}"), a, b);
        }
    }

    #[test]
    fn fused_pass_equals_burns_lstm_outputs_and_gradients() {
        let _rng = crate::backend_rng();
        <Train as Backend>::seed(&Default::default(), 11);
        for (batch, steps, input, hidden) in
            [(1, 1, 1, 1), (3, 7, 2, 5), (4, 10, 1, 16), (2, 5, 8, 9)]
        {
            for activation in [CellActivation::Tanh, CellActivation::Relu] {
                for gates in [GateActivation::Sigmoid, GateActivation::HardSigmoid] {
                    for reverse in [false, true] {
                        check(batch, steps, input, hidden, activation, gates, reverse);
                    }
                }
            }
        }
    }

    #[test]
    fn the_tutorial_configuration_is_supported() {
        let _rng = crate::backend_rng();
        let config = RecurrentRegressorConfig::new();
        let lstm: Lstm<NdArray> = config.lstm_config(1).init(&Default::default());
        assert!(supports(&lstm));
        let clipped: Lstm<NdArray> = LstmConfig::new(1, 4, true)
            .with_clip(Some(1.0))
            .init(&Default::default());
        assert!(!supports(&clipped));
    }
}
