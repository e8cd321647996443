//! The recurrent regressor (stacked, optionally bidirectional LSTM or GRU layers and a linear
//! head) and its configuration.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{
    BiGru, BiGruConfig, BiLstm, BiLstmConfig, Dropout, DropoutConfig, Gru, GruConfig, Linear,
    LinearConfig, Lstm, LstmConfig,
};
use burn::prelude::*;

use crate::activation::{CellActivation, GateActivation};
use crate::cell::CellKind;
use crate::fused_gru;
use crate::fused_lstm;
use crate::keras_init;
use crate::lstm_op::LstmBackend;

/// Architecture of a [`RecurrentRegressor`]; the defaults are the tutorial's `LSTM(50, relu)` on
/// one feature with a `Dense(1)` head.
#[derive(Config, Debug, PartialEq)]
pub struct RecurrentRegressorConfig {
    /// Features per time step (the first layer's input size).
    #[config(default = 1)]
    pub input_features: usize,
    /// Units per layer and direction (hidden state size).
    #[config(default = 50)]
    pub hidden: usize,
    /// Numbers predicted per sequence (the linear head's output size): with
    /// [`quantiles`](Self::quantiles), `values × quantiles.len()`, grouped by value (value 0's
    /// quantiles, then value 1's, ...).
    #[config(default = 1)]
    pub outputs: usize,
    /// Quantile levels in (0, 1), ascending, predicted for each value and trained with the
    /// pinball loss; empty for one point prediction per value trained with the squared error.
    #[config(default = "Vec::new()")]
    pub quantiles: Vec<f64>,
    /// Activation of the cell candidate (and, for LSTM, of the cell state in `h = o · act(c)`).
    #[config(default = "CellActivation::Relu")]
    pub activation: CellActivation,
    /// LSTM or GRU.
    #[config(default = "CellKind::Lstm")]
    pub cell: CellKind,
    /// Stacked recurrent layers; each feeds its whole output sequence to the next.
    #[config(default = 1)]
    pub layers: usize,
    /// Each layer reads the sequence both ways and concatenates the two outputs (Keras'
    /// `Bidirectional(merge_mode='concat')`), doubling the width seen by the next layer.
    #[config(default = false)]
    pub bidirectional: bool,
    /// Probability of zeroing an input of the next layer and of the head, in training only.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Activation of the gates (Keras' `recurrent_activation`).
    #[config(default = "GateActivation::Sigmoid")]
    pub gate_activation: GateActivation,
}

/// One recurrent layer, batch first.
// A model holds a few layers, built once: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum RecurrentLayer<B: Backend> {
    /// Forward LSTM.
    Lstm(Lstm<B>),
    /// Forward and reverse LSTM, outputs concatenated.
    BiLstm(BiLstm<B>),
    /// Forward GRU.
    Gru(Gru<B>),
    /// Forward and reverse GRU, outputs concatenated.
    BiGru(BiGru<B>),
}

impl<B: LstmBackend> RecurrentLayer<B> {
    /// Runs the layer over whole sequences.
    ///
    /// `sequences`: `[batch, steps, input]` → the output at every step `[batch, steps, D·hidden]`
    /// and the final output `[batch, D·hidden]`, where `D` is 2 for bidirectional layers. The
    /// final output of a bidirectional layer is the forward direction's last step next to the
    /// reverse direction's last step (which read the sequence back to its first value).
    pub fn forward(&self, sequences: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 2>) {
        match self {
            Self::Lstm(lstm) if fused_lstm::supports(lstm) => {
                fused_lstm::forward(lstm, sequences, false)
            }
            Self::Lstm(lstm) => {
                let (outputs, state) = lstm.forward(sequences, None);
                (outputs, state.hidden)
            }
            Self::BiLstm(lstm) if fused_bidirectional(lstm) => {
                let (forward, forward_last) =
                    fused_lstm::forward(&lstm.forward, sequences.clone(), false);
                let (reverse, reverse_last) = fused_lstm::forward(&lstm.reverse, sequences, true);
                (
                    B::lstm_join_columns([forward, reverse]),
                    B::lstm_join_columns([forward_last, reverse_last]),
                )
            }
            Self::BiLstm(lstm) => {
                let (outputs, state) = lstm.forward(sequences, None);
                (outputs, side_by_side(state.hidden))
            }
            Self::Gru(gru) if fused_gru::supports(gru) => fused_gru::forward(gru, sequences, false),
            Self::BiGru(gru) if fused_bidirectional_gru(gru) => {
                let (forward, forward_last) =
                    fused_gru::forward(&gru.forward, sequences.clone(), false);
                let (reverse, reverse_last) = fused_gru::forward(&gru.reverse, sequences, true);
                (
                    B::lstm_join_columns([forward, reverse]),
                    B::lstm_join_columns([forward_last, reverse_last]),
                )
            }
            Self::Gru(gru) => {
                let outputs = gru.forward(sequences, None);
                let last = crate::lstm_op::final_step(outputs.clone(), false);
                (outputs, last)
            }
            Self::BiGru(gru) => {
                let (outputs, state) = gru.forward(sequences, None);
                (outputs, side_by_side(state))
            }
        }
    }
}

