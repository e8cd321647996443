//! How much memory a run needs, estimated from its configuration before anything large is
//! allocated, and how much this process can have: a run that cannot fit is refused with one
//! line naming the setting at fault and a value that fits, instead of an allocator abort or the
//! kernel's OOM killer minutes later.
//!
//! The estimate counts what the run itself adds to the process, in four parts (see
//! docs/architecture.md for the tensors behind each): the weights, the optimiser's state, the
//! data as the run holds it, and one step's working set (the LSTM kernel's traces). `app bench`
//! prints it beside the measured peak, so the counts are checked against reality.

use std::fmt;
use std::num::Saturating;
use std::path::Path;

use model::{CellKind, RecurrentRegressorConfig};

use crate::config::{DataSource, RunConfig};
use crate::error::{Error, Result};

const F32: u64 = 4;
const F64: u64 = 8;
/// What a `Vec` costs beside its values: its header, and the allocator's rounding of a small
/// allocation.
const VEC_OVERHEAD: u64 = 24 + 16;
/// `[batch, hidden]` tensors that Burn's stock GRU keeps per step for its backward pass (the
/// three gates' input and recurrent products, their sums and activations, the new state):
/// counted from `burn::nn::Gru`'s forward, and checked with `app bench`-style peaks.
const GRU_STATES_PER_STEP: u64 = 16;

/// What Burn's backend, thread pools and (in training) its training loop hold beside the run's
/// own tensors, measured as the peak resident memory of the tutorial's run (whose tensors take
/// under a megabyte) less that of `app --help`: 20 MiB for `train`, 13 MiB for `evaluate`, on
/// ndarray (docs/performance.md).
const TRAINING_RUNTIME: u64 = 20 << 20;
const INFERENCE_RUNTIME: u64 = 13 << 20;

/// Bytes of address space a byte of the estimate takes under `ulimit -v` (see
/// [`MemoryLimit::AddressSpace`]).
const ADDRESS_SPACE_PER_BYTE: u64 = 2;

/// Whether a run trains or only runs its model (evaluate, forecast, plot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryUse {
    /// Training: gradients, optimiser state and the backward pass's traces.
    Training,
    /// Inference of a saved run: its weights as loaded, its data and forward passes.
    Inference,
}

/// One of the parts of a [`MemoryEstimate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryPart {
    /// The parameters.
    Weights,
    /// Gradients, Adam's moments and their copies (training), or the weights' file as it is
    /// loaded (inference).
    Optimiser,
    /// The data set as the run holds it.
    Data,
    /// One training (or inference) step's working set.
    Step,
}

impl fmt::Display for MemoryPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Weights => "its weights",
            Self::Optimiser => "its gradients and Adam's moments",
            Self::Data => "its data",
            Self::Step => "one step's working set (the LSTM's traces)",
        })
    }
}

/// The memory a run will need, in bytes, from its configuration alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Training or inference.
    pub usage: MemoryUse,
    /// The parameters, f32.
    pub weights: u64,
    /// Training: the gradients and Adam's two moments, and the copies of all three a
    /// checkpoint holds while it is written. Inference: the weights' file and record as loaded.
    pub optimiser: u64,
    /// The data: the generated or read values, and the windows cut from them.
    pub data: u64,
    /// One step: each layer's and direction's trace (`steps·batch·(input + 6·hidden)` floats for
    /// the LSTM: its inputs, four gates, cell and hidden states), the outputs passed between
    /// layers and their gradients, the packed weights.
    pub step: u64,
    /// The largest single buffer a step allocates, which a GPU must be able to bind.
    pub largest_buffer: u64,
    /// Burn's backend, thread pools and training loop: a measured constant.
    pub runtime: u64,
}

