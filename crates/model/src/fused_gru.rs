//! Burn's `nn::Gru` run as one [`LstmBackend::gru_sequence`] operation.
//!
//! Burn's `Gru::forward` runs, per time step, six small matrix products (input and recurrent,
//! for each of three gates), their bias additions, the activations and the interpolation, every
//! one recorded for autodiff. Here the same parameters are joined once per call into a fused
//! input kernel `[I, 3H]`, recurrent kernel `[H, 3H]` and biases, and handed to the sequence op
//! (see [`crate::lstm_op`]), which has its own backward pass. The module, its record and its
//! (Keras) initialisation stay Burn's, so runs saved before load unchanged; the gradients reach
//! the per-gate parameters through the join.

use burn::module::Param;
use burn::nn::{GateController, Gru};
use burn::prelude::*;

use crate::lstm_op::{GruActivations, GruKernels, LstmBackend, Nonlinearity};

/// A gate's input or recurrent bias, or zeros without one.
fn bias_or_zeros<B: Backend>(
    bias: Option<&Param<Tensor<B, 1>>>,
    hidden: usize,
    device: &B::Device,
) -> Tensor<B, 1> {
    bias.map_or_else(|| Tensor::zeros([hidden], device), Param::val)
}

/// The fused kernels of `gru`, gates in the order update, reset, new.
fn fused_kernels<B: LstmBackend>(gru: &Gru<B>) -> GruKernels<B> {
    let gates: [&GateController<B>; 3] = [&gru.update_gate, &gru.reset_gate, &gru.new_gate];
    let input = B::lstm_join_columns(gates.map(|gate| gate.input_transform.weight.val()));
    let device = input.device();
    let hidden = gru.d_hidden;
    let recurrent = B::lstm_join_columns(gates.map(|gate| gate.hidden_transform.weight.val()));
    let input_bias = |gate: &GateController<B>| {
        bias_or_zeros(gate.input_transform.bias.as_ref(), hidden, &device)
    };
    let recurrent_bias = |gate: &GateController<B>| {
        bias_or_zeros(gate.hidden_transform.bias.as_ref(), hidden, &device)
    };
    let input_bias_joined = B::lstm_join_columns([
        input_bias(&gru.update_gate) + recurrent_bias(&gru.update_gate),
        input_bias(&gru.reset_gate) + recurrent_bias(&gru.reset_gate),
        input_bias(&gru.new_gate),
    ]);
    GruKernels {
        input,
        recurrent,
        input_bias: input_bias_joined,
        recurrent_bias: recurrent_bias(&gru.new_gate),
    }
}

fn activations<B: Backend>(gru: &Gru<B>) -> Option<GruActivations> {
    Some(GruActivations {
        gate: Nonlinearity::of(&gru.gate_activation)?,
        candidate: Nonlinearity::of(&gru.hidden_activation)?,
    })
}

/// Whether [`forward`] computes what `gru.forward` does: the reset gate applied after the
/// recurrent product (Keras' `reset_after=True`, what
/// [`RecurrentRegressorConfig`](crate::RecurrentRegressorConfig) builds), no state clipping,
/// activations the op can differentiate.
pub fn supports<B: Backend>(gru: &Gru<B>) -> bool {
    gru.reset_after && gru.clip.is_none() && activations(gru).is_some()
}

/// Runs `gru` over `sequences` from a zero state, backwards in time when `reverse`, as one
/// sequence operation.
///
/// `sequences`: `[batch, steps, input]` → the hidden state at every step `[batch, steps, hidden]`
/// (in the input's time order) and the final hidden state `[batch, hidden]` (the last one
/// computed: the first step's, for a reverse pass).
pub fn forward<B: LstmBackend>(
    gru: &Gru<B>,
    sequences: Tensor<B, 3>,
    reverse: bool,
) -> (Tensor<B, 3>, Tensor<B, 2>) {
    let activations = activations(gru).expect("fused_gru::forward needs a supported GRU");
    debug_assert!(supports(gru), "fused_gru::forward needs a reset-after GRU");
    let outputs = B::gru_sequence(sequences, fused_kernels(gru), activations, reverse);
    let last = crate::lstm_op::final_step(outputs.clone(), reverse);
    (outputs, last)
}

