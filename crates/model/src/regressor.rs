//! The LSTM + linear regressor and its configuration.

use burn::nn::{Linear, LinearConfig, Lstm, LstmConfig};
use burn::prelude::*;

use crate::activation::CellActivation;
use crate::keras_init;

/// Architecture of an [`LstmRegressor`]; the defaults are the tutorial's `LSTM(50, relu)` on one
/// feature with a `Dense(1)` head.
#[derive(Config, Debug, PartialEq)]
pub struct LstmRegressorConfig {
    /// Features per time step (the LSTM's input size).
    #[config(default = 1)]
    pub input_features: usize,
    /// LSTM units (hidden state size).
    #[config(default = 50)]
    pub hidden: usize,
    /// Values predicted per sequence (the linear head's output size).
    #[config(default = 1)]
    pub outputs: usize,
    /// Activation of the cell candidate and of the cell state in `h = o · act(c)`.
    #[config(default = "CellActivation::Relu")]
    pub activation: CellActivation,
}

/// An LSTM over the sequence followed by a linear head on its last hidden state
/// (Keras' `return_sequences=False`).
///
/// Parameters: `4·H·(I+H+2)` for the LSTM (Burn keeps two biases per gate where Keras has one,
/// `4·H·(I+H+1)`) plus `H·O + O` for the head: 10,651 for the tutorial's sizes (Keras: 10,451).
#[derive(Module, Debug)]
pub struct LstmRegressor<B: Backend> {
    /// The recurrent layer, batch first.
    pub lstm: Lstm<B>,
    /// Maps the last hidden state to the outputs.
    pub head: Linear<B>,
}

impl LstmRegressorConfig {
    /// The Burn configuration of the recurrent layer (batch first, sigmoid gates).
    pub fn lstm_config(&self) -> LstmConfig {
        LstmConfig::new(self.input_features, self.hidden, true)
            .with_cell_activation(self.activation.to_burn())
            .with_hidden_activation(self.activation.to_burn())
    }

    /// Builds the model with Keras' initialisation (see [`keras_init`]) on `device`, drawing from
    /// the backend's random generator: seed it first (`B::seed`) for reproducible weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LstmRegressor<B> {
        let lstm = keras_init::lstm(self.lstm_config().init(device), device);
        let head = keras_init::dense(LinearConfig::new(self.hidden, self.outputs).init(device));
        LstmRegressor { lstm, head }
    }
}

impl<B: Backend> LstmRegressor<B> {
    /// The sizes the weights actually have, `(input_features, hidden, outputs)`: a record loaded
    /// from a file keeps its own shapes whatever the configuration said.
    pub fn sizes(&self) -> (usize, usize, usize) {
        let [input_features, hidden] = self.lstm.input_gate.input_transform.weight.dims();
        let [_, outputs] = self.head.weight.dims();
        (input_features, hidden, outputs)
    }

    /// Predicts from whole sequences.
    ///
    /// `sequences`: `[batch, steps, input_features]` → `[batch, outputs]`.
    pub fn forward(&self, sequences: Tensor<B, 3>) -> Tensor<B, 2> {
        let (_all_hidden, last) = self.lstm.forward(sequences, None);
        self.head.forward(last.hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_ndarray::NdArray;

    #[test]
    fn forward_maps_sequences_to_outputs() {
        let device = Default::default();
        let config = LstmRegressorConfig::new()
            .with_input_features(3)
            .with_hidden(7)
            .with_outputs(2);
        let model = config.init::<NdArray>(&device);
        let output = model.forward(Tensor::ones([5, 4, 3], &device));
        assert_eq!(output.dims(), [5, 2]);
        assert_eq!(model.sizes(), (3, 7, 2));
    }

    #[test]
    fn tutorial_model_has_burns_parameter_count() {
        // Keras counts 4·H·(I+H+1) + H + 1 = 10,451; Burn's second bias per gate adds 4·H.
        let model = LstmRegressorConfig::new().init::<NdArray>(&Default::default());
        assert_eq!(model.num_params(), 10_451 + 4 * 50);
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = LstmRegressorConfig::new()
            .with_hidden(12)
            .with_activation(CellActivation::Tanh);
        let json = config.to_string();
        assert!(json.contains("\"tanh\""), "{json}");
        let loaded = LstmRegressorConfig::load_binary(json.as_bytes()).expect("valid JSON");
        assert_eq!(loaded, config);
    }

    #[test]
    fn activation_changes_the_output() {
        let device = Default::default();
        let input = Tensor::<NdArray, 3>::ones([2, 3, 1], &device);
        <NdArray as Backend>::seed(&device, 1);
        let relu = LstmRegressorConfig::new().init::<NdArray>(&device);
        <NdArray as Backend>::seed(&device, 1);
        let tanh = LstmRegressorConfig::new()
            .with_activation(CellActivation::Tanh)
            .init::<NdArray>(&device);
        let difference = (relu.forward(input.clone()) - tanh.forward(input))
            .abs()
            .sum()
            .into_scalar();
        assert!(difference > 0.0);
    }
}
