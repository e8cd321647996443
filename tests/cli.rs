//! End-to-end tests: the real `app` binary, run as a user would, in a fresh temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/seed_data.csv"
);

fn app(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_app"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the app binary should start")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks a failed run: non-zero status, one `error:` line naming `needle`, no panic.
fn assert_clean_error(output: &Output, needle: &str) {
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "should fail; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(
        stderr.contains(needle),
        "stderr should mention {needle:?}: {stderr}"
    );
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x89PNG\r\n\x1a\n"))
}

fn history_losses(dir: &Path) -> Vec<f64> {
    let mut reader = csv::Reader::from_path(dir.join("history.csv")).expect("history.csv exists");
    reader
        .records()
        .map(|record| record.expect("valid row")[1].parse().expect("a float loss"))
        .collect()
}

fn loss_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|line| line.starts_with("Loss: "))
        .unwrap_or_else(|| panic!("no `Loss:` line in {stdout}"))
        .to_string()
}

#[test]
fn train_on_ndarray_then_plot() {
    let work = tempfile::tempdir().expect("temporary directory");
    let runs = work.path().join("run");
    let run = runs.to_str().expect("UTF-8 temp path");
    let output = app(
        &[
            "train",
            "--backend",
            "ndarray",
            "--epochs",
            "3",
            "--artifact-dir",
            run,
        ],
        work.path(),
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "train failed: {}",
        text(&output.stderr)
    );

    let epoch_lines = stdout
        .lines()
        .filter(|line| line.starts_with("epoch "))
        .count();
    assert_eq!(
        epoch_lines, 3,
        "one progress line per epoch without a terminal: {stdout}"
    );
    let trained = loss_line(&stdout);
    for file in ["config.json", "model.mpk", "history.csv"] {
        assert!(runs.join(file).is_file(), "{file} missing");
    }
    let losses = history_losses(&runs);
    assert_eq!(losses.len(), 3);
    assert!(losses[2] < losses[0], "loss should go down: {losses:?}");

    let output = app(&["plot", "--artifact-dir", run], work.path());
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "plot failed: {}",
        text(&output.stderr)
    );
    assert!(is_png(&runs.join("predictions.png")));
    assert!(is_png(&runs.join("loss.png")));
    assert!(
        stdout.contains("predictions.png") && stdout.contains("loss.png"),
        "{stdout}"
    );
    // The model reloads at full precision: the same evaluation, to the printed digit.
    assert_eq!(loss_line(&stdout), trained);
}

#[test]
fn dataset_equals_the_numpy_fixture() {
    let work = tempfile::tempdir().expect("temporary directory");
    let output = app(
        &[
            "dataset",
            "--seed",
            "0",
            "--samples",
            "100",
            "--steps",
            "10",
            "--out",
            "seed.csv",
        ],
        work.path(),
    );
    assert!(
        output.status.success(),
        "dataset failed: {}",
        text(&output.stderr)
    );
    let ours = std::fs::read_to_string(work.path().join("seed.csv")).expect("written");
    let numpy = std::fs::read_to_string(FIXTURE).expect("fixture exists");
    assert_eq!(
        ours.lines().collect::<Vec<_>>(),
        numpy.lines().collect::<Vec<_>>()
    );
}

#[test]
fn plot_without_a_run_says_where_it_looked_and_what_to_do() {
    let work = tempfile::tempdir().expect("temporary directory");
    let output = app(&["plot", "--artifact-dir", "never-trained"], work.path());
    assert_clean_error(&output, "never-trained");
    assert_clean_error(&output, "run `app train");
    assert_eq!(text(&output.stderr).lines().count(), 1, "one line");
}

#[test]
fn unknown_backend_is_refused_by_clap() {
    let work = tempfile::tempdir().expect("temporary directory");
    let output = app(&["train", "--backend", "cuda"], work.path());
    assert_eq!(output.status.code(), Some(2));
    assert_clean_error(&output, "invalid value 'cuda' for '--backend <BACKEND>'");
}

#[test]
fn zero_epochs_are_refused() {
    let work = tempfile::tempdir().expect("temporary directory");
    let output = app(&["train", "--epochs", "0"], work.path());
    assert_eq!(output.status.code(), Some(2));
    assert_clean_error(&output, "--epochs");
}

#[test]
fn unwritable_artifact_dir_is_named() {
    let work = tempfile::tempdir().expect("temporary directory");
    std::fs::write(work.path().join("a-file"), "not a directory").expect("writable");
    let output = app(
        &["train", "--epochs", "1", "--artifact-dir", "a-file/run"],
        work.path(),
    );
    assert_clean_error(&output, "cannot create the artifact directory a-file/run");
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;

    #[test]
    fn train_on_wgpu_through_the_vulkan_driver() {
        let work = tempfile::tempdir().expect("temporary directory");
        let run: PathBuf = work.path().join("run");
        let run = run.to_str().expect("UTF-8 temp path");
        let output = app(
            &[
                "train",
                "--backend",
                "wgpu",
                "--epochs",
                "2",
                "--artifact-dir",
                run,
            ],
            work.path(),
        );
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "wgpu train failed: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let loss = loss_line(&text(&output.stdout));
        let mse: f64 = loss
            .split("(mse ")
            .nth(1)
            .and_then(|rest| rest.trim_end_matches(')').parse().ok())
            .expect("an mse value");
        assert!(mse.is_finite() && mse > 0.0, "{loss}");
        assert_eq!(history_losses(Path::new(run)).len(), 2);
    }

    #[test]
    fn wgpu_without_a_driver_is_one_clear_line() {
        let work = tempfile::tempdir().expect("temporary directory");
        let output = Command::new(env!("CARGO_BIN_EXE_app"))
            .args(["train", "--backend", "wgpu", "--epochs", "1"])
            .current_dir(work.path())
            // Point the Vulkan loader at no driver at all.
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .output()
            .expect("the app binary should start");
        assert_clean_error(&output, "mesa-vulkan-drivers");
        assert_clean_error(&output, "--backend ndarray");
        assert_eq!(
            text(&output.stderr)
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1
        );
    }
}
