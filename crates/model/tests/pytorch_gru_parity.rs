//! The GRU layers the regressor uses, checked against PyTorch's `nn.GRU` (Keras'
//! `reset_after=True` form): outputs, final state, and the gradients of `sum(output · upstream)`
//! for the input and every weight, with tanh, with relu (Keras' `activation='relu'`) and both
//! directions of a bidirectional layer; each through the fused op the regressor runs and through
//! Burn's own `nn::Gru`/`nn::BiGru`.
//!
//! The reference numbers are `tests/fixtures/gru_reference.json`, written by
//! `tests/fixtures/make_gru_fixture.py` (PyTorch 2.15, float64); its docstring gives the layout
//! and the mapping of PyTorch's gates onto Burn's. We compute in float32, the precision training
//! uses, so agreement is to 1e-5 relative.

use std::collections::HashMap;

use burn::nn::{GateController, Gru};
use model::{CellActivation, CellKind, RecurrentLayer, RecurrentRegressorConfig};
use serde::Deserialize;

mod torch_fixture;
use torch_fixture::{assert_close, flat, tensor, TorchWeights, B};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/gru_reference.json"
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
    bidirectional: bool,
    weights: HashMap<String, serde_json::Value>,
    input: serde_json::Value,
    output: serde_json::Value,
    final_hidden: serde_json::Value,
    upstream: serde_json::Value,
    grad_input: serde_json::Value,
    grad_weights: HashMap<String, serde_json::Value>,
}

/// Burn's gate controllers in PyTorch's row-block order: reset, update, new.
fn gates(gru: &Gru<B>) -> [&GateController<B>; 3] {
    [&gru.reset_gate, &gru.update_gate, &gru.new_gate]
}

/// One direction's values (`suffix` "" or "_reverse") of PyTorch's weights or their gradients.
fn torch_weights(values: &HashMap<String, serde_json::Value>, suffix: &str) -> TorchWeights {
    let get = |name: &str| flat(&values[&format!("{name}{suffix}")]);
    TorchWeights {
        weight_ih: get("weight_ih"),
        weight_hh: get("weight_hh"),
        bias_ih: get("bias_ih"),
        bias_hh: get("bias_hh"),
    }
}

/// Loads one direction's PyTorch weights (`suffix` "" or "_reverse") into `gru`.
fn load_weights(mut gru: Gru<B>, case: &Case, suffix: &str) -> Gru<B> {
    let weights = torch_weights(&case.weights, suffix);
    let gates = [&mut gru.reset_gate, &mut gru.update_gate, &mut gru.new_gate];
    for (k, gate) in gates.into_iter().enumerate() {
        weights.load_gate(gate, k, case.features, case.hidden);
    }
    gru
}

/// How the layer is run: the regressor's own path (the fused op) or Burn's module.
#[derive(Clone, Copy)]
enum Path {
    Fused,
    Burn,
}

/// Runs the case through a one-layer GRU (bidirectional when the case is), loaded with the
/// case's weights, and compares everything with PyTorch.
fn check_case(name: &str, activation: CellActivation, path: Path) {
    let fixture: Fixture =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).expect("fixture exists"))
            .expect("fixture is valid JSON");
    let case = &fixture.cases[name];
    let (b, t, i, h) = (case.batch, case.steps, case.features, case.hidden);
    let directions = if case.bidirectional { 2 } else { 1 };

    let config = RecurrentRegressorConfig::new()
        .with_input_features(i)
        .with_hidden(h)
        .with_cell(CellKind::Gru)
        .with_bidirectional(case.bidirectional)
        .with_activation(activation);
    let mut layers = config.init::<B>(&Default::default()).layers;
    let layer = match layers.remove(0) {
        RecurrentLayer::Gru(gru) => RecurrentLayer::Gru(load_weights(gru, case, "")),
        RecurrentLayer::BiGru(mut gru) => {
            gru.forward = load_weights(gru.forward, case, "");
            gru.reverse = load_weights(gru.reverse, case, "_reverse");
            RecurrentLayer::BiGru(gru)
        }
        _ => panic!("a GRU configuration builds a GRU layer"),
    };

    let input = tensor(flat(&case.input), [b, t, i]).require_grad();
    let (output, last) = match (path, &layer) {
        (Path::Fused, _) => layer.forward(input.clone()),
        (Path::Burn, RecurrentLayer::Gru(gru)) => {
            let output = gru.forward(input.clone(), None);
            let last = output.clone().slice([0..b, t - 1..t, 0..h]).reshape([b, h]);
            (output, last)
        }
        (Path::Burn, RecurrentLayer::BiGru(gru)) => {
            let (output, state) = gru.forward(input.clone(), None);
            (output, state.swap_dims(0, 1).reshape([b, 2 * h]))
        }
        (Path::Burn, _) => unreachable!("the layer is a GRU"),
    };
    let width = directions * h;
    let upstream = tensor(flat(&case.upstream), [b, t, width]);
    let grads = (output.clone() * upstream).sum().backward();

    assert_close(
        "output",
        output.inner().reshape([b * t, width]),
        &flat(&case.output),
    );
    // PyTorch's final state is [D, batch, H]; ours is [batch, D·H], forward first.
    let final_hidden = tensor(flat(&case.final_hidden), [directions, b, h])
        .inner()
        .swap_dims(0, 1)
        .reshape([1, b * width]);
    let final_hidden: Vec<f64> = final_hidden
        .into_data()
        .convert::<f64>()
        .to_vec()
        .expect("float data");
    assert_close(
        "final hidden",
        last.inner().reshape([1, b * width]),
        &final_hidden,
    );

    let grad_input = input
        .grad(&grads)
        .expect("input gradient")
        .reshape([b * t, i]);
    assert_close("grad input", grad_input, &flat(&case.grad_input));

    let directions: Vec<(&Gru<B>, &str)> = match &layer {
        RecurrentLayer::Gru(gru) => vec![(gru, "")],
        RecurrentLayer::BiGru(gru) => vec![(&gru.forward, ""), (&gru.reverse, "_reverse")],
        _ => unreachable!("the layer is a GRU"),
    };
    for (gru, suffix) in directions {
        let torch_grads = torch_weights(&case.grad_weights, suffix);
        for (k, gate) in gates(gru).into_iter().enumerate() {
            torch_grads.assert_gate_gradients(&format!("gate {k}{suffix}"), gate, &grads, k, i, h);
        }
    }
}

#[test]
fn fused_tanh_gru_matches_torch_nn_gru() {
    check_case("tanh", CellActivation::Tanh, Path::Fused);
}

#[test]
fn fused_relu_gru_matches_keras_relu_gru_in_torch() {
    check_case("relu", CellActivation::Relu, Path::Fused);
}

#[test]
fn fused_bidirectional_gru_matches_torch_bidirectional_nn_gru() {
    check_case("bidirectional", CellActivation::Tanh, Path::Fused);
}

#[test]
fn burns_tanh_gru_matches_torch_nn_gru() {
    check_case("tanh", CellActivation::Tanh, Path::Burn);
}

#[test]
fn burns_bidirectional_gru_matches_torch_bidirectional_nn_gru() {
    check_case("bidirectional", CellActivation::Tanh, Path::Burn);
}