impl MemoryEstimate {
    /// The estimate for `usage` of `config`, whose series (if it is one) has `rows` values; the
    /// synthetic data's size comes from its configuration.
    pub fn new(config: &RunConfig, usage: MemoryUse, rows: u64) -> Self {
        let model = &config.model;
        let weights = model.parameter_count().saturating_mul(F32);
        let optimiser = match usage {
            MemoryUse::Training => weights.saturating_mul(6),
            MemoryUse::Inference => weights.saturating_mul(2),
        };
        let shape = StepShape::of(config, rows);
        Self {
            usage,
            weights,
            optimiser,
            data: data_bytes(config, usage, rows),
            step: step_bytes(model, shape, usage),
            largest_buffer: largest_buffer(model, shape),
            runtime: match usage {
                MemoryUse::Training => TRAINING_RUNTIME,
                MemoryUse::Inference => INFERENCE_RUNTIME,
            },
        }
    }

    /// Everything together.
    pub fn total(&self) -> u64 {
        self.weights
            .saturating_add(self.optimiser)
            .saturating_add(self.data)
            .saturating_add(self.step)
            .saturating_add(self.runtime)
    }

    /// The largest part and its size.
    pub fn largest_part(&self) -> (MemoryPart, u64) {
        [
            (MemoryPart::Weights, self.weights),
            (MemoryPart::Optimiser, self.optimiser),
            (MemoryPart::Data, self.data),
            (MemoryPart::Step, self.step),
        ]
        .into_iter()
        .max_by_key(|(_, bytes)| *bytes)
        .unwrap_or((MemoryPart::Weights, self.weights))
    }
}

impl fmt::Display for MemoryEstimate {
    /// `about 193 MiB (weights 1.0 MiB, optimiser 6.2 MiB, data 52 MiB, step 134 MiB,
    /// runtime 20 MiB)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "about {} (weights {}, {} {}, data {}, step {}, runtime {})",
            Bytes(self.total()),
            Bytes(self.weights),
            match self.usage {
                MemoryUse::Training => "optimiser",
                MemoryUse::Inference => "loading",
            },
            Bytes(self.optimiser),
            Bytes(self.data),
            Bytes(self.step),
            Bytes(self.runtime)
        )
    }
}

/// The shape of one step: sequences per batch and steps per sequence.
#[derive(Clone, Copy, Debug)]
struct StepShape {
    batch: u64,
    steps: u64,
    /// Sequences in all, for the last (partial) batch of an epoch.
    sequences: u64,
}

impl StepShape {
    fn of(config: &RunConfig, rows: u64) -> Self {
        let (steps, sequences) = match &config.data {
            DataSource::Synthetic(synthetic) => (synthetic.steps as u64, synthetic.samples as u64),
            // A series not read yet: its batches are as large as asked.
            DataSource::Series(series) if rows == 0 => {
                (series.steps() as u64, config.training.batch_size as u64)
            }
            DataSource::Series(series) => (
                series.steps() as u64,
                rows.saturating_sub(
                    (series.window as u64).saturating_add(series.horizon as u64) - 1,
                ),
            ),
        };
        let batch = (config.training.batch_size as u64).min(sequences.max(1));
        Self {
            batch,
            steps,
            sequences,
        }
    }
}

/// Saturating arithmetic for sizes: absurd settings give `u64::MAX` rather than wrap.
type Size = Saturating<u64>;

fn size(value: usize) -> Size {
    Saturating(value as u64)
}