/// Whether both directions of `gru` run as the fused op (batch-first, reset-after GRU cells).
fn fused_bidirectional_gru<B: Backend>(gru: &BiGru<B>) -> bool {
    gru.batch_first && fused_gru::supports(&gru.forward) && fused_gru::supports(&gru.reverse)
}

/// Whether both directions of `lstm` run as the fused op (batch-first, plain LSTM cells).
fn fused_bidirectional<B: Backend>(lstm: &BiLstm<B>) -> bool {
    lstm.batch_first && fused_lstm::supports(&lstm.forward) && fused_lstm::supports(&lstm.reverse)
}

impl<B: LstmBackend> RecurrentLayer<B> {
    /// [`forward`](Self::forward)'s final output alone, `[batch, D·hidden]`: what the last layer
    /// of a regressor gives its head. The fused LSTM then records only that state, so that its
    /// backward pass does not carry a gradient that is zero at every other step.
    pub fn final_output(&self, sequences: Tensor<B, 3>) -> Tensor<B, 2> {
        match self {
            Self::Lstm(lstm) if fused_lstm::supports(lstm) => {
                fused_lstm::final_output(lstm, sequences, false)
            }
            Self::BiLstm(lstm) if fused_bidirectional(lstm) => {
                let forward = fused_lstm::final_output(&lstm.forward, sequences.clone(), false);
                let reverse = fused_lstm::final_output(&lstm.reverse, sequences, true);
                B::lstm_join_columns([forward, reverse])
            }
            Self::Gru(gru) if fused_gru::supports(gru) => {
                fused_gru::final_output(gru, sequences, false)
            }
            Self::BiGru(gru) if fused_bidirectional_gru(gru) => {
                let forward = fused_gru::final_output(&gru.forward, sequences.clone(), false);
                let reverse = fused_gru::final_output(&gru.reverse, sequences, true);
                B::lstm_join_columns([forward, reverse])
            }
            _ => self.forward(sequences).1,
        }
    }
}

/// `[2, batch, hidden]` (forward, reverse) → `[batch, 2·hidden]`, forward first.
fn side_by_side<B: Backend>(directions: Tensor<B, 3>) -> Tensor<B, 2> {
    let [_, batch, hidden] = directions.dims();
    directions.swap_dims(0, 1).reshape([batch, 2 * hidden])
}

/// Recurrent layers over the sequence followed by a linear head on the last layer's final output
/// (Keras' `return_sequences=False`).
///
/// Parameters per layer and direction, for input width `I` and `H` units: LSTM `4·H·(I+H+2)`
/// (Burn keeps two biases per gate where Keras has one: Keras counts `4·H·(I+H+1)`), GRU
/// `3·H·(I+H+2)` (the same as Keras' `reset_after=True`); the head adds `W·O + O` for its input
/// width `W`. The tutorial's model has 10,651 (Keras: 10,451).
#[derive(Module, Debug)]
pub struct RecurrentRegressor<B: Backend> {
    /// The recurrent layers, first to last.
    pub layers: Vec<RecurrentLayer<B>>,
    /// Applied to the inputs of every layer after the first and of the head.
    pub dropout: Dropout,
    /// Maps the last layer's final output to the predictions.
    pub head: Linear<B>,
    /// The quantile levels of the predictions (see [`RecurrentRegressorConfig::quantiles`]):
    /// part of the configuration, not of the saved weights.
    #[module(skip)]
    pub quantiles: Vec<f64>,
}

impl RecurrentRegressorConfig {
    /// Directions per layer: 1, or 2 when bidirectional.
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// The input width of layer `index` (0-based).
    fn layer_input(&self, index: usize) -> usize {
        if index == 0 {
            self.input_features
        } else {
            self.directions() * self.hidden
        }
    }

