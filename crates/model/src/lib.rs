//! LSTM regressors, generic over the Burn backend.
//!
//! [`LstmRegressor`] is the tutorial's `LSTM(50, activation='relu') + Dense(1)`: an LSTM reads the
//! sequence and a linear head maps the last hidden state to the prediction.
//!
//! ```
//! use burn::prelude::*;
//! use burn_ndarray::NdArray;
//! use model::LstmRegressorConfig;
//!
//! let device = Default::default();
//! let model = LstmRegressorConfig::new().init::<NdArray>(&device);
//! let sequences = Tensor::<NdArray, 3>::zeros([4, 10, 1], &device);
//! assert_eq!(model.forward(sequences).dims(), [4, 1]);
//! ```

pub mod activation;
pub mod keras_init;
pub mod regressor;
pub mod step;

pub use activation::CellActivation;
pub use regressor::{LstmRegressor, LstmRegressorConfig};
