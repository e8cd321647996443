//! Training and inference speed of the fixed benchmark workloads W1–W3 (the command line's
//! `bench` runs each in its own process, so that peak memory is its own).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::data::dataset::Dataset;
use data::{SyntheticConfig, SyntheticDataset};
use model::TrainingBackend;
use model::{CellActivation, CellKind, RecurrentRegressorConfig};
use serde::{Deserialize, Serialize};

use crate::artifacts::ArtifactDir;
use crate::artifacts::EpochRecord;
use crate::backend::BackendJob;
use crate::config::{DataSource, RunConfig, TrainingConfig};
use crate::error::{Error, Result};
use crate::evaluate::evaluate;
use crate::memory::{MemoryEstimate, MemoryUse};
use crate::observer::{Silent, StopHandle, TrainingObserver};
use crate::train::{fit, FitData, FitStorage};

/// A benchmark workload: synthetic data of a given shape and the model trained on it.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// `W1`, `W2`, `W3`, or a variant of W2's or W3's shape: `W2-GRU`, `W2-BiLSTM`, `W2-BiGRU`,
    /// `W3-GRU`.
    pub name: &'static str,
    /// Sequences.
    pub samples: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Features per step.
    pub features: usize,
    /// Units per layer and direction.
    pub hidden: usize,
    /// The recurrent cell.
    pub cell: CellKind,
    /// Recurrent layers.
    pub layers: usize,
    /// Whether each layer reads the sequence both ways.
    pub bidirectional: bool,
    /// Cell activation.
    pub activation: CellActivation,
    /// Sequences per step.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
}

impl Workload {
    /// The workload called `name` (W1, W2 or W3, any case).
    pub fn named(name: &str, quick: bool) -> Option<Workload> {
        Workload::all(quick)
            .into_iter()
            .find(|w| w.name.eq_ignore_ascii_case(name))
    }

    /// W1 (the tutorial), W2, W3, W2's variants (a GRU; 2 bidirectional LSTM layers; 2
    /// bidirectional GRU layers) and W3's GRU, at full size or shrunk for a smoke run.
    pub fn all(quick: bool) -> [Workload; 7] {
        let shrink = |w: Workload, samples, epochs| match quick {
            true => Workload {
                samples,
                epochs,
                ..w
            },
            false => w,
        };
        let w2 = shrink(
            Workload {
                name: "W2",
                samples: 10_000,
                steps: 50,
                features: 1,
                hidden: 64,
                activation: CellActivation::Tanh,
                cell: CellKind::Lstm,
                layers: 1,
                bidirectional: false,
                batch_size: 64,
                epochs: 3,
            },
            256,
            1,
        );
        let [w1, w3] = [
            shrink(
                Workload {
                    name: "W1",
                    samples: 100,
                    steps: 10,
                    features: 1,
                    hidden: 50,
                    activation: CellActivation::Relu,
                    cell: CellKind::Lstm,
                    layers: 1,
                    bidirectional: false,
                    batch_size: 32,
                    epochs: 100,
                },
                100,
                5,
            ),
            shrink(
                Workload {
                    name: "W3",
                    samples: 4_096,
                    steps: 100,
                    features: 8,
                    hidden: 256,
                    activation: CellActivation::Tanh,
                    cell: CellKind::Lstm,
                    layers: 1,
                    bidirectional: false,
                    batch_size: 128,
                    epochs: 2,
                },
                128,
                1,
            ),
        ];
        let variant = |base, name, cell, layers, bidirectional| Workload {
            name,
            cell,
            layers,
            bidirectional,
            ..base
        };
        [
            w1,
            w2,
            w3,
            variant(w2, "W2-GRU", CellKind::Gru, 1, false),
            variant(w2, "W2-BiLSTM", CellKind::Lstm, 2, true),
            variant(w2, "W2-BiGRU", CellKind::Gru, 2, true),
            variant(w3, "W3-GRU", CellKind::Gru, 1, false),
        ]
    }

