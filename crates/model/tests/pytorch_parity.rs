//! The LSTM cell the regressor uses, checked against PyTorch: outputs, final state, and the
//! gradients of `sum(output · upstream)` for the input and every weight, with tanh
//! (`torch.nn.LSTM`) and with relu (Keras' `activation='relu'`).
//!
//! The reference numbers are `tests/fixtures/lstm_reference.json`, written by
//! `tests/fixtures/make_lstm_fixture.py` (PyTorch 2.15, float64); its docstring explains the
//! layout. We compute in float32, the precision training uses, so agreement is to 1e-5 relative.

use std::collections::HashMap;

use burn::nn::{GateController, Lstm};
use burn::prelude::*;
use model::{CellActivation, RecurrentRegressorConfig};
use serde::Deserialize;

mod torch_fixture;
use torch_fixture::{assert_close, flat, tensor, TorchWeights, B};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/lstm_reference.json"
);

#[derive(Deserialize)]
struct Fixture {
    cases: HashMap<String, Case>,
}

#[derive(Deserialize)]
struct Case {
    batch: usize,
    steps: usize,
    features: usize,
    hidden: usize,
    weights: HashMap<String, serde_json::Value>,
    input: Vec<Vec<Vec<f64>>>,
    output: Vec<Vec<Vec<f64>>>,
    final_hidden: Vec<Vec<f64>>,
    final_cell: Vec<Vec<f64>>,
    upstream: Vec<Vec<Vec<f64>>>,
    grad_input: Vec<Vec<Vec<f64>>>,
    grad_weights: HashMap<String, serde_json::Value>,
}

fn nested3(values: &[Vec<Vec<f64>>]) -> Vec<f64> {
    values.iter().flatten().flatten().copied().collect()
}

fn gates(lstm: &Lstm<B>) -> [&GateController<B>; 4] {
    [
        &lstm.input_gate,
        &lstm.forget_gate,
        &lstm.cell_gate,
        &lstm.output_gate,
    ]
}

fn torch_weights(values: &HashMap<String, serde_json::Value>) -> TorchWeights {
    TorchWeights {
        weight_ih: flat(&values["weight_ih"]),
        weight_hh: flat(&values["weight_hh"]),
        bias_ih: flat(&values["bias_ih"]),
        bias_hh: flat(&values["bias_hh"]),
    }
}

/// nn.LSTM keeps the gates in Burn's order (input, forget, cell, output).
fn load_weights(mut lstm: Lstm<B>, case: &Case) -> Lstm<B> {
    let weights = torch_weights(&case.weights);
    let gates = [
        &mut lstm.input_gate,
        &mut lstm.forget_gate,
        &mut lstm.cell_gate,
        &mut lstm.output_gate,
    ];
    for (k, gate) in gates.into_iter().enumerate() {
        weights.load_gate(gate, k, case.features, case.hidden);
    }
    lstm
}

/// Checks Burn's `nn::Lstm` forward, or with `fused` our fused pass over the same module
/// (`model::backend_ops::forward`, which has no cell state to report), against PyTorch.
fn check_case(name: &str, activation: CellActivation, fused: bool) {
    let fixture: Fixture =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).expect("fixture exists"))
            .expect("fixture is valid JSON");
    let case = &fixture.cases[name];
    let (b, t, i, h) = (case.batch, case.steps, case.features, case.hidden);

    let config = RecurrentRegressorConfig::new()
        .with_input_features(i)
        .with_hidden(h)
        .with_activation(activation);
    let lstm = load_weights(
        config
            .lstm_config(config.input_features)
            .init::<B>(&Default::default()),
        case,
    );

    let input = tensor(nested3(&case.input), [b, t, i]).require_grad();
    let (output, hidden, cell) = if fused {
        let (output, hidden) = model::backend_ops::forward(&lstm, input.clone(), false);
        (output, hidden, None)
    } else {
        let (output, state) = lstm.forward(input.clone(), None);
        (output, state.hidden, Some(state.cell))
    };
    let upstream = tensor(nested3(&case.upstream), [b, t, h]);
    let grads = (output.clone() * upstream).sum().backward();

    let inner = |x: Tensor<B, 3>, rows| x.inner().reshape([rows, h]);
    assert_close("output", inner(output, b * t), &nested3(&case.output));
    let final_hidden: Vec<f64> = case.final_hidden.iter().flatten().copied().collect();
    let final_cell: Vec<f64> = case.final_cell.iter().flatten().copied().collect();
    assert_close("final hidden", hidden.inner(), &final_hidden);
    if let Some(cell) = cell {
        assert_close("final cell", cell.inner(), &final_cell);
    }

    let grad_input = input
        .grad(&grads)
        .expect("input gradient")
        .reshape([b * t, i]);
    assert_close("grad input", grad_input, &nested3(&case.grad_input));

    let torch_grads = torch_weights(&case.grad_weights);
    for (k, gate) in gates(&lstm).into_iter().enumerate() {
        torch_grads.assert_gate_gradients(&format!("gate {k}"), gate, &grads, k, i, h);
    }
}

#[test]
fn tanh_cell_matches_torch_nn_lstm() {
    check_case("tanh", CellActivation::Tanh, false);
}

#[test]
fn relu_cell_matches_keras_relu_lstm_in_torch() {
    check_case("relu", CellActivation::Relu, false);
}

#[test]
fn fused_tanh_pass_matches_torch_nn_lstm() {
    check_case("tanh", CellActivation::Tanh, true);
}

#[test]
fn fused_relu_pass_matches_keras_relu_lstm_in_torch() {
    check_case("relu", CellActivation::Relu, true);
}