/// [`forward`]'s final hidden state alone, `[batch, hidden]`, as [`LstmBackend::gru_final`].
pub fn final_output<B: LstmBackend>(
    gru: &Gru<B>,
    sequences: Tensor<B, 3>,
    reverse: bool,
) -> Tensor<B, 2> {
    let activations = activations(gru).expect("fused_gru::final_output needs a supported GRU");
    debug_assert!(
        supports(gru),
        "fused_gru::final_output needs a reset-after GRU"
    );
    B::gru_final(sequences, fused_kernels(gru), activations, reverse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RecurrentRegressorConfig;
    use crate::{CellActivation, GateActivation};
    use burn::module::{Module, ModuleVisitor};
    use burn::nn::GruConfig;
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
                "{label}[{index}]: fused {a} vs nn::Gru {b} (scale {scale})"
            );
        }
    }

    /// Burn's GRU over `sequences`, backwards in time when `reverse` (the input flipped in, the
    /// outputs flipped back, as `BiGru`'s reverse direction does step by step).
    fn reference(gru: &Gru<Train>, sequences: Tensor<Train, 3>, reverse: bool) -> Tensor<Train, 3> {
        match reverse {
            false => gru.forward(sequences, None),
            true => gru.forward(sequences.flip([1]), None).flip([1]),
        }
    }

    /// Outputs, final state and every parameter gradient of the fused pass against Burn's own
    /// `Gru::forward`, same weights (every bias non-zero), for a loss that weighs every output
    /// differently.
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
        let mut gru: Gru<Train> = RecurrentRegressorConfig::new()
            .with_hidden(hidden)
            .with_activation(activation)
            .with_gate_activation(gates)
            .gru_config(input)
            .init(&device);
        // Keras' initialisation leaves the recurrent biases zero; give every bias a value, so
        // that the new gate's recurrent bias (inside the reset gate's product) is tested.
        for gate in [&mut gru.update_gate, &mut gru.reset_gate, &mut gru.new_gate] {
            for transform in [&mut gate.input_transform, &mut gate.hidden_transform] {
                transform.bias = Some(Param::from_tensor(
                    Tensor::random([hidden], Distribution::Uniform(-0.5, 0.5), &device)
                        .require_grad(),
                ));
            }
        }
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

        let expected = reference(&gru, sequences.clone(), reverse);
        let (fused, fused_last) = forward(&gru, sequences.clone(), reverse);
        assert_eq!(fused.dims(), [batch, steps, hidden]);
        let to_vec = |t: Tensor<Train, 3>| t.into_data().to_vec::<f32>().expect("floats");
        assert_close(
            &format!("{label} outputs"),
            &to_vec(fused.clone()),
            &to_vec(expected.clone()),
        );
        let last = crate::lstm_op::final_step(expected.clone(), reverse);
        assert_close(
            &format!("{label} final"),
            &fused_last.into_data().to_vec::<f32>().expect("floats"),
            &last.into_data().to_vec::<f32>().expect("floats"),
        );

        // The 12 parameters' gradients (3 gates × 2 weights × 2 biases), then the input's.
        let gradients = |loss: Tensor<Train, 1>| {
            let grads = loss.backward();
            let input_grad = sequences
                .grad(&grads)
                .expect("the input requires a gradient");
            let grads = GradientsParams::from_grads(grads, &gru);
            let mut visitor = Gradients {
                grads: &grads,
                values: Vec::new(),
            };
            gru.visit(&mut visitor);
            let mut values = visitor.values;
            values.push(input_grad.into_data().to_vec::<f32>().expect("floats"));
            values
        };
        let ours = gradients((fused * weights.clone()).sum());
        let theirs = gradients((expected * weights).sum());
        assert_eq!(ours.len(), 13, "{label}: 12 parameters and the input");
        for (index, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(!b.is_empty(), "{label}: parameter {index} has no gradient");
            assert_close(&format!("{label} gradient {index}"), a, b);
        }

        // The final state alone, as its own autodiff node (`gru_final`).
        let final_weights =
            Tensor::<Train, 2>::random([batch, hidden], Distribution::Uniform(-1.0, 1.0), &device);
        let fused_final = final_output(&gru, sequences.clone(), reverse);
        let reference_final =
            crate::lstm_op::final_step(reference(&gru, sequences.clone(), reverse), reverse);
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
    fn fused_pass_equals_burns_gru_outputs_and_gradients() {
        let _rng = crate::backend_rng();
        <Train as Backend>::seed(&Default::default(), 13);
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
    fn the_models_gru_is_supported_and_reset_before_is_not() {
        let _rng = crate::backend_rng();
        let config = RecurrentRegressorConfig::new().with_cell(crate::CellKind::Gru);
        let gru: Gru<NdArray> = config.gru_config(1).init(&Default::default());
        assert!(supports(&gru));
        let before: Gru<NdArray> = GruConfig::new(1, 4, true)
            .with_reset_after(false)
            .init(&Default::default());
        assert!(!supports(&before));
    }
}