    /// The number of parameters [`init`](Self::init) builds, from the configuration alone (so
    /// that a model too large for memory can be refused before it is allocated): Keras' and
    /// PyTorch's counts, with Burn's second LSTM bias per gate (`+4·H` per direction). Counted in
    /// `u64` and saturating, so that absurd sizes give a large number rather than wrap.
    pub fn parameter_count(&self) -> u64 {
        let (h, d) = (self.hidden as u64, self.directions() as u64);
        let gates: u64 = match self.cell {
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        };
        let per_direction = |input: u64| {
            gates
                .saturating_mul(h)
                .saturating_mul(input.saturating_add(h).saturating_add(2))
        };
        let recurrent = (0..self.layers).fold(0u64, |sum, index| {
            sum.saturating_add(d.saturating_mul(per_direction(self.layer_input(index) as u64)))
        });
        let head = d
            .saturating_mul(h)
            .saturating_add(1)
            .saturating_mul(self.outputs as u64);
        recurrent.saturating_add(head)
    }

    /// The Burn configuration of a unidirectional LSTM layer (batch first, sigmoid gates).
    pub fn lstm_config(&self, input: usize) -> LstmConfig {
        LstmConfig::new(input, self.hidden, true)
            .with_gate_activation(self.gate_activation.to_burn())
            .with_cell_activation(self.activation.to_burn())
            .with_hidden_activation(self.activation.to_burn())
    }

    /// The Burn configuration of a unidirectional GRU layer (`reset_after`, like Keras).
    pub fn gru_config(&self, input: usize) -> GruConfig {
        GruConfig::new(input, self.hidden, true)
            .with_gate_activation(self.gate_activation.to_burn())
            .with_hidden_activation(self.activation.to_burn())
    }

    fn init_layer<B: Backend>(&self, input: usize, device: &B::Device) -> RecurrentLayer<B> {
        let activation = self.activation.to_burn();
        match (self.cell, self.bidirectional) {
            (CellKind::Lstm, false) => RecurrentLayer::Lstm(keras_init::lstm(
                self.lstm_config(input).init(device),
                device,
            )),
            (CellKind::Lstm, true) => {
                let mut lstm = BiLstmConfig::new(input, self.hidden, true)
                    .with_gate_activation(self.gate_activation.to_burn())
                    .with_cell_activation(activation.clone())
                    .with_hidden_activation(activation)
                    .init(device);
                lstm.forward = keras_init::lstm(lstm.forward, device);
                lstm.reverse = keras_init::lstm(lstm.reverse, device);
                RecurrentLayer::BiLstm(lstm)
            }
            (CellKind::Gru, false) => {
                RecurrentLayer::Gru(keras_init::gru(self.gru_config(input).init(device), device))
            }
            (CellKind::Gru, true) => {
                let mut gru = BiGruConfig::new(input, self.hidden, true)
                    .with_gate_activation(self.gate_activation.to_burn())
                    .with_hidden_activation(activation)
                    .init(device);
                gru.forward = keras_init::gru(gru.forward, device);
                gru.reverse = keras_init::gru(gru.reverse, device);
                RecurrentLayer::BiGru(gru)
            }
        }
    }

    /// Builds the model with Keras' initialisation (see [`keras_init`]) on `device`, drawing from
    /// the backend's random generator: seed it first (`B::seed`) for reproducible weights.
    ///
    /// # Panics
    /// When [`outputs`](Self::outputs) is not a multiple of the number of quantiles.
    pub fn init<B: Backend>(&self, device: &B::Device) -> RecurrentRegressor<B> {
        assert!(
            self.quantiles.is_empty() || self.outputs.is_multiple_of(self.quantiles.len()),
            "{} outputs cannot hold {} quantiles per value",
            self.outputs,
            self.quantiles.len()
        );
        let layers = (0..self.layers)
            .map(|index| self.init_layer(self.layer_input(index), device))
            .collect();
        let head = keras_init::dense(
            LinearConfig::new(self.directions() * self.hidden, self.outputs).init(device),
        );
        RecurrentRegressor {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            head,
            quantiles: self.quantiles.clone(),
        }
    }

    /// A one-line description, e.g. `2 × bidirectional gru(16, tanh), dropout 0.2`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} × {}{}({}, {})",
            self.layers,
            if self.bidirectional {
                "bidirectional "
            } else {
                ""
            },
            self.cell,
            self.hidden,
            self.activation
        );
        if self.gate_activation == GateActivation::HardSigmoid {
            text.push_str(", hard-sigmoid gates");
        }
        if self.dropout > 0.0 {
            text.push_str(&format!(", dropout {}", self.dropout));
        }
        if !self.quantiles.is_empty() {
            let levels: Vec<String> = self.quantiles.iter().map(f64::to_string).collect();
            text.push_str(&format!(", quantiles {}", levels.join(" ")));
        }
        text
    }
}