/// The data as a run holds it: f64 values, and one pair of `Vec`s per window.
fn data_bytes(config: &RunConfig, usage: MemoryUse, rows: u64) -> u64 {
    let (f64_bytes, vec_overhead, rows) =
        (Saturating(F64), Saturating(VEC_OVERHEAD), Saturating(rows));
    let bytes = match &config.data {
        DataSource::Synthetic(synthetic) => {
            let features = size(synthetic.features);
            let per_sample = (size(synthetic.steps) * features + features) * f64_bytes;
            // The generated set, and for training its items (a copy in `Vec`s); evaluation
            // keeps the predictions and targets.
            let items = match usage {
                MemoryUse::Training => per_sample + Saturating(2) * vec_overhead,
                MemoryUse::Inference => Saturating(0),
            };
            let evaluation = Saturating(2) * features * f64_bytes;
            size(synthetic.samples) * (per_sample + items + evaluation)
        }
        DataSource::Series(series) => {
            // The values, their transformed and scaled copies, the dates' text, the forecasts;
            // each feature column read, scaled, and interleaved with the target per step.
            let features = size(series.features.len() + series.known_inputs());
            let values = rows * (Saturating(6) + Saturating(3) * features) * f64_bytes;
            let dates = match series.date_column {
                Some(_) => rows * vec_overhead,
                None => Saturating(0),
            };
            let window = (size(series.steps()) * size(series.input_features())
                + size(series.horizon))
                * f64_bytes
                + Saturating(2) * vec_overhead;
            values + dates + rows * window
        }
    };
    bytes.0
}

/// One step's working set (see [`MemoryEstimate::step`]).
fn step_bytes(model: &RecurrentRegressorConfig, shape: StepShape, usage: MemoryUse) -> u64 {
    let (hidden, directions) = (size(model.hidden), size(model.directions()));
    let (batch, steps) = (Saturating(shape.batch), Saturating(shape.steps));
    let rows = batch * steps;
    let training = usage == MemoryUse::Training;
    // An epoch's last batch, when less than half a full one, takes its own set of the CPU
    // kernel's buffers, which stay in its pool beside the full batch's.
    let last = shape.sequences % shape.batch.max(1);
    let pooled_rows = match last > 0 && last.saturating_mul(2) < shape.batch {
        true => rows + Saturating(last) * steps,
        false => rows,
    };
    let mut floats = Saturating(0u64);
    for layer in 0..model.layers {
        let input = match layer {
            0 => size(model.input_features),
            _ => directions * hidden,
        };
        let per_direction = match model.cell {
            CellKind::Lstm => {
                // Trace (or, without gradients, the forward's own buffers): inputs, gates, c, h.
                let trace = pooled_rows * (input + Saturating(6) * hidden);
                // The backward pass's input gradient (step- and batch-major), the packed and
                // transposed weights, the weight gradients being assembled.
                let weights = (input + hidden + Saturating(1)) * Saturating(4) * hidden;
                let backward = match training {
                    true => rows * Saturating(2) * input + Saturating(4) * weights,
                    false => weights,
                };
                trace + backward
            }
            CellKind::Gru => {
                let kept = match training {
                    true => Saturating(GRU_STATES_PER_STEP) * hidden + Saturating(3) * input,
                    false => Saturating(4) * hidden + input,
                };
                rows * kept
            }
        };
        floats += directions * per_direction;
        if layer + 1 < model.layers {
            // The sequence handed to the next layer (both directions side by side), its dropout
            // copy, and in training its gradient.
            let copies = 1 + u64::from(model.dropout > 0.0) + u64::from(training) * 2;
            floats += rows * directions * hidden * Saturating(copies);
        }
    }
    // The batch itself, on the inner backend and as the autodiff leaf.
    floats += rows * Saturating(2) * size(model.input_features);
    (floats * Saturating(F32)).0
}

/// The largest single buffer of a step: the gates of every step (LSTM), the outputs of every
/// step (GRU), or a recurrent kernel.
fn largest_buffer(model: &RecurrentRegressorConfig, shape: StepShape) -> u64 {
    let (hidden, directions) = (size(model.hidden), size(model.directions()));
    let rows = Saturating(shape.batch) * Saturating(shape.steps);
    let gates = Saturating(match model.cell {
        CellKind::Lstm => 4,
        CellKind::Gru => 3,
    });
    let per_step = match model.cell {
        CellKind::Lstm => gates * hidden,
        CellKind::Gru => directions * hidden,
    };
    let widest_input = size(model.input_features).max(directions * hidden);
    let largest = (rows * per_step)
        .max(hidden * gates * hidden)
        .max(widest_input * gates * hidden);
    (largest * Saturating(F32)).0
}

