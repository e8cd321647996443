//! The LSTM cell the regressor uses, checked against PyTorch: outputs, final state, and the
//! gradients of `sum(output · upstream)` for the input and every weight, with tanh
//! (`torch.nn.LSTM`) and with relu (Keras' `activation='relu'`).
//!
//! The reference numbers are `tests/fixtures/lstm_reference.json`, written by
//! `tests/fixtures/make_lstm_fixture.py` (PyTorch 2.15, float64); its docstring explains the
//! layout. We compute in float32, the precision training uses, so agreement is to 1e-5 relative.

use std::collections::HashMap;

use burn::module::Param;
use burn::nn::{GateController, Lstm};
use burn::prelude::*;
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;
use model::{CellActivation, RecurrentRegressorConfig};
use serde::Deserialize;

type B = Autodiff<NdArray>;

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

fn nested3(values: &[Vec<Vec<f64>>]) -> Vec<f64> {
    values.iter().flatten().flatten().copied().collect()
}

/// PyTorch stacks the gates (input, forget, cell, output) in the rows of `[4H, in]`; Burn keeps a
/// `[in, H]` matrix per gate.
fn gate_block(torch: &[f64], gate: usize, hidden: usize, width: usize) -> Tensor<B, 2> {
    let rows = torch[gate * hidden * width..(gate + 1) * hidden * width].to_vec();
    tensor(rows, [hidden, width]).transpose()
}

fn gates(lstm: &Lstm<B>) -> [&GateController<B>; 4] {
    [
        &lstm.input_gate,
        &lstm.forget_gate,
        &lstm.cell_gate,
        &lstm.output_gate,
    ]
}

fn load_weights(mut lstm: Lstm<B>, case: &Case) -> Lstm<B> {
    let (h, i) = (case.hidden, case.features);
    let w_ih = flat(&case.weights["weight_ih"]);
    let w_hh = flat(&case.weights["weight_hh"]);
    let b_ih = flat(&case.weights["bias_ih"]);
    let b_hh = flat(&case.weights["bias_hh"]);
    let gates = [
        &mut lstm.input_gate,
        &mut lstm.forget_gate,
        &mut lstm.cell_gate,
        &mut lstm.output_gate,
    ];
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
    lstm
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

    let grad = |param: &Param<Tensor<B, 2>>| param.val().grad(&grads).expect("weight gradient");
    let grad_bias = |param: &Option<Param<Tensor<B, 1>>>| {
        let bias = param.as_ref().expect("bias on").val();
        bias.grad(&grads).expect("bias gradient").reshape([1, h])
    };
    let torch_grad = |key: &str| flat(&case.grad_weights[key]);
    for (k, gate) in gates(&lstm).into_iter().enumerate() {
        let rows = |all: Vec<f64>, width: usize| all[k * h * width..(k + 1) * h * width].to_vec();
        let label = |what: &str| format!("gate {k} {what}");
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