/// Collects the shape of every float parameter, in module order.
struct ShapeCollector(Vec<Vec<usize>>);

impl<B: Backend> ModuleVisitor<B> for ShapeCollector {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.shape().to_vec());
    }
}

impl<B: Backend> RecurrentRegressor<B> {
    /// The shapes the weights actually have, in module order: a record loaded from a file keeps
    /// its own shapes whatever the configuration said.
    pub fn parameter_shapes(&self) -> Vec<Vec<usize>> {
        let mut collector = ShapeCollector(Vec::new());
        self.visit(&mut collector);
        collector.0
    }
}

impl<B: LstmBackend> RecurrentRegressor<B> {
    /// Predicts from whole sequences.
    ///
    /// `sequences`: `[batch, steps, input_features]` → `[batch, outputs]`. With quantiles, each
    /// value's quantiles are ascending by construction: the lowest is the head's output and
    /// each next one adds the softplus of its own output, so that they never cross.
    pub fn forward(&self, sequences: Tensor<B, 3>) -> Tensor<B, 2> {
        let raw = self.head_output(sequences);
        let levels = self.quantiles.len();
        if levels < 2 {
            return raw;
        }
        let [batch, outputs] = raw.dims();
        let grouped = raw.reshape([batch, outputs / levels, levels]);
        let mut quantile = grouped.clone().narrow(2, 0, 1);
        let mut ascending = Vec::with_capacity(levels);
        for level in 1..levels {
            let step = burn::tensor::activation::softplus(grouped.clone().narrow(2, level, 1), 1.0);
            ascending.push(quantile.clone());
            quantile = quantile + step;
        }
        ascending.push(quantile);
        Tensor::cat(ascending, 2).reshape([batch, outputs])
    }

