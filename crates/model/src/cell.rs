//! Which recurrent cell a layer uses (Keras' `LSTM` or `GRU` layer).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The recurrent cell of every layer of a [`RecurrentRegressor`](crate::RecurrentRegressor).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// Long short-term memory: four gates, a hidden and a cell state (the tutorial's layer).
    #[default]
    Lstm,
    /// Gated recurrent unit: three gates, one state; Keras' default `reset_after=True` form.
    Gru,
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Lstm => "lstm",
            Self::Gru => "gru",
        })
    }
}
