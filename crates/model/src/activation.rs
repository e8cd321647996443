//! The activation inside the LSTM cell (Keras' `activation` argument).

use std::fmt;

use burn::nn::activation::ActivationConfig;
use serde::{Deserialize, Serialize};

/// Replaces tanh in the cell candidate and in `h = o · act(c)`; the gates stay sigmoid, as with
/// Keras' `LSTM(activation=...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CellActivation {
    /// `max(0, x)`: the tutorial's `activation='relu'`. Unbounded, so it can diverge with large
    /// learning rates.
    #[default]
    Relu,
    /// The classic LSTM cell (PyTorch's `nn.LSTM`, Keras' default).
    Tanh,
}

impl CellActivation {
    /// Burn's activation layer configuration for this choice.
    pub fn to_burn(self) -> ActivationConfig {
        match self {
            Self::Relu => ActivationConfig::Relu,
            Self::Tanh => ActivationConfig::Tanh,
        }
    }
}

impl fmt::Display for CellActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Relu => "relu",
            Self::Tanh => "tanh",
        })
    }
}

/// The activation of the LSTM's and GRU's gates (Keras' `recurrent_activation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum GateActivation {
    /// The logistic sigmoid: Keras 3's and PyTorch's gates.
    #[default]
    Sigmoid,
    /// `max(0, min(1, 0.2·x + 0.5))`: Keras 2's default `recurrent_activation` until 2.3,
    /// for reproducing tutorials written with it.
    HardSigmoid,
}

impl GateActivation {
    /// Burn's activation layer configuration for this choice.
    pub fn to_burn(self) -> ActivationConfig {
        match self {
            Self::Sigmoid => ActivationConfig::Sigmoid,
            // Burn's defaults are Keras 2's slope 0.2 and offset 0.5.
            Self::HardSigmoid => ActivationConfig::HardSigmoid(burn::nn::HardSigmoidConfig::new()),
        }
    }
}