    /// The head's output before the quantiles are ordered: `[batch, outputs]`.
    fn head_output(&self, sequences: Tensor<B, 3>) -> Tensor<B, 2> {
        let (last_layer, earlier) = self
            .layers
            .split_last()
            .expect("a regressor has at least one recurrent layer");
        let mut inputs = sequences;
        for (index, layer) in earlier.iter().enumerate() {
            if index > 0 {
                inputs = self.dropout.forward(inputs);
            }
            inputs = layer.forward(inputs).0;
        }
        if !earlier.is_empty() {
            inputs = self.dropout.forward(inputs);
        }
        let last = last_layer.final_output(inputs);
        self.head.forward(self.dropout.forward(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::AutodiffModule;
    use burn_autodiff::Autodiff;
    use burn_ndarray::NdArray;

    #[test]
    fn weights_saved_before_quantiles_existed_still_load() {
        use burn::record::{FullPrecisionSettings, PrettyJsonFileRecorder, Recorder};
        let _rng = crate::backend_rng();
        let device = Default::default();
        let config = RecurrentRegressorConfig::new().with_hidden(4);
        let model = config.init::<NdArray>(&device);
        let recorder = PrettyJsonFileRecorder::<FullPrecisionSettings>::new();
        let dir = std::env::temp_dir().join(format!("model-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let path = dir.join("model");
        recorder
            .record(model.clone().into_record(), path.clone())
            .expect("writable");
        // The record as the weights of earlier versions hold it: without the `quantiles` key.
        let file = path.with_extension("json");
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("readable")).expect("JSON");
        fn remove(value: &mut serde_json::Value, key: &str) -> usize {
            match value {
                serde_json::Value::Object(map) => {
                    usize::from(map.remove(key).is_some())
                        + map.values_mut().map(|v| remove(v, key)).sum::<usize>()
                }
                serde_json::Value::Array(items) => items.iter_mut().map(|v| remove(v, key)).sum(),
                _ => 0,
            }
        }
        assert_eq!(remove(&mut json, "quantiles"), 1);
        std::fs::write(&file, json.to_string()).expect("writable");
        let record = Recorder::<NdArray>::load(&recorder, path, &device).expect("loads");
        let loaded = config.init::<NdArray>(&device).load_record(record);
        let _ = std::fs::remove_dir_all(&dir);
        let inputs = Tensor::<NdArray, 3>::ones([2, 3, 1], &device);
        assert_eq!(
            loaded.forward(inputs.clone()).into_data(),
            model.forward(inputs).into_data()
        );
    }

    #[test]
    fn forward_maps_sequences_to_outputs() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let config = RecurrentRegressorConfig::new()
            .with_input_features(3)
            .with_hidden(7)
            .with_outputs(2);
        let model = config.init::<NdArray>(&device);
        let output = model.forward(Tensor::ones([5, 4, 3], &device));
        assert_eq!(output.dims(), [5, 2]);
        assert_eq!(model.parameter_shapes().last(), Some(&vec![2]));
    }

    #[test]
    fn parameter_counts_follow_the_keras_formulas() {
        let _rng = crate::backend_rng();
        // Keras: LSTM(50) on 1 feature + Dense(1) = 10,451; GRU(50) reset_after = 7,950 + 51.
        let tutorial = RecurrentRegressorConfig::new();
        let model = tutorial.init::<NdArray>(&Default::default());
        assert_eq!(model.num_params(), 10_451 + 4 * 50);
        let gru = RecurrentRegressorConfig::new().with_cell(CellKind::Gru);
        assert_eq!(
            gru.init::<NdArray>(&Default::default()).num_params(),
            7_950 + 51
        );
        for cell in [CellKind::Lstm, CellKind::Gru] {
            for bidirectional in [false, true] {
                for layers in [1, 3] {
                    let config = RecurrentRegressorConfig::new()
                        .with_input_features(2)
                        .with_hidden(6)
                        .with_outputs(3)
                        .with_cell(cell)
                        .with_layers(layers)
                        .with_bidirectional(bidirectional);
                    let model = config.init::<NdArray>(&Default::default());
                    assert_eq!(
                        model.num_params(),
                        config.parameter_count() as usize,
                        "{}",
                        config.describe()
                    );
                    assert_eq!(model.layers.len(), layers);
                    let output = model.forward(Tensor::ones([4, 5, 2], &Default::default()));
                    assert_eq!(output.dims(), [4, 3], "{}", config.describe());
                }
            }
        }
    }

    #[test]
    fn bidirectional_final_output_reads_both_ways() {
        let _rng = crate::backend_rng();
        // The reverse direction's final output depends on the first step; the forward one's on
        // the last. Changing only the first value must change the reverse half.
        let device = Default::default();
        for cell in [CellKind::Lstm, CellKind::Gru] {
            let config = RecurrentRegressorConfig::new()
                .with_hidden(4)
                .with_cell(cell)
                .with_bidirectional(true)
                .with_activation(CellActivation::Tanh);
            let model = config.init::<NdArray>(&device);
            let layer = &model.layers[0];
            let base = Tensor::<NdArray, 3>::zeros([1, 6, 1], &device);
            let changed = base.clone().slice_assign(
                [0..1, 0..1, 0..1],
                Tensor::<NdArray, 3>::ones([1, 1, 1], &device),
            );
            let (sequence, last) = layer.forward(base);
            let (_, last_changed) = layer.forward(changed);
            assert_eq!(sequence.dims(), [1, 6, 8]);
            assert_eq!(last.dims(), [1, 8]);
            let difference = (last - last_changed)
                .abs()
                .into_data()
                .to_vec::<f32>()
                .expect("float data");
            let forward_changed = difference[..4].iter().any(|&d| d > 0.0);
            let reverse_changed = difference[4..].iter().any(|&d| d > 0.0);
            // The forward direction saw the change at its first step, so it also moves; the
            // reverse one must move (it read the first value last).
            assert!(forward_changed && reverse_changed, "{cell}: {difference:?}");
        }
    }

    #[test]
    fn lstm_layers_equal_burns_modules() {
        let _rng = crate::backend_rng();
        // The fused pass (tested against nn::Lstm in detail in fused_lstm) as wired in a layer,
        // unidirectional and bidirectional, against Burn's own forward of the same module.
        let device = Default::default();
        let cases = [
            (false, GateActivation::Sigmoid),
            (true, GateActivation::Sigmoid),
            (false, GateActivation::HardSigmoid),
        ];
        for (bidirectional, gates) in cases {
            let config = RecurrentRegressorConfig::new()
                .with_input_features(2)
                .with_hidden(6)
                .with_bidirectional(bidirectional)
                .with_gate_activation(gates);
            let model = config.init::<NdArray>(&device);
            let input = Tensor::<NdArray, 3>::random(
                [3, 5, 2],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            );
            let (ours, ours_last) = model.layers[0].forward(input.clone());
            let (theirs, theirs_last) = match &model.layers[0] {
                RecurrentLayer::Lstm(lstm) => {
                    let (outputs, state) = lstm.forward(input, None);
                    (outputs, state.hidden)
                }
                RecurrentLayer::BiLstm(lstm) => {
                    let (outputs, state) = lstm.forward(input, None);
                    (outputs, side_by_side(state.hidden))
                }
                other => panic!("expected an LSTM layer, got {other:?}"),
            };
            let difference = (ours - theirs).abs().max().into_scalar()
                + (ours_last - theirs_last).abs().max().into_scalar();
            assert!(
                difference < 1e-5,
                "bidirectional={bidirectional}: {difference}"
            );
        }
    }

    #[test]
    fn dropout_acts_in_training_only() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let config = RecurrentRegressorConfig::new()
            .with_hidden(16)
            .with_layers(2)
            .with_dropout(0.5);
        <Autodiff<NdArray> as Backend>::seed(&device, 7);
        let model = config.init::<Autodiff<NdArray>>(&device);
        let input = Tensor::<Autodiff<NdArray>, 3>::ones([8, 5, 1], &device);
        // On the autodiff backend (training) two passes draw different masks.
        let first = model.forward(input.clone());
        let second = model.forward(input.clone());
        let training_difference = (first - second).abs().sum().into_scalar();
        assert!(training_difference > 0.0);
        // The inference model (`valid()`) applies no dropout: passes agree and equal a model
        // without dropout.
        let inference = model.valid();
        let plain = inference.forward(input.clone().inner());
        let again = inference.forward(input.clone().inner());
        assert_eq!(
            plain
                .clone()
                .into_data()
                .to_vec::<f32>()
                .expect("float data"),
            again.into_data().to_vec::<f32>().expect("float data")
        );
        let mut without = inference.clone();
        without.dropout = DropoutConfig::new(0.0).init();
        let reference = without.forward(input.inner());
        assert_eq!(
            plain.into_data().to_vec::<f32>().expect("float data"),
            reference.into_data().to_vec::<f32>().expect("float data")
        );
    }

    #[test]
    fn config_round_trips_through_json() {
        let _rng = crate::backend_rng();
        let config = RecurrentRegressorConfig::new()
            .with_hidden(12)
            .with_activation(CellActivation::Tanh)
            .with_cell(CellKind::Gru)
            .with_layers(2)
            .with_bidirectional(true)
            .with_dropout(0.25);
        let json = config.to_string();
        assert!(
            json.contains("\"tanh\"") && json.contains("\"gru\""),
            "{json}"
        );
        let loaded = RecurrentRegressorConfig::load_binary(json.as_bytes()).expect("valid JSON");
        assert_eq!(loaded, config);
        assert_eq!(
            config.describe(),
            "2 × bidirectional gru(12, tanh), dropout 0.25"
        );
    }

    #[test]
    fn hard_sigmoid_gates_change_the_output_and_are_recorded() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let input = Tensor::<NdArray, 3>::ones([2, 3, 1], &device);
        <NdArray as Backend>::seed(&device, 1);
        let sigmoid = RecurrentRegressorConfig::new().init::<NdArray>(&device);
        <NdArray as Backend>::seed(&device, 1);
        let config =
            RecurrentRegressorConfig::new().with_gate_activation(GateActivation::HardSigmoid);
        let hard = config.init::<NdArray>(&device);
        let difference = (sigmoid.forward(input.clone()) - hard.forward(input))
            .abs()
            .sum()
            .into_scalar();
        assert!(difference > 0.0);
        let json = config.to_string();
        assert!(json.contains("\"hard-sigmoid\""), "{json}");
        assert_eq!(config.describe(), "1 × lstm(50, relu), hard-sigmoid gates");
    }

    #[test]
    fn activation_changes_the_output() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let input = Tensor::<NdArray, 3>::ones([2, 3, 1], &device);
        <NdArray as Backend>::seed(&device, 1);
        let relu = RecurrentRegressorConfig::new().init::<NdArray>(&device);
        <NdArray as Backend>::seed(&device, 1);
        let tanh = RecurrentRegressorConfig::new()
            .with_activation(CellActivation::Tanh)
            .init::<NdArray>(&device);
        let difference = (relu.forward(input.clone()) - tanh.forward(input))
            .abs()
            .sum()
            .into_scalar();
        assert!(difference > 0.0);
    }
}