    /// Forward multiply-adds of one sequence counted as 2 flops: per step, layer and direction
    /// `2·G·H·(I+H)` for `G` gates (4 for the LSTM, 3 for the GRU) and the layer's input width
    /// `I` (the features, then the layer below's outputs).
    pub fn forward_flops_per_sequence(&self) -> f64 {
        let gates = match self.cell {
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        };
        let directions = if self.bidirectional { 2 } else { 1 };
        let per_step: usize = (0..self.layers)
            .map(|layer| {
                let input = if layer == 0 {
                    self.features
                } else {
                    directions * self.hidden
                };
                directions * 2 * gates * self.hidden * (input + self.hidden)
            })
            .sum();
        (per_step * self.steps) as f64
    }
}

/// What one workload measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// The workload's name.
    pub workload: String,
    /// Training sequences per second (timed epochs × samples / their time, the time from the
    /// end of the warm-up to the end of the fit).
    pub train_sequences_per_second: f64,
    /// Seconds per epoch.
    pub seconds_per_epoch: f64,
    /// Inference sequences per second (one pass over the data).
    pub inference_sequences_per_second: f64,
    /// Training GFLOP/s, counting backward as twice the forward.
    pub train_gflops: f64,
    /// The process's peak resident memory in MiB (Linux), `None` elsewhere.
    pub peak_rss_mib: Option<f64>,
    /// The peak expected: the process's resident memory before the workload (Linux; 0
    /// elsewhere) plus the run's [`MemoryEstimate`], in MiB.
    pub estimated_peak_mib: f64,
    /// Epochs trained before the timed ones and left out of the figures.
    #[serde(default)]
    pub warmup_epochs: usize,
}

/// Measures one workload on the backend it runs on (see [`run_on`](crate::backend::run_on)).
#[derive(Clone, Copy, Debug)]
pub struct BenchJob {
    /// What is trained and timed.
    pub workload: Workload,
    /// Epochs trained first and left out of the timing, and an inference pass before the timed
    /// one: where the first epoch compiles kernels and autotunes products (wgpu, CUDA), the
    /// steady state is what a longer run sees. 0 times everything from the start.
    pub warmup_epochs: usize,
}

impl BenchJob {
    /// `workload`, timed from the start.
    pub fn new(workload: Workload) -> Self {
        Self {
            workload,
            warmup_epochs: 0,
        }
    }

    /// Leaves the first `warmup_epochs` epochs (and a first inference pass, when above 0) out
    /// of the timing.
    pub fn with_warmup_epochs(mut self, warmup_epochs: usize) -> Self {
        self.warmup_epochs = warmup_epochs;
        self
    }
}

/// When each epoch ended, for timing the epochs after the warm-up.
#[derive(Clone, Default)]
struct EpochClock(Arc<Mutex<Vec<Instant>>>);

impl TrainingObserver for EpochClock {
    fn epoch_completed(&mut self, _record: &EpochRecord, _epochs: usize) {
        if let Ok(mut ends) = self.0.lock() {
            ends.push(Instant::now());
        }
    }
}

