//! Recurrent regressors, generic over the Burn backend.
//!
//! [`RecurrentRegressor`] defaults to the tutorial's `LSTM(50, activation='relu') + Dense(1)`: an
//! LSTM reads the sequence and a linear head maps the last hidden state to the prediction. Its
//! configuration also builds GRU cells, stacked and bidirectional layers, and dropout.
//!
//! ```
//! use burn::prelude::*;
//! use burn_ndarray::NdArray;
//! use model::RecurrentRegressorConfig;
//!
//! let device = Default::default();
//! let model = RecurrentRegressorConfig::new().init::<NdArray>(&device);
//! let sequences = Tensor::<NdArray, 3>::zeros([4, 10, 1], &device);
//! assert_eq!(model.forward(sequences).dims(), [4, 1]);
//! ```

pub mod activation;
pub mod cell;
pub mod fused_lstm;
pub mod keras_init;
pub mod lstm_op;
pub mod regressor;
pub mod step;

pub use activation::{CellActivation, GateActivation};
pub use cell::CellKind;
pub use lstm_op::{LstmBackend, TrainingBackend};
pub use regressor::{RecurrentLayer, RecurrentRegressor, RecurrentRegressorConfig};
