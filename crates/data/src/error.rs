//! Errors raised while building or exporting datasets.

use thiserror::Error;

/// What can go wrong when making or writing a dataset.
#[derive(Debug, Error)]
pub enum DataError {
    /// A size in the configuration is zero.
    #[error("{name} must be at least 1 (got 0)")]
    ZeroSize {
        /// The configuration field, as the command line spells it (`samples`, `steps`, ...).
        name: &'static str,
    },
    /// Writing the CSV export failed.
    #[error("could not write the dataset as CSV: {0}")]
    Csv(#[from] csv::Error),
}
