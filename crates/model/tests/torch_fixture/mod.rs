//! What the PyTorch parity tests share: reading a fixture's numbers, loading PyTorch's stacked
//! gate weights into Burn's per-gate controllers, and comparing values and gradients to 1e-5.

use burn::module::Param;
use burn::nn::GateController;
use burn::prelude::*;
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;

pub type B = Autodiff<NdArray>;

/// Every number of a JSON value (nested arrays), in order.
pub fn flat(value: &serde_json::Value) -> Vec<f64> {
    match value {
        serde_json::Value::Array(items) => items.iter().flat_map(flat).collect(),
        serde_json::Value::Number(number) => vec![number.as_f64().expect("a float")],
        other => panic!("unexpected JSON value {other}"),
    }
}

/// `values` as a float32 tensor of `shape`.
pub fn tensor<const D: usize>(values: Vec<f64>, shape: [usize; D]) -> Tensor<B, D> {
    let data = TensorData::new(values, shape).convert::<f32>();
    Tensor::from_data(data, &Default::default())
}

/// PyTorch stacks the gates in the rows of `[G·H, in]`; Burn keeps an `[in, H]` matrix per gate.
fn gate_block(torch: &[f64], gate: usize, hidden: usize, width: usize) -> Tensor<B, 2> {
    let rows = torch[gate * hidden * width..(gate + 1) * hidden * width].to_vec();
    tensor(rows, [hidden, width]).transpose()
}

/// PyTorch's weights of one direction in its layout (`weight_ih [G·H, I]`, `weight_hh [G·H, H]`,
/// `bias_ih`, `bias_hh [G·H]`).
pub struct TorchWeights {
    pub weight_ih: Vec<f64>,
    pub weight_hh: Vec<f64>,
    pub bias_ih: Vec<f64>,
    pub bias_hh: Vec<f64>,
}

impl TorchWeights {
    /// Loads PyTorch's row block `k` into `gate`, for `inputs` inputs and `hidden` units.
    pub fn load_gate(&self, gate: &mut GateController<B>, k: usize, inputs: usize, hidden: usize) {
        let bias = |all: &[f64]| {
            Some(Param::from_tensor(tensor(
                all[k * hidden..(k + 1) * hidden].to_vec(),
                [hidden],
            )))
        };
        gate.input_transform.weight =
            Param::from_tensor(gate_block(&self.weight_ih, k, hidden, inputs));
        gate.hidden_transform.weight =
            Param::from_tensor(gate_block(&self.weight_hh, k, hidden, hidden));
        gate.input_transform.bias = bias(&self.bias_ih);
        gate.hidden_transform.bias = bias(&self.bias_hh);
    }

    /// Checks the gradients of `gate`'s four parameters against PyTorch's row block `k` of
    /// these (gradient) values.
    pub fn assert_gate_gradients(
        &self,
        label: &str,
        gate: &GateController<B>,
        grads: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
        k: usize,
        inputs: usize,
        hidden: usize,
    ) {
        let grad = |param: &Param<Tensor<B, 2>>| param.val().grad(grads).expect("weight gradient");
        let grad_bias = |param: &Option<Param<Tensor<B, 1>>>| {
            let bias = param.as_ref().expect("bias on").val();
            bias.grad(grads)
                .expect("bias gradient")
                .reshape([1, hidden])
        };
        let rows =
            |all: &[f64], width: usize| all[k * hidden * width..(k + 1) * hidden * width].to_vec();
        // Burn's [in, H] gradient transposed is PyTorch's [H, in] block.
        assert_close(
            &format!("{label} grad weight_ih"),
            grad(&gate.input_transform.weight).transpose(),
            &rows(&self.weight_ih, inputs),
        );
        assert_close(
            &format!("{label} grad weight_hh"),
            grad(&gate.hidden_transform.weight).transpose(),
            &rows(&self.weight_hh, hidden),
        );
        assert_close(
            &format!("{label} grad bias_ih"),
            grad_bias(&gate.input_transform.bias),
            &rows(&self.bias_ih, 1),
        );
        assert_close(
            &format!("{label} grad bias_hh"),
            grad_bias(&gate.hidden_transform.bias),
            &rows(&self.bias_hh, 1),
        );
    }
}

/// `actual` equals `expected` to 1e-5 relative (1e-6 absolute near zero).
pub fn assert_close(name: &str, actual: Tensor<NdArray, 2>, expected: &[f64]) {
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
