//! The command line of the toolkit: `train`, `evaluate`, `plot`, `forecast`, `bench` and `dataset`.
//!
//! Everything below [`backend`] is generic over the Burn backend; [`backend`] is the one place
//! that names `NdArray` and `Wgpu`.

pub mod artifacts;
pub mod backend;
pub mod bench;
pub mod checkpoints;
pub mod cli;
pub mod commands;
pub mod epoch_loop;
pub mod evaluate;
pub mod forecast;
pub mod interrupt;
pub mod metrics;
pub mod output;
pub mod plot;
pub mod progress;
pub mod recorder;
pub mod run_config;
pub mod schedule;
pub mod shuffle;
pub mod train;
