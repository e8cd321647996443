//! `bench`: training and inference speed of the fixed workloads W1–W3, each in its own process
//! so that peak memory is its own.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::data::dataset::Dataset;
use data::{SyntheticConfig, SyntheticDataset};
use model::TrainingBackend;
use model::{CellActivation, RecurrentRegressorConfig};
use serde::{Deserialize, Serialize};

use crate::artifacts::ArtifactDir;
use crate::backend::{run_on, BackendJob};
use crate::cli::BenchArgs;
use crate::evaluate::evaluate;
use crate::run_config::{DataSource, RunConfig, TrainingConfig};
use crate::train::fit;

/// A benchmark workload: synthetic data of a given shape and the model trained on it.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// `W1`, `W2` or `W3`.
    pub name: &'static str,
    /// Sequences.
    pub samples: usize,
    /// Steps per sequence.
    pub steps: usize,
    /// Features per step.
    pub features: usize,
    /// LSTM units.
    pub hidden: usize,
    /// Cell activation.
    pub activation: CellActivation,
    /// Sequences per step.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
}

impl Workload {
    /// W1 (the tutorial), W2 and W3 at full size, or shrunk for a smoke run.
    pub fn all(quick: bool) -> [Workload; 3] {
        let shrink = |w: Workload, samples, epochs| match quick {
            true => Workload {
                samples,
                epochs,
                ..w
            },
            false => w,
        };
        [
            shrink(
                Workload {
                    name: "W1",
                    samples: 100,
                    steps: 10,
                    features: 1,
                    hidden: 50,
                    activation: CellActivation::Relu,
                    batch_size: 32,
                    epochs: 100,
                },
                100,
                5,
            ),
            shrink(
                Workload {
                    name: "W2",
                    samples: 10_000,
                    steps: 50,
                    features: 1,
                    hidden: 64,
                    activation: CellActivation::Tanh,
                    batch_size: 64,
                    epochs: 3,
                },
                256,
                1,
            ),
            shrink(
                Workload {
                    name: "W3",
                    samples: 4_096,
                    steps: 100,
                    features: 8,
                    hidden: 256,
                    activation: CellActivation::Tanh,
                    batch_size: 128,
                    epochs: 2,
                },
                128,
                1,
            ),
        ]
    }

    /// Forward multiply-adds of one sequence counted as 2 flops: `2·4·H·(I+H)` per step.
    pub fn forward_flops_per_sequence(&self) -> f64 {
        (2 * 4 * self.hidden * (self.features + self.hidden) * self.steps) as f64
    }
}

/// What one workload measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// The workload's name.
    pub workload: String,
    /// Training sequences per second (epochs × samples / fit time).
    pub train_sequences_per_second: f64,
    /// Seconds per epoch.
    pub seconds_per_epoch: f64,
    /// Inference sequences per second (one pass over the data).
    pub inference_sequences_per_second: f64,
    /// Training GFLOP/s, counting backward as twice the forward.
    pub train_gflops: f64,
    /// The process's peak resident memory in MiB (Linux), `None` elsewhere.
    pub peak_rss_mib: Option<f64>,
}

struct BenchJob(Workload);

impl BackendJob for BenchJob {
    type Output = Measurement;

    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<Measurement> {
        let w = self.0;
        let synthetic = SyntheticConfig::new()
            .with_samples(w.samples)
            .with_steps(w.steps)
            .with_features(w.features);
        let dataset = SyntheticDataset::generate(&synthetic).context("invalid workload")?;
        let items = (0..dataset.len()).filter_map(|i| dataset.get(i)).collect();
        let model = RecurrentRegressorConfig::new()
            .with_input_features(w.features)
            .with_outputs(w.features)
            .with_hidden(w.hidden)
            .with_activation(w.activation);
        let training = TrainingConfig::new(w.epochs, w.batch_size, 1e-3, 1e-7, 0, String::new());
        let config = RunConfig::new(model, DataSource::Synthetic(synthetic), training);
        // Checkpoints and history are written as `train` writes them, into a scratch directory.
        let scratch = std::env::temp_dir().join(format!("app-bench-{}", std::process::id()));
        let artifacts = ArtifactDir::create(&scratch)?;

        let started = Instant::now();
        let (model, outcome) = fit::<B>(
            &config,
            items,
            Vec::new(),
            w.steps,
            &artifacts,
            &device,
            None,
        );
        let fit_seconds = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&scratch);
        if let Some(error) = outcome.error {
            bail!("the benchmark could not train: {error}");
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
        })
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

const RESULT_PREFIX: &str = "bench-result ";

/// Runs the benchmark: each workload in a child process of this executable, then a table.
pub fn run(args: &BenchArgs) -> Result<()> {
    let workloads = Workload::all(args.quick);
    if let Some(only) = &args.only {
        // Child mode: measure one workload and report it on one line.
        let workload = workloads
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(only))
            .with_context(|| format!("no workload {only}; they are W1, W2 and W3"))?;
        let measurement = run_on(args.backend, BenchJob(*workload))?;
        crate::say!("{RESULT_PREFIX}{}", serde_json::to_string(&measurement)?);
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find the app executable")?;
    let backend = format!("{:?}", args.backend).to_lowercase();
    crate::say!(
        "{:<4}{:>16}{:>12}{:>18}{:>12}{:>12}",
        "",
        "train seq/s",
        "s/epoch",
        "inference seq/s",
        "GFLOP/s",
        "peak MiB"
    );
    for workload in &workloads {
        let mut command = Command::new(&exe);
        command.args(["bench", "--backend", &backend, "--only", workload.name]);
        if args.quick {
            command.arg("--quick");
        }
        let output = command
            .output()
            .with_context(|| format!("cannot run {}", workload.name))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(line) = stdout.lines().find_map(|l| l.strip_prefix(RESULT_PREFIX)) else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!("{} failed: {}", workload.name, stderr.trim());
        };
        let m: Measurement = serde_json::from_str(line).context("unreadable bench result")?;
        crate::say!(
            "{:<4}{:>16.1}{:>12.3}{:>18.1}{:>12.2}{:>12}",
            m.workload,
            m.train_sequences_per_second,
            m.seconds_per_epoch,
            m.inference_sequences_per_second,
            m.train_gflops,
            m.peak_rss_mib
                .map_or("n/a".to_string(), |mib| format!("{mib:.0}"))
        );
    }
    // Measured after the workloads, in this process, so that they do not share the cores.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one = model::lstm_op::measured_peak_gflops(1);
    let all = model::lstm_op::measured_peak_gflops(cores);
    crate::say!(
        "CPU peak, measured: {one:.1} GFLOP/s on 1 core, {all:.1} on {cores} (the kernel's packed \
         fp32 product on a cache-resident [64, 256]·[256, 256] per core, best of 5 rounds); \
         W1 runs on one core, W2 and W3 on all"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flop_count_follows_the_issue_formula() {
        let [w1, _, w3] = Workload::all(false);
        // 2·4·50·(1+50) per step, 10 steps.
        assert_eq!(w1.forward_flops_per_sequence(), 204_000.0);
        assert_eq!(
            w3.forward_flops_per_sequence(),
            (2 * 4 * 256 * 264 * 100) as f64
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