/// A number of bytes, written in binary units with three significant digits (`193 MiB`,
/// `1.50 GiB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let mut value = self.0 as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        match (unit, value) {
            (0, _) => write!(f, "{} bytes", self.0),
            (_, v) if v >= 100.0 => write!(f, "{v:.0} {}", UNITS[unit]),
            (_, v) if v >= 10.0 => write!(f, "{v:.1} {}", UNITS[unit]),
            (_, v) => write!(f, "{v:.2} {}", UNITS[unit]),
        }
    }
}

/// What bounds the memory this process can still take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLimit {
    /// The machine's available memory (Linux's `MemAvailable`: free memory and caches that
    /// can be dropped).
    Available,
    /// The memory limit of the control group the process runs in, less what the group uses.
    Cgroup,
    /// The process's address-space limit (`ulimit -v`, `RLIMIT_AS`), less its current size,
    /// halved for what allocators reserve beyond what they use.
    AddressSpace,
}

/// The most this process can allocate now, and what sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Bytes.
    pub bytes: u64,
    /// The tightest limit.
    pub limit: MemoryLimit,
}

impl MemoryBudget {
    /// The tightest of the machine's available memory, the cgroup's limit and the
    /// address-space limit; `None` where the system reports none of them.
    pub fn current() -> Option<Self> {
        use sysinfo::{MemoryRefreshKind, ProcessRefreshKind, ProcessesToUpdate, System};
        let mut system = System::new();
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let mut budgets = Vec::new();
        if system.available_memory() > 0 {
            budgets.push(Self {
                bytes: system.available_memory(),
                limit: MemoryLimit::Available,
            });
        }
        // sysinfo reports a cgroup wherever one exists; only a limit below the machine's memory
        // bounds anything.
        if let Some(cgroup) = system
            .cgroup_limits()
            .filter(|cgroup| cgroup.total_memory < system.total_memory())
        {
            budgets.push(Self {
                bytes: cgroup.free_memory,
                limit: MemoryLimit::Cgroup,
            });
        }
        if let Some(limit) = address_space_limit() {
            let pid = sysinfo::get_current_pid().ok();
            let size = pid.and_then(|pid| {
                system.refresh_processes_specifics(
                    ProcessesToUpdate::Some(&[pid]),
                    false,
                    ProcessRefreshKind::nothing().with_memory(),
                );
                system.process(pid).map(|process| process.virtual_memory())
            });
            // Address space counts what allocators reserve as well as what they use (a `Vec`
            // that doubles, the allocator's arenas): measured, runs that need more than half of
            // what is left abort.
            budgets.push(Self {
                bytes: limit.saturating_sub(size.unwrap_or(0)) / ADDRESS_SPACE_PER_BYTE,
                limit: MemoryLimit::AddressSpace,
            });
        }
        budgets.into_iter().min_by_key(|budget| budget.bytes)
    }
}

#[cfg(unix)]
fn address_space_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::As).current
}

#[cfg(not(unix))]
fn address_space_limit() -> Option<u64> {
    None
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = Bytes(self.bytes);
        match self.limit {
            MemoryLimit::Available => write!(f, "this machine has {bytes} available"),
            MemoryLimit::Cgroup => write!(f, "this process's cgroup memory limit leaves {bytes}"),
            MemoryLimit::AddressSpace => write!(
                f,
                "this process's address-space limit (ulimit -v) leaves room for about {bytes} \
                 (half its free address space: allocators reserve more than they use)"
            ),
        }
    }
}

/// A setting that sizes a part of the estimate, and which a refusal names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemorySetting {
    /// `model.hidden`: the weights grow with its square.
    Hidden,
    /// `training.batch_size`: the step's working set grows with it.
    BatchSize,
    /// `data.samples` of the synthetic data.
    Samples,
    /// `data.window` of a series: each window's values, and the steps of the working set.
    Window,
}

