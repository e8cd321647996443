//! Train, evaluate, forecast and plot LSTM (and GRU) regressors on Burn, from Rust.
//!
//! This is the library behind the `app` command line: everything a command does is a call here,
//! generic over the Burn backend. A run is a [`RunConfig`] (the network, the data, the training
//! settings, each a builder-style config whose defaults are the Keras tutorial's); a
//! [`Training`] fits it, optionally writing an artifact directory that [`SavedRun`] (and
//! `app evaluate`, `app plot`, `app forecast`) read back.
//!
//! The tutorial, on the CPU backend: train `LSTM(50, relu) + Dense(1)` on
//! `np.random.seed(0); randn(100, 10, 1)` and get the evaluation's mean squared error.
//!
//! ```
//! use app::{RunConfig, Training, TrainingConfig};
//! use burn_autodiff::Autodiff;
//! use burn_ndarray::NdArray;
//!
//! # fn main() -> app::Result<()> {
//! // The tutorial trains for 100 epochs; 5 keep this example quick.
//! let config = RunConfig::tutorial().with_training(TrainingConfig::new().with_epochs(5));
//! let run = Training::new(config).run::<Autodiff<NdArray>>(&Default::default())?;
//! let mse = run.mse().expect("a complete run on the synthetic data");
//! println!("Loss: {mse:.4}");
//! assert_eq!(run.report.history.len(), 5);
//! # Ok(())
//! # }
//! ```
//!
//! Nothing is written to disk unless asked ([`Training::with_artifact_dir`],
//! [`TrainedRun::save`]), nothing is printed (watch a run with a [`TrainingObserver`]) and
//! nothing installs signal handlers (stop a run from another thread with a [`StopHandle`]).
//! `examples/` has more: a CSV series forecast against the linear and naive baselines, saving
//! and loading runs, and an observer.
//!
//! [`backend`] is the one place that names the concrete backends (`NdArray`, `Wgpu`), for
//! programs that choose one at run time.

pub mod artifacts;
pub mod backend;
pub mod backtest;
pub mod bench;
mod checkpoints;
pub mod config;
mod epoch_loop;
pub mod error;
pub mod evaluate;
pub mod forecast;
pub mod linear;
pub mod memory;
pub mod metrics;
pub mod observer;
pub mod plot;
mod recorder;
pub mod run;
mod schedule;
mod shuffle;
pub mod train;

pub use artifacts::EpochRecord;
pub use backend::BackendKind;
pub use backtest::{Backtest, BacktestConfig, BacktestOutcome, BacktestStart};
pub use config::{DataSource, RunConfig, ScaleFit, SeriesConfig, TrainingConfig};
pub use epoch_loop::StopReason;
pub use error::{Error, Result};
pub use evaluate::Evaluation;
pub use forecast::ForecastOutcome;
pub use linear::LinearBaseline;
pub use metrics::MetricsReport;
pub use observer::{StopHandle, TrainingObserver};
pub use run::{RunOutcome, SavedRun, TrainReport, TrainedRun};
pub use schedule::LrSchedule;
pub use train::Training;

/// The README's Rust example, compiled (not run) by `cargo test` so that it keeps up with the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExample;

// The crates a caller needs for the configs' field types, re-exported so that one dependency on
// `app` is enough.
pub use data;
pub use model;
