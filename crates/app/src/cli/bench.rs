//! `bench`: each workload measured in a child process of this executable (so that its peak memory
//! is its own), then one table.

use std::process::Command;

use anyhow::{bail, Context, Result};
use app::backend::{device_name, run_on};
use app::bench::{BenchJob, Measurement, Workload};
use app::BackendKind;

use super::args::BenchArgs;
use super::output::say;

const RESULT_PREFIX: &str = "bench-result ";

/// Runs the benchmark: each workload in a child process of this executable, then a table.
pub fn run(args: &BenchArgs) -> Result<()> {
    let warmup_epochs = args.warmup_epochs.unwrap_or(match args.backend {
        BackendKind::Ndarray => 0,
        BackendKind::Wgpu | BackendKind::Cuda => 1,
    });
    let named = |name: &str| {
        Workload::named(name, args.quick).with_context(|| {
            format!(
                "no workload {name}; they are W1, W2, W3, W2-GRU, W2-BiLSTM, W2-BiGRU and W3-GRU"
            )
        })
    };
    if let Some(only) = &args.only {
        // Child mode: measure one workload and report it on one line.
        let job = BenchJob::new(named(only)?).with_warmup_epochs(warmup_epochs);
        let measurement = run_on(args.backend, job)?;
        say!("{RESULT_PREFIX}{}", serde_json::to_string(&measurement)?);
        return Ok(());
    }
    let workloads = match args.workloads.is_empty() {
        true => Workload::all(args.quick).to_vec(),
        false => args
            .workloads
            .iter()
            .map(|name| named(name))
            .collect::<Result<_>>()?,
    };
    // Asked first, so that a missing adapter or driver is one error line, not one per workload.
    let device = device_name(args.backend)?;
    say!(
        "{} on {device}; {}",
        args.backend,
        match warmup_epochs {
            0 => "every epoch timed".to_string(),
            1 => "the first epoch and inference pass are a warm-up, not timed".to_string(),
            n => format!("the first {n} epochs and an inference pass are a warm-up, not timed"),
        }
    );
    let exe = std::env::current_exe().context("cannot find the app executable")?;
    let backend = args.backend.to_string();
    say!(
        "{:<10}{:>16}{:>12}{:>18}{:>12}{:>12}{:>16}",
        "",
        "train seq/s",
        "s/epoch",
        "inference seq/s",
        "GFLOP/s",
        "peak MiB",
        "estimated MiB"
    );
    for workload in &workloads {
        let mut command = Command::new(&exe);
        command.args(["bench", "--backend", &backend, "--only", workload.name]);
        command.args(["--warmup-epochs", &warmup_epochs.to_string()]);
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
        say!(
            "{:<10}{:>16.1}{:>12.3}{:>18.1}{:>12.2}{:>12}{:>16.0}",
            m.workload,
            m.train_sequences_per_second,
            m.seconds_per_epoch,
            m.inference_sequences_per_second,
            m.train_gflops,
            m.peak_rss_mib
                .map_or("n/a".to_string(), |mib| format!("{mib:.0}")),
            m.estimated_peak_mib
        );
    }
    if args.backend != BackendKind::Ndarray {
        return Ok(());
    }
    // Measured after the workloads, in this process, so that they do not share the cores.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one = model::backend_ops::measured_peak_gflops(1);
    let all = model::backend_ops::measured_peak_gflops(cores);
    say!(
        "CPU peak, measured: {one:.1} GFLOP/s on 1 core, {all:.1} on {cores} (the kernel's packed \
         fp32 product on a cache-resident [64, 256]·[256, 256] per core, best of 5 rounds); \
         W1 runs on one core, W2 and W3 on all"
    );
    Ok(())
}