impl MemorySetting {
    /// The setting's name in the run's configuration.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hidden => "hidden",
            Self::BatchSize => "batch_size",
            Self::Samples => "samples",
            Self::Window => "window",
        }
    }

    fn value(&self, config: &RunConfig) -> usize {
        match (self, &config.data) {
            (Self::Hidden, _) => config.model.hidden,
            (Self::BatchSize, _) => config.training.batch_size,
            (Self::Samples, DataSource::Synthetic(synthetic)) => synthetic.samples,
            (Self::Window, DataSource::Series(series)) => series.window,
            (Self::Samples | Self::Window, _) => 0,
        }
    }

    fn with_value(&self, config: &RunConfig, value: usize) -> RunConfig {
        let mut config = config.clone();
        match (self, &mut config.data) {
            (Self::Hidden, _) => config.model.hidden = value,
            (Self::BatchSize, _) => config.training.batch_size = value,
            (Self::Samples, DataSource::Synthetic(synthetic)) => synthetic.samples = value,
            (Self::Window, DataSource::Series(series)) => series.window = value,
            (Self::Samples | Self::Window, _) => {}
        }
        config
    }
}

/// Why a run does not fit: its estimate, the budget, and the setting most to blame with the
/// largest value of it that would fit (when one does, the others as they are).
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryShortfall {
    /// The run's estimate.
    pub estimate: MemoryEstimate,
    /// What the process can have.
    pub budget: MemoryBudget,
    /// The estimate's largest part.
    pub part: MemoryPart,
    /// The setting that sizes that part.
    pub setting: MemorySetting,
    /// Its value in the run.
    pub value: usize,
    /// The largest value that fits; `None` when not even 1 does.
    pub fits: Option<usize>,
}

impl fmt::Display for MemoryShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part_bytes = match self.part {
            MemoryPart::Weights => self.estimate.weights,
            MemoryPart::Optimiser => self.estimate.optimiser,
            MemoryPart::Data => self.estimate.data,
            MemoryPart::Step => self.estimate.step,
        };
        let (setting, value) = (self.setting.name(), self.value);
        let doing = match self.estimate.usage {
            MemoryUse::Training => "training",
            MemoryUse::Inference => "running the model",
        };
        match part_bytes > self.budget.bytes {
            true => write!(
                f,
                "{setting} {value} needs about {} for {} alone",
                Bytes(part_bytes),
                self.part
            )?,
            false => write!(
                f,
                "{setting} {value} needs about {} for {doing}, {} of it for {}",
                Bytes(self.estimate.total()),
                Bytes(part_bytes),
                self.part
            )?,
        }
        write!(f, "; {}", self.budget)
    }
}

/// Checks that `estimate` (of `config`, whose series has `rows` values) fits `budget`, naming
/// the setting at fault and the largest value of it that would fit when it does not.
pub fn check_fits(
    config: &RunConfig,
    estimate: &MemoryEstimate,
    rows: u64,
    budget: MemoryBudget,
) -> std::result::Result<(), Box<MemoryShortfall>> {
    if estimate.total() <= budget.bytes {
        return Ok(());
    }
    // The parts from largest to smallest; weights that alone exceed the budget are the
    // clearest thing to name, so they come first. The first part whose setting can be lowered
    // until the run fits is the one named; if none can, the first.
    let mut parts = [
        (MemoryPart::Weights, estimate.weights),
        (MemoryPart::Optimiser, estimate.optimiser),
        (MemoryPart::Data, estimate.data),
        (MemoryPart::Step, estimate.step),
    ];
    parts.sort_by_key(|&(part, bytes)| {
        let weights_first = part == MemoryPart::Weights && bytes > budget.bytes;
        (std::cmp::Reverse(weights_first), std::cmp::Reverse(bytes))
    });
    let shortfalls = parts.map(|(part, _)| {
        let setting = match (part, &config.data) {
            (MemoryPart::Weights | MemoryPart::Optimiser, _) => MemorySetting::Hidden,
            (MemoryPart::Step, _) => MemorySetting::BatchSize,
            (MemoryPart::Data, DataSource::Synthetic(_)) => MemorySetting::Samples,
            (MemoryPart::Data, DataSource::Series(_)) => MemorySetting::Window,
        };
        MemoryShortfall {
            estimate: *estimate,
            budget,
            part,
            setting,
            value: setting.value(config),
            fits: largest_fitting(config, setting, estimate.usage, rows, budget.bytes),
        }
    });
    let [first, ..] = &shortfalls;
    let named = shortfalls
        .iter()
        .find(|shortfall| shortfall.fits.is_some())
        .unwrap_or(first);
    Err(Box::new(named.clone()))
}

