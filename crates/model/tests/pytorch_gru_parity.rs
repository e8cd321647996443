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

use burn::module::Param;
use burn::nn::{GateController, Gru};
use burn::prelude::*;
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;
use model::{CellActivation, CellKind, RecurrentLayer, RecurrentRegressorConfig};
use serde::Deserialize;

type B = Autodiff<NdArray>;

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

fn flat(value: &serde_json::Value) -> Vec<f64> {
    match value {
        serde_json::Value::Array(items) => items.iter().flat_map(flat).collect(),
        serde_json::Value::Number(number) => vec![number.as_f64().expect("a float")],
        other => panic!("unexpected JSON value {other}"),
    }
}

fn tensor<const D: usize>(values: Vec<f64>, shape: [usize; D]) -> Tensor<B, D> {
    let data = TensorData::new(values, shape).convert::<f32>();
    Tensor::from_data(data, &Default::default())
}

/// Burn's gate controllers in PyTorch's row-block order: reset, update, new.
fn gates(gru: &Gru<B>) -> [&GateController<B>; 3] {
    [&gru.reset_gate, &gru.update_gate, &gru.new_gate]
}

/// PyTorch stacks the gates in the rows of `[3H, in]`; Burn keeps an `[in, H]` matrix per gate.
fn gate_block(torch: &[f64], gate: usize, hidden: usize, width: usize) -> Tensor<B, 2> {
    let rows = torch[gate * hidden * width..(gate + 1) * hidden * width].to_vec();
    tensor(rows, [hidden, width]).transpose()
}

/// Loads one direction's PyTorch weights (`suffix` "" or "_reverse") into `gru`.
fn load_weights(mut gru: Gru<B>, case: &Case, suffix: &str) -> Gru<B> {
    let (h, i) = (case.hidden, case.features);
    let weight = |name: &str| flat(&case.weights[&format!("{name}{suffix}")]);
    let (w_ih, w_hh, b_ih, b_hh) = (
        weight("weight_ih"),
        weight("weight_hh"),
        weight("bias_ih"),
        weight("bias_hh"),
    );
    let gates = [&mut gru.reset_gate, &mut gru.update_gate, &mut gru.new_gate];
    for (k, gate) in gates.into_iter().enumerate() {
        let bias = |all: &[f64]| {
            Some(Param::from_tensor(tensor(
                all[k * h..(k + 1) * h].to_vec(),
                [h],
            )))
        };
        gate.input_transform.weight = Param::from_tensor(gate_block(&w_ih, k, h, i));
        gate.hidden_transform.weight = Param::from_tensor(gate_block(&w_hh, k, h, h));
        gate.input_transform.bias = bias(&b_ih);
        gate.hidden_transform.bias = bias(&b_hh);
    }
    gru
}

fn assert_close(name: &str, actual: Tensor<NdArray, 2>, expected: &[f64]) {
    let actual = actual
        .into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .expect("float data");
    assert_eq!(actual.len(), expected.len(), "{name}: element count");
    for (index, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-5 * e.abs() + 1e-6,
            "{name}[{index}]: ours {a}, PyTorch {e}"
        );
    }
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
    let grad = |param: &Param<Tensor<B, 2>>| param.val().grad(&grads).expect("weight gradient");
    let grad_bias = |param: &Option<Param<Tensor<B, 1>>>| {
        let bias = param.as_ref().expect("bias on").val();
        bias.grad(&grads).expect("bias gradient").reshape([1, h])
    };
    for (gru, suffix) in directions {
        let torch_grad = |key: &str| flat(&case.grad_weights[&format!("{key}{suffix}")]);
        for (k, gate) in gates(gru).into_iter().enumerate() {
            let rows =
                |all: Vec<f64>, width: usize| all[k * h * width..(k + 1) * h * width].to_vec();
            let label = |what: &str| format!("gate {k}{suffix} {what}");
            // Burn's [in, H] gradient transposed is PyTorch's [H, in] block.
            assert_close(
                &label("grad weight_ih"),
                grad(&gate.input_transform.weight).transpose(),
                &rows(torch_grad("weight_ih"), i),
            );
            assert_close(
                &label("grad weight_hh"),
                grad(&gate.hidden_transform.weight).transpose(),
                &rows(torch_grad("weight_hh"), h),
            );
            assert_close(
                &label("grad bias_ih"),
                grad_bias(&gate.input_transform.bias),
                &rows(torch_grad("bias_ih"), 1),
            );
            assert_close(
                &label("grad bias_hh"),
                grad_bias(&gate.hidden_transform.bias),
                &rows(torch_grad("bias_hh"), 1),
            );
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
