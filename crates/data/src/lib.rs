//! Datasets and batchers for sequence regression: the tutorial's synthetic set, and real series
//! read from CSV, transformed towards stationarity, split chronologically and cut into windows.
//!
//! The synthetic set reproduces the Keras tutorial's data bit for bit:
//! `np.random.seed(seed); X = np.random.randn(n, steps, features); y = np.sin(np.mean(X, axis=1))`.
//!
//! ```
//! use data::{SyntheticConfig, SyntheticDataset};
//!
//! let data = SyntheticDataset::generate(&SyntheticConfig::new()).unwrap();
//! assert_eq!(data.targets().len(), 100);
//! // The first value NumPy draws after `np.random.seed(0)`.
//! assert_eq!(data.input(0)[0], 1.764052345967664);
//! ```

pub mod batcher;
pub mod calendar;
pub mod error;
pub mod numpy_random;
pub mod scaler;
pub mod series;
pub mod synthetic;
pub mod transform;
pub mod windows;

pub use batcher::{SequenceBatch, SequenceBatcher};
pub use calendar::{continue_dates, parse_date, CalendarFeature, DATE_FORMS};
pub use error::DataError;
pub use numpy_random::NumpyRandomState;
pub use scaler::{ScaleKind, Scaler};
pub use series::{
    load_csv, read_csv, Column, ColumnRef, FillPolicy, SeriesCsvOptions, SeriesError, TimeSeries,
};
pub use synthetic::{SequenceItem, SyntheticConfig, SyntheticDataset};
pub use transform::{
    NotPositive, PowerChoice, PowerTransform, SeriesTransform, Stages, TransformDecision,
    TransformRequest,
};
pub use windows::{ChronologicalSplit, TooShort, WindowDataset, WindowSpec};