/// The largest value of `setting` below its value in `config` with which the run fits in
/// `budget` bytes, the other settings as they are: the estimate grows with each setting.
fn largest_fitting(
    config: &RunConfig,
    setting: MemorySetting,
    usage: MemoryUse,
    rows: u64,
    budget: u64,
) -> Option<usize> {
    largest_below(setting.value(config), |value| {
        MemoryEstimate::new(&setting.with_value(config, value), usage, rows).total() <= budget
    })
}

/// The largest value in `1..value` for which `fits` holds, when `fits` holds up to some value
/// and not above it (a size that grows with the setting); `None` when it does not hold at 1.
pub(crate) fn largest_below(value: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
    if value <= 1 || !fits(1) {
        return None;
    }
    let (mut low, mut high) = (1, value);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        match fits(middle) {
            true => low = middle,
            false => high = middle,
        }
    }
    Some(low)
}

/// Estimates `usage` of `config` (a series with `rows` values, when it has been read) and
/// refuses it, before anything large is allocated, when it does not fit what this process can
/// have ([`MemoryBudget::current`]; nothing is refused where the system reports no limit).
pub fn check_run(config: &RunConfig, usage: MemoryUse, rows: u64) -> Result<MemoryEstimate> {
    let estimate = MemoryEstimate::new(config, usage, rows);
    if let Some(budget) = MemoryBudget::current() {
        check_fits(config, &estimate, rows, budget).map_err(Error::OutOfMemory)?;
    }
    Ok(estimate)
}

