//! A faster forward pass over the parameters of Burn's `nn::Lstm`.
//!
//! Burn's `Lstm::forward` runs, per time step, eight small matrix products (input and recurrent,
//! for each of four gates), eight bias additions and an activation per gate, every one recorded
//! for autodiff. This pass uses the same parameters, concatenated once per call into a fused
//! input kernel `[I, 4H]`, recurrent kernel `[H, 4H]` and bias `[4H]`, and per step does two
//! products, one activation over the three sigmoid gates together and one for the candidate,
//! then the cell update. The module, its record and its initialisation stay Burn's, so saved
//! runs, Keras initialisation and the PyTorch fixture all still apply; the gradients reach the
//! per-gate parameters through the concatenation.

use burn::nn::Lstm;
use burn::prelude::*;

/// The fused kernels of `lstm`, gates in the order input, forget, output, cell (the three
/// sigmoid gates first, so one activation covers them).
struct FusedKernels<B: Backend> {
    input: Tensor<B, 2>,
    recurrent: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
}

fn fused_kernels<B: Backend>(lstm: &Lstm<B>) -> FusedKernels<B> {
    let gates = [
        &lstm.input_gate,
        &lstm.forget_gate,
        &lstm.output_gate,
        &lstm.cell_gate,
    ];
    let input = Tensor::cat(
        gates
            .iter()
            .map(|gate| gate.input_transform.weight.val())
            .collect(),
        1,
    );
    let recurrent = Tensor::cat(
        gates
            .iter()
            .map(|gate| gate.hidden_transform.weight.val())
            .collect(),
        1,
    );
    let has_bias = gates
        .iter()
        .any(|gate| gate.input_transform.bias.is_some() || gate.hidden_transform.bias.is_some());
    let bias = has_bias.then(|| {
        let device = input.device();
        Tensor::cat(
            gates
                .iter()
                .map(|gate| {
                    let biases = [&gate.input_transform.bias, &gate.hidden_transform.bias];
                    biases
                        .into_iter()
                        .flatten()
                        .map(|bias| bias.val())
                        .reduce(|a, b| a + b)
                        .unwrap_or_else(|| Tensor::zeros([lstm.d_hidden], &device))
                })
                .collect(),
            0,
        )
    });
    FusedKernels {
        input,
        recurrent,
        bias,
    }
}

/// Whether [`forward`] computes what `lstm.forward` does: batch first, no coupled input-forget
/// gate, no cell clipping (what [`RecurrentRegressorConfig`](crate::RecurrentRegressorConfig)
/// builds).
pub fn supports<B: Backend>(lstm: &Lstm<B>) -> bool {
    lstm.batch_first && !lstm.input_forget && lstm.clip.is_none()
}

