//! The artifact directory of a run: which files it holds and how they are written and read.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::Backend;
use model::RecurrentRegressor;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::error::{Context, Error, Result};
use crate::metrics::MetricsReport;
use crate::run::RunOutcome;

pub use crate::recorder::ModelRecorder;

/// What a writer given to [`write_atomically`] returns: any error, which becomes the cause of
/// `cannot write PATH`.
pub type WriteResult = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// One line of the loss history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches, weighted by batch size (what Keras reports).
    pub loss: f64,
    /// The same over the validation windows, when the run has a validation part.
    pub valid_loss: Option<f64>,
    /// The learning rate used in this epoch.
    pub lr: f64,
    /// Seconds since training started, at the end of this epoch.
    pub elapsed_seconds: f64,
}

/// `manifest.json`: the files of a finished run.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format_version: u32,
    files: Vec<String>,
}

/// A run's directory and the names of the files in it.
#[derive(Clone, Debug)]
pub struct ArtifactDir {
    root: PathBuf,
}

impl ArtifactDir {
    /// The directory `root`, which may not exist yet.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the directory (and its parents) so that training can write into it.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self> {
        let dir = Self::new(root);
        fs::create_dir_all(&dir.root).with_context(|| {
            format!(
                "cannot create the artifact directory {}",
                dir.root.display()
            )
        })?;
        Ok(dir)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The run configuration, `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// The trained weights, `model.mpk` (MessagePack, full precision).
    pub fn model_path(&self) -> PathBuf {
        self.root.join("model.mpk")
    }

    /// The per-epoch loss, `history.csv`.
    pub fn history_path(&self) -> PathBuf {
        self.root.join("history.csv")
    }

    /// The Actual vs Predicted figure, `predictions.png`.
    pub fn predictions_plot_path(&self) -> PathBuf {
        self.root.join("predictions.png")
    }

    /// The loss curve, `loss.png`.
    pub fn loss_plot_path(&self) -> PathBuf {
        self.root.join("loss.png")
    }

    /// Burn's per-epoch checkpoints (`model-N`, `optim-N`, `scheduler-N`), `checkpoint/`.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// The files of epoch `epoch`'s checkpoint.
    pub fn checkpoint_files(&self, epoch: usize) -> [PathBuf; 3] {
        ["model", "optim", "scheduler"]
            .map(|name| self.checkpoint_dir().join(format!("{name}-{epoch}.mpk")))
    }

    /// The weights of the best epoch so far when early stopping watches, `checkpoint/best.mpk`.
    pub fn best_path(&self) -> PathBuf {
        self.checkpoint_dir().join("best.mpk")
    }

    /// The list of a finished run's files, `manifest.json`, written last.
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join("manifest.json")
    }

    /// Removes an earlier run's checkpoints before a fresh run, so that none is mistaken for
    /// this run's.
    pub fn remove_checkpoints(&self) -> Result<()> {
        match fs::remove_dir_all(self.checkpoint_dir()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error)
                .with_context(|| format!("cannot remove {}", self.checkpoint_dir().display())),
            _ => Ok(()),
        }
    }

    /// Forgets any earlier run's manifest before files are overwritten, so that it never vouches
    /// for a half-written new run.
    pub fn begin_run(&self) -> Result<()> {
        match fs::remove_file(self.manifest_path()) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error)
                .with_context(|| format!("cannot remove {}", self.manifest_path().display())),
            _ => Ok(()),
        }
    }

    /// Marks the run complete: lists `files` (names in the directory) in `manifest.json`.
    pub fn finish_run(&self, files: &[PathBuf]) -> Result<()> {
        let names: Vec<String> = files
            .iter()
            .filter_map(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        let manifest = Manifest {
            format_version: 1,
            files: names,
        };
        write_atomically(&self.manifest_path(), |file| {
            serde_json::to_writer_pretty(&mut *file, &manifest)?;
            file.write_all(b"\n")?;
            Ok(())
        })
    }

    /// Fails unless the directory holds a finished run whose listed files all exist.
    fn check_manifest(&self) -> Result<()> {
        let path = self.manifest_path();
        if !path.exists() {
            self.require(&self.config_path())?;
            return Err(Error::IncompleteRun {
                dir: self.root.clone(),
                manifest: path,
            });
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|source| Error::NotOurs {
            path: path.clone(),
            what: "a manifest written by `train`",
            source: Box::new(source),
        })?;
        for name in &manifest.files {
            self.require(&self.root.join(name))?;
        }
        Ok(())
    }

    fn require(&self, path: &Path) -> Result<()> {
        if !path.exists() {
            return Err(Error::NoRun {
                dir: self.root.clone(),
                missing: path.to_path_buf(),
            });
        }
        Ok(())
    }

    /// Writes what a finished or stopped run keeps, after its `config.json`: `metrics.json` for a
    /// series run's outcome, `history.csv`, `model.mpk`, and last `manifest.json`, which lists
    /// the files a later command needs.
    pub fn save_run<B: Backend>(
        &self,
        history: &[EpochRecord],
        model: RecurrentRegressor<B>,
        outcome: Option<&RunOutcome>,
    ) -> Result<()> {
        if let Some(RunOutcome::Series(forecast)) = outcome {
            self.save_metrics(&forecast.metrics)?;
        }
        self.save_history(history)?;
        self.save_model(model)?;
        self.finish_run(&[self.config_path(), self.history_path(), self.model_path()])
    }

    /// Writes `config.json`.
    pub fn save_config(&self, config: &RunConfig) -> Result<()> {
        write_atomically(&self.config_path(), |file| {
            file.write_all(config.to_string().as_bytes())?;
            Ok(())
        })
    }

    /// Reads `config.json`, explaining what to do when there is none.
    pub fn load_config(&self) -> Result<RunConfig> {
        self.check_manifest()?;
        self.read_config()
    }

    /// Reads `config.json` without asking for a finished run (resuming a run reads the
    /// configuration of interrupted ones).
    pub fn read_config(&self) -> Result<RunConfig> {
        let path = self.config_path();
        self.require(&path)?;
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let not_ours = |source: serde_json::Error| Error::NotOurs {
            path: path.clone(),
            what: "a run configuration written by `train`",
            source: Box::new(source),
        };
        let mut value: serde_json::Value = serde_json::from_str(&text).map_err(not_ours)?;
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        let readable =
            u64::from(RunConfig::OLDEST_FORMAT_VERSION)..u64::from(RunConfig::FORMAT_VERSION);
        if version.is_some_and(|version| readable.contains(&version)) {
            RunConfig::upgrade(&mut value);
        } else if version != Some(u64::from(RunConfig::FORMAT_VERSION)) {
            return Err(Error::OtherFormat {
                path,
                found: version,
                expected: RunConfig::FORMAT_VERSION,
            });
        }
        serde_json::from_value(value).map_err(not_ours)
    }

    /// Writes `model.mpk`.
    pub fn save_model<B: Backend>(&self, model: RecurrentRegressor<B>) -> Result<()> {
        save_weights(model, &self.model_path())
    }

    /// Writes `checkpoint/best.mpk`.
    pub fn save_best<B: Backend>(&self, model: RecurrentRegressor<B>) -> Result<()> {
        save_weights(model, &self.best_path())
    }

    /// Reads `model.mpk` into a model built from `config`.
    pub fn load_model<B: Backend>(
        &self,
        config: &RunConfig,
        device: &B::Device,
    ) -> Result<RecurrentRegressor<B>> {
        self.require(&self.model_path())?;
        self.load_weights(config, &self.model_path(), device)
    }

    /// Reads the weights in `path` into a model built from `config`, refusing weights whose
    /// shapes are not the configuration's.
    pub fn load_weights<B: Backend>(
        &self,
        config: &RunConfig,
        path: &Path,
        device: &B::Device,
    ) -> Result<RecurrentRegressor<B>> {
        let model = config.model.init::<B>(device);
        let expected = model.parameter_shapes();
        // Burn's decoder panics on some damaged files (a corrupted parameter id, for one) instead
        // of returning an error; both become the same clean error here.
        let loaded = without_panics(|| model.load_file(path, &ModelRecorder::new(), device));
        let damaged = |source: Box<dyn std::error::Error + Send + Sync>| Error::DamagedModel {
            path: path.to_path_buf(),
            source,
        };
        let model = match loaded {
            Ok(result) => result.map_err(|error| damaged(Box::new(error)))?,
            Err(panic) => return Err(damaged(format!("the file is damaged ({panic})").into())),
        };
        let found = model.parameter_shapes();
        if found != expected {
            let count = |shapes: &[Vec<usize>]| -> usize {
                shapes
                    .iter()
                    .map(|shape| shape.iter().product::<usize>())
                    .sum()
            };
            return Err(Error::WeightsMismatch {
                weights: path.to_path_buf(),
                config: self.config_path(),
                architecture: config.model.describe(),
                found_parameters: count(&found),
                found_tensors: found.len(),
                expected_parameters: count(&expected),
                expected_tensors: expected.len(),
            });
        }
        Ok(model)
    }

    /// The forecasts table, `forecast.csv`.
    pub fn forecast_table_path(&self) -> PathBuf {
        self.root.join("forecast.csv")
    }

    /// The forecast figure, `forecast.png`.
    pub fn forecast_plot_path(&self) -> PathBuf {
        self.root.join("forecast.png")
    }

    /// The test metrics of model and baselines, `metrics.json`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.json")
    }

    /// Writes `metrics.json`.
    pub fn save_metrics(&self, metrics: &MetricsReport) -> Result<()> {
        write_atomically(&self.metrics_path(), |file| {
            serde_json::to_writer_pretty(&mut *file, metrics)?;
            file.write_all(b"\n")?;
            Ok(())
        })
    }

    /// Writes `history.csv` (columns `epoch,loss,valid_loss,elapsed_seconds`).
    pub fn save_history(&self, history: &[EpochRecord]) -> Result<()> {
        write_atomically(&self.history_path(), |file| {
            let mut csv = csv::Writer::from_writer(file);
            for record in history {
                csv.serialize(record)?;
            }
            csv.flush()?;
            Ok(())
        })
    }

    /// Reads `history.csv`.
    pub fn load_history(&self) -> Result<Vec<EpochRecord>> {
        let path = self.history_path();
        let mut reader = csv::Reader::from_path(&path)
            .with_context(|| format!("cannot read the loss history {}", path.display()))?;
        reader
            .deserialize()
            .collect::<Result<Vec<EpochRecord>, _>>()
            .map_err(|source| Error::NotOurs {
                path: path.clone(),
                what: "a loss history written by `train`",
                source: Box::new(source),
            })
    }
}

/// Runs `work`, turning a panic into `Err` with its message, without printing it (the default
/// hook would print `panicked at`, which a user should never see).
pub fn without_panics<T>(work: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    std::panic::set_hook(previous);
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unreadable".to_string())
    })
}

/// Writes the weights of `model` to `path` (a `.mpk` name), atomically (see [`ModelRecorder`]).
fn save_weights<B: Backend>(model: RecurrentRegressor<B>, path: &Path) -> Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(directory)
        .with_context(|| format!("cannot create {}", directory.display()))?;
    model
        .save_file(path, &ModelRecorder::new())
        .with_context(|| format!("cannot write the model to {}", path.display()))
}

/// Writes `path` through a temporary file in the same directory, renamed into place once
/// complete, so that readers never see a half-written file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<fs::File>) -> WriteResult,
) -> Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        Error::file(
            format!("cannot write {}", path.display()),
            "not a file path",
        )
    })?;
    let partial = path.with_file_name(format!(".{}.partial", file_name.to_string_lossy()));
    let file = fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let result = write_then_rename(file, &partial, path, write);
    if result.is_err() {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&partial);
    }
    result
}

fn write_then_rename(
    file: fs::File,
    partial: &Path,
    path: &Path,
    write: impl FnOnce(&mut BufWriter<fs::File>) -> WriteResult,
) -> Result<()> {
    let mut writer = BufWriter::new(file);
    write(&mut writer).map_err(|source| Error::File {
        what: format!("cannot write {}", path.display()),
        source,
    })?;
    writer
        .into_inner()
        .map_err(|error| error.into_error())
        .and_then(|file| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    fs::rename(partial, path).with_context(|| format!("cannot move {} into place", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_round_trips_through_csv() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let artifacts = ArtifactDir::new(dir.path());
        let history = vec![
            EpochRecord {
                epoch: 1,
                loss: 0.25,
                valid_loss: None,
                lr: 1e-3,
                elapsed_seconds: 0.5,
            },
            EpochRecord {
                epoch: 2,
                loss: 1.0 / 3.0,
                valid_loss: Some(0.5),
                lr: 1e-3,
                elapsed_seconds: 1.0,
            },
        ];
        artifacts.save_history(&history).expect("writable");
        assert_eq!(artifacts.load_history().expect("readable"), history);
        let text = fs::read_to_string(artifacts.history_path()).expect("written");
        assert!(
            text.starts_with("epoch,loss,valid_loss,lr,elapsed_seconds\n1,0.25,,0.001,0.5\n"),
            "{text}"
        );
    }

    #[test]
    fn atomic_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("out.txt");
        write_atomically(&path, |file| Ok(file.write_all(b"done")?)).expect("writable");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("listable")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
        assert_eq!(fs::read_to_string(&path).expect("written"), "done");
    }

    #[test]
    fn failed_write_keeps_the_previous_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("out.txt");
        fs::write(&path, "old").expect("writable");
        let result = write_atomically(&path, |_| Err("disk full".into()));
        assert!(result.is_err());
        assert_eq!(fs::read_to_string(&path).expect("still there"), "old");
        assert_eq!(
            fs::read_dir(dir.path()).expect("listable").count(),
            1,
            "partial file left"
        );
    }

    #[test]
    fn a_run_without_its_manifest_is_reported_incomplete() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let artifacts = ArtifactDir::new(dir.path());
        fs::write(artifacts.config_path(), "{}").expect("writable");
        let message = format!("{:#}", artifacts.load_config().expect_err("no manifest"));
        assert!(message.contains("is incomplete"), "{message}");

        artifacts
            .finish_run(&[artifacts.config_path(), artifacts.model_path()])
            .expect("writable");
        let message = format!("{:#}", artifacts.load_config().expect_err("model missing"));
        assert!(message.contains("model.mpk does not exist"), "{message}");

        artifacts.begin_run().expect("removable");
        assert!(!artifacts.manifest_path().exists());
    }

    #[test]
    fn missing_run_names_the_directory_and_the_fix() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let artifacts = ArtifactDir::new(dir.path().join("nothing-here"));
        let message = format!("{:#}", artifacts.load_config().expect_err("no run"));
        assert!(message.contains("nothing-here"), "{message}");
        assert!(message.contains("config.json does not exist"), "{message}");
    }

    mod properties {
        use super::*;
        use burn_ndarray::NdArray;
        use proptest::prelude::*;

        fn saved_run() -> (tempfile::TempDir, ArtifactDir, RunConfig) {
            let dir = tempfile::tempdir().expect("temporary directory");
            let artifacts = ArtifactDir::new(dir.path());
            let config = RunConfig::tutorial()
                .with_model(model::RecurrentRegressorConfig::new().with_hidden(3));
            artifacts.save_config(&config).expect("writable");
            let model = config.model.init::<NdArray>(&Default::default());
            artifacts.save_model(model).expect("writable");
            (dir, artifacts, config)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn any_config_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                let (_dir, artifacts, _) = saved_run();
                fs::write(artifacts.config_path(), bytes).expect("writable");
                let _ = artifacts.read_config();
            }

            #[test]
            fn damaged_configs_are_read_or_refused(cut in 0usize..2000, position in 0usize..2000, byte in any::<u8>()) {
                let (_dir, artifacts, config) = saved_run();
                let mut text = config.to_string().into_bytes();
                if position < text.len() {
                    text[position] = byte;
                }
                text.truncate(cut);
                fs::write(artifacts.config_path(), &text).expect("writable");
                if let Ok(read) = artifacts.read_config() {
                    // What is accepted must still build a model.
                    let _ = read.model.describe();
                }
            }

            #[test]
            fn any_history_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                let (_dir, artifacts, _) = saved_run();
                fs::write(artifacts.history_path(), bytes).expect("writable");
                let _ = artifacts.load_history();
            }

            #[test]
            fn damaged_models_load_or_fail_cleanly(cut in 0usize..4000, position in 0usize..4000, byte in any::<u8>()) {
                let (_dir, artifacts, config) = saved_run();
                let mut bytes = fs::read(artifacts.model_path()).expect("written");
                if position < bytes.len() {
                    bytes[position] = byte;
                }
                bytes.truncate(cut);
                fs::write(artifacts.model_path(), &bytes).expect("writable");
                let _ = artifacts.load_model::<NdArray>(&config, &Default::default());
            }
        }
    }
}