/// Refuses a file that could not be read into memory: reading a CSV file holds its whole text.
pub fn check_file(path: &Path) -> Result<()> {
    let Ok(metadata) = std::fs::metadata(path) else {
        // Reading it will say why it cannot be read.
        return Ok(());
    };
    match MemoryBudget::current() {
        Some(budget) if metadata.len() > budget.bytes => Err(Error::FileTooLarge {
            path: path.to_path_buf(),
            bytes: metadata.len(),
            budget,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainingConfig;
    use data::SyntheticConfig;

    fn budget(bytes: u64) -> MemoryBudget {
        MemoryBudget {
            bytes,
            limit: MemoryLimit::Available,
        }
    }

    #[test]
    fn bytes_are_written_in_binary_units() {
        assert_eq!(Bytes(512).to_string(), "512 bytes");
        assert_eq!(Bytes(193 << 20).to_string(), "193 MiB");
        assert_eq!(Bytes(3 << 29).to_string(), "1.50 GiB");
        assert_eq!(Bytes(40_000_400_004 * 4).to_string(), "149 GiB");
    }

    #[test]
    fn the_weights_of_a_huge_layer_are_counted_without_overflow() {
        let config =
            RunConfig::tutorial().with_model(RecurrentRegressorConfig::new().with_hidden(100_000));
        let estimate = MemoryEstimate::new(&config, MemoryUse::Training, 0);
        // 4·H·(1 + H + 2) + (H + 1), four bytes each.
        assert_eq!(estimate.weights, (4 * 100_000 * 100_003 + 100_001) * 4);
        assert_eq!(estimate.largest_part().0, MemoryPart::Optimiser);
        let absurd = RunConfig::tutorial().with_model(
            RecurrentRegressorConfig::new()
                .with_hidden(usize::MAX / 2)
                .with_layers(3),
        );
        assert_eq!(
            MemoryEstimate::new(&absurd, MemoryUse::Training, 0).total(),
            u64::MAX
        );
    }

    #[test]
    fn each_part_grows_with_its_setting() {
        let base = RunConfig::tutorial();
        let estimate = |config: &RunConfig| MemoryEstimate::new(config, MemoryUse::Training, 0);
        let wider = base
            .clone()
            .with_model(RecurrentRegressorConfig::new().with_hidden(100));
        assert!(estimate(&wider).weights > 3 * estimate(&base).weights);
        let bigger_batch = base
            .clone()
            .with_training(TrainingConfig::new().with_batch_size(64));
        assert!(estimate(&bigger_batch).step > estimate(&base).step);
        assert_eq!(estimate(&bigger_batch).weights, estimate(&base).weights);
        let more = RunConfig::synthetic(SyntheticConfig::new().with_samples(1000));
        assert!(estimate(&more).data > 9 * estimate(&base).data);
        // Inference keeps no gradients or traces.
        let inference = MemoryEstimate::new(&base, MemoryUse::Inference, 0);
        assert!(inference.total() < estimate(&base).total());
    }

    #[test]
    fn feature_columns_are_counted_in_the_data_and_the_step() {
        let series = |features: usize| {
            let config = crate::SeriesConfig::new("s.csv".into(), data::ColumnRef::Index(0))
                .with_features((1..=features).map(data::ColumnRef::Index).collect());
            MemoryEstimate::new(&RunConfig::series(config), MemoryUse::Training, 100_000)
        };
        let (alone, with_three) = (series(0), series(3));
        // Each window holds four values per step instead of one (and its horizon, as before).
        assert!(
            with_three.data > 2 * alone.data,
            "{with_three:?} against {alone:?}"
        );
        assert!(with_three.step > alone.step);
        assert!(
            with_three.weights > alone.weights,
            "a wider input projection"
        );
    }

    #[test]
    fn a_shortfall_names_the_setting_and_the_largest_value_that_fits() {
        let config =
            RunConfig::tutorial().with_model(RecurrentRegressorConfig::new().with_hidden(100_000));
        let estimate = MemoryEstimate::new(&config, MemoryUse::Training, 0);
        let shortfall = check_fits(&config, &estimate, 0, budget(1 << 30))
            .expect_err("149 GiB of weights do not fit in 1 GiB");
        assert_eq!(shortfall.setting, MemorySetting::Hidden);
        assert_eq!(shortfall.value, 100_000);
        let fits = shortfall.fits.expect("a smaller layer fits");
        let total = |hidden| {
            let config = MemorySetting::Hidden.with_value(&config, hidden);
            MemoryEstimate::new(&config, MemoryUse::Training, 0).total()
        };
        assert!(total(fits) <= 1 << 30 && total(fits + 1) > 1 << 30);
        assert_eq!(
            shortfall.to_string(),
            format!(
                "hidden 100000 needs about {} for its weights alone; this machine has \
                 1.00 GiB available",
                Bytes(estimate.weights)
            )
        );
        assert!(check_fits(&config, &estimate, 0, budget(u64::MAX)).is_ok());
    }

    #[test]
    fn too_many_samples_are_blamed_on_the_samples() {
        let config = RunConfig::synthetic(SyntheticConfig::new().with_samples(100_000_000));
        let estimate = MemoryEstimate::new(&config, MemoryUse::Training, 0);
        assert_eq!(estimate.largest_part().0, MemoryPart::Data);
        let shortfall =
            check_fits(&config, &estimate, 0, budget(1 << 30)).expect_err("20 GB of data");
        assert_eq!(shortfall.setting, MemorySetting::Samples);
        assert!(shortfall.fits.is_some_and(|fits| fits < 100_000_000));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_budget_is_the_tightest_limit_the_system_reports() {
        let budget = MemoryBudget::current().expect("Linux reports available memory");
        assert!(budget.bytes > 0);
    }
}