/// Runs `lstm` over `sequences` from a zero state, backwards in time when `reverse` (or when the
/// module itself is a reverse one), with the fused kernels.
///
/// `sequences`: `[batch, steps, input]` → the hidden state at every step `[batch, steps, hidden]`
/// (in the input's time order) and the final hidden state `[batch, hidden]`.
pub fn forward<B: Backend>(
    lstm: &Lstm<B>,
    sequences: Tensor<B, 3>,
    reverse: bool,
) -> (Tensor<B, 3>, Tensor<B, 2>) {
    debug_assert!(supports(lstm), "fused_lstm::forward needs a plain LSTM");
    let reverse = reverse != lstm.reverse;
    let [batch, steps, input] = sequences.dims();
    let hidden = lstm.d_hidden;
    let kernels = fused_kernels(lstm);
    let bias = kernels.bias.map(|bias| bias.unsqueeze::<2>());

    let mut hidden_state: Option<Tensor<B, 2>> = None;
    let mut cell_state: Option<Tensor<B, 2>> = None;
    let mut outputs = Vec::with_capacity(steps);
    let order: Box<dyn Iterator<Item = usize>> = if reverse {
        Box::new((0..steps).rev())
    } else {
        Box::new(0..steps)
    };
    for t in order {
        let x_t = sequences
            .clone()
            .slice([0..batch, t..t + 1, 0..input])
            .reshape([batch, input]);
        let mut gates = x_t.matmul(kernels.input.clone());
        if let Some(bias) = &bias {
            gates = gates + bias.clone();
        }
        // From the zero state the recurrent product and the forget term vanish: skip them,
        // except in one-step sequences, where the recurrent kernel must still get its (zero)
        // gradient, as with nn::Lstm, or the optimiser would skip it (weight decay included).
        match &hidden_state {
            Some(h) => gates = gates + h.clone().matmul(kernels.recurrent.clone()),
            None if steps == 1 => {
                let zero = Tensor::zeros([batch, hidden], &gates.device());
                gates = gates + zero.matmul(kernels.recurrent.clone());
            }
            None => {}
        }
        let sigmoid_gates = lstm
            .gate_activation
            .forward(gates.clone().slice([0..batch, 0..3 * hidden]));
        let candidate = lstm
            .cell_activation
            .forward(gates.slice([0..batch, 3 * hidden..4 * hidden]));
        let input_gate = sigmoid_gates.clone().slice([0..batch, 0..hidden]);
        let output_gate = sigmoid_gates
            .clone()
            .slice([0..batch, 2 * hidden..3 * hidden]);
        let mut cell = input_gate * candidate;
        if let Some(previous) = cell_state {
            let forget_gate = sigmoid_gates.slice([0..batch, hidden..2 * hidden]);
            cell = cell + forget_gate * previous;
        }
        let h = output_gate * lstm.hidden_activation.forward(cell.clone());
        outputs.push(h.clone());
        cell_state = Some(cell);
        hidden_state = Some(h);
    }
    if reverse {
        outputs.reverse();
    }
    let last = hidden_state.unwrap_or_else(|| Tensor::zeros([batch, hidden], &sequences.device()));
    (Tensor::stack(outputs, 1), last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CellActivation;
    use crate::RecurrentRegressorConfig;
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
        reverse: bool,
    ) {
        let device = Default::default();
        let label = format!("B{batch} T{steps} I{input} H{hidden} {activation} reverse={reverse}");
        let lstm: Lstm<Train> = RecurrentRegressorConfig::new()
            .with_hidden(hidden)
            .with_activation(activation)
            .lstm_config(input)
            .with_reverse(reverse)
            .init(&device);
        let sequences = Tensor::<Train, 3>::random(
            [batch, steps, input],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let weights = Tensor::<Train, 3>::random(
            [batch, steps, hidden],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );

        let (reference, reference_state) = lstm.forward(sequences.clone(), None);
        let (fused, fused_last) = forward(&lstm, sequences, false);
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

        let gradients = |output: Tensor<Train, 3>| {
            let grads =
                GradientsParams::from_grads((output * weights.clone()).sum().backward(), &lstm);
            let mut visitor = Gradients {
                grads: &grads,
                values: Vec::new(),
            };
            lstm.visit(&mut visitor);
            visitor.values
        };
        let ours = gradients(fused);
        let theirs = gradients(reference);
        assert_eq!(ours.len(), 16, "{label}: 4 gates × 2 weights × 2 biases");
        for (index, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(!b.is_empty(), "{label}: parameter {index} has no gradient");
            assert_close(&format!("{label} gradient {index}"), a, b);
        }
    }

    #[test]
    fn fused_pass_equals_burns_lstm_outputs_and_gradients() {
        <Train as Backend>::seed(&Default::default(), 11);
        for (batch, steps, input, hidden) in
            [(1, 1, 1, 1), (3, 7, 2, 5), (4, 10, 1, 16), (2, 5, 8, 9)]
        {
            for activation in [CellActivation::Tanh, CellActivation::Relu] {
                for reverse in [false, true] {
                    check(batch, steps, input, hidden, activation, reverse);
                }
            }
        }
    }

    #[test]
    fn the_tutorial_configuration_is_supported() {
        let config = RecurrentRegressorConfig::new();
        let lstm: Lstm<NdArray> = config.lstm_config(1).init(&Default::default());
        assert!(supports(&lstm));
        let clipped: Lstm<NdArray> = LstmConfig::new(1, 4, true)
            .with_clip(Some(1.0))
            .init(&Default::default());
        assert!(!supports(&clipped));
    }
}
