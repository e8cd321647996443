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

mod activation;
mod adam;
#[cfg(feature = "cube")]
mod adam_kernel;
mod cell;
mod fused_gru;
mod fused_lstm;
mod keras_init;
mod lstm_op;
mod ndarray_buffers;
mod regressor;
mod step;

/// For backend authors: the pieces of the LSTM and Adam operations that a backend implementing
/// [`LstmBackend`] or [`AdamBackend`] works with, the fused LSTM entry points over Burn's
/// `nn::Lstm`, and the CPU kernel's measured peak. A model user needs none of this.
pub mod backend_ops {
    pub use crate::adam::AdamStep;
    pub use crate::fused_lstm::{final_output, forward, supports};
    pub use crate::lstm_op::{
        measured_peak_gflops, GruActivations, GruGradients, GruKernels, GruTrace, LstmActivations,
        LstmGradients, LstmKernels, LstmTrace, Nonlinearity, OutputGrad,
    };
}

pub use activation::{CellActivation, GateActivation};
pub use adam::{AdamBackend, FusedAdamW};
pub use cell::CellKind;
pub use lstm_op::{LstmBackend, TrainingBackend};
pub use regressor::{RecurrentLayer, RecurrentRegressor, RecurrentRegressorConfig};
pub use step::pinball_loss;

/// Burn's NdArray backend draws every random tensor (and every initialised weight) from one
/// process-wide generator, and the test harness runs tests in parallel: a test that seeds it and
/// draws holds this lock meanwhile, so that its draws do not depend on its neighbours'.
#[cfg(test)]
pub(crate) fn backend_rng() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