impl BackendJob for BenchJob {
    type Output = Measurement;

    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<Measurement> {
        let (w, warmup) = (self.workload, self.warmup_epochs);
        let synthetic = SyntheticConfig::new()
            .with_samples(w.samples)
            .with_steps(w.steps)
            .with_features(w.features);
        let dataset = SyntheticDataset::generate(&synthetic)?;
        let items = (0..dataset.len()).filter_map(|i| dataset.get(i)).collect();
        let model = RecurrentRegressorConfig::new()
            .with_input_features(w.features)
            .with_outputs(w.features)
            .with_hidden(w.hidden)
            .with_activation(w.activation)
            .with_cell(w.cell)
            .with_layers(w.layers)
            .with_bidirectional(w.bidirectional);
        let training = TrainingConfig::new()
            .with_epochs(warmup + w.epochs)
            .with_batch_size(w.batch_size);
        let config = RunConfig::new(model, DataSource::Synthetic(synthetic), training);
        let estimate = MemoryEstimate::new(&config, MemoryUse::Training, 0).total();
        let estimated_peak_mib = current_rss_mib().unwrap_or(0.0) + estimate as f64 / MIB;
        // Checkpoints and history are written as training writes them, into a scratch directory.
        let scratch = std::env::temp_dir().join(format!("app-bench-{}", std::process::id()));
        let artifacts = ArtifactDir::create(&scratch)?;

        let clock = EpochClock::default();
        let observer: Box<dyn TrainingObserver> = match warmup {
            0 => Box::new(Silent),
            _ => Box::new(clock.clone()),
        };
        let started = Instant::now();
        let (model, outcome) = fit::<B>(
            &config,
            FitData {
                train_items: items,
                valid_items: Vec::new(),
                steps: w.steps,
            },
            FitStorage {
                artifacts: Some(&artifacts),
                resume: None,
            },
            &device,
            StopHandle::new(),
            observer,
        );
        let warm_from = match warmup {
            0 => Some(started),
            _ => clock
                .0
                .lock()
                .ok()
                .and_then(|ends| ends.get(warmup - 1).copied()),
        };
        let fit_seconds = warm_from.map_or(f64::NAN, |from| from.elapsed().as_secs_f64());
        let _ = std::fs::remove_dir_all(&scratch);
        if let Some(error) = outcome.error {
            return Err(Error::TrainingFiles(error));
        }
        if warmup > 0 {
            evaluate(&model, &dataset, w.batch_size, &device);
        }
        let started = Instant::now();
        evaluate(&model, &dataset, w.batch_size, &device);
        let inference_seconds = started.elapsed().as_secs_f64();

        let trained = (w.samples * w.epochs) as f64;
        Ok(Measurement {
            workload: w.name.to_string(),
            train_sequences_per_second: trained / fit_seconds,
            seconds_per_epoch: fit_seconds / w.epochs as f64,
            inference_sequences_per_second: w.samples as f64 / inference_seconds,
            train_gflops: 3.0 * w.forward_flops_per_sequence() * trained / fit_seconds / 1e9,
            peak_rss_mib: peak_rss_mib(),
            estimated_peak_mib,
            warmup_epochs: warmup,
        })
    }
}

const MIB: f64 = 1024.0 * 1024.0;

fn peak_rss_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

fn current_rss_mib() -> Option<f64> {
    status_mib("VmRSS:")
}

/// A line of `/proc/self/status` given in kB, in MiB.
fn status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flop_count_follows_the_issue_formula() {
        let [w1, _, w3, gru, bilstm, bigru, w3_gru] = Workload::all(false);
        // 2·4·50·(1+50) per step, 10 steps.
        assert_eq!(w1.forward_flops_per_sequence(), 204_000.0);
        assert_eq!(
            w3.forward_flops_per_sequence(),
            (2 * 4 * 256 * 264 * 100) as f64
        );
        assert_eq!(
            gru.forward_flops_per_sequence(),
            (2 * 3 * 64 * 65 * 50) as f64
        );
        // Two directions of 64 units; the second layer reads both directions' 128 outputs.
        let two_layers = |gates| (2 * 2 * gates * 64 * (65 + 192) * 50) as f64;
        assert_eq!(bilstm.forward_flops_per_sequence(), two_layers(4));
        assert_eq!(bigru.forward_flops_per_sequence(), two_layers(3));
        assert_eq!(
            w3_gru.forward_flops_per_sequence(),
            (2 * 3 * 256 * 264 * 100) as f64
        );
    }

    #[test]
    fn quick_workloads_keep_their_shapes() {
        for (full, quick) in Workload::all(false).iter().zip(Workload::all(true)) {
            assert_eq!(
                (full.steps, full.features, full.hidden),
                (quick.steps, quick.features, quick.hidden)
            );
            assert!(quick.samples * quick.epochs <= full.samples * full.epochs);
        }
    }
}
