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

/// Runs `app` and checks that it succeeded; returns its standard output.
fn app_ok(args: &[&str], dir: &Path) -> String {
    let output = app(args, dir);
    assert!(
        output.status.success(),
        "app {args:?} failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
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
    let stdout = app_ok(
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

    let stdout = app_ok(&["plot", "--artifact-dir", run], work.path());
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
fn same_seed_gives_the_same_history_on_ndarray() {
    let work = tempfile::tempdir().expect("temporary directory");
    for run in ["a", "b"] {
        app_ok(
            &[
                "train",
                "--epochs",
                "3",
                "--seed",
                "7",
                "--artifact-dir",
                run,
            ],
            work.path(),
        );
    }
    let (a, b) = (
        history_losses(&work.path().join("a")),
        history_losses(&work.path().join("b")),
    );
    assert_eq!(a.len(), 3);
    assert_eq!(a, b, "bit-for-bit equal losses");
}

#[test]
fn divergence_in_the_first_epoch_stops_with_advice_and_saves_no_model() {
    let work = tempfile::tempdir().expect("temporary directory");
    let output = app(
        &[
            "train",
            "--learning-rate",
            "100",
            "--epochs",
            "30",
            "--artifact-dir",
            "run",
        ],
        work.path(),
    );
    assert_clean_error(&output, "the training loss became NaN in epoch 1");
    assert_clean_error(
        &output,
        "try a lower --learning-rate (this run used 100) or --activation tanh",
    );
    assert_clean_error(&output, "no model was saved");
    let stdout = text(&output.stdout);
    // The check is made at the end of every epoch, before the next one starts.
    assert!(!stdout.lines().any(|l| l.starts_with("epoch ")), "{stdout}");
    assert!(!work.path().join("run/model.mpk").exists());
    // What is left is not a run that later commands trust.
    let output = app(&["plot", "--artifact-dir", "run"], work.path());
    assert_clean_error(&output, "the run in run is incomplete");
}

#[test]
fn divergence_after_good_epochs_keeps_the_last_good_one() {
    let work = tempfile::tempdir().expect("temporary directory");
    app_ok(
        &["train", "--epochs", "2", "--artifact-dir", "run"],
        work.path(),
    );
    let before = history_losses(&work.path().join("run"));
    // Resuming with a rate a thousand times too large diverges in epoch 3.
    let output = app(
        &[
            "train",
            "--epochs",
            "6",
            "--resume",
            "--learning-rate",
            "100",
            "--artifact-dir",
            "run",
        ],
        work.path(),
    );
    assert_clean_error(&output, "the training loss became NaN in epoch 3");
    assert_clean_error(&output, "the model of epoch 2 is saved in run");
    assert_eq!(history_losses(&work.path().join("run")), before);
    let stdout = app_ok(&["evaluate", "--artifact-dir", "run"], work.path());
    assert!(loss_line(&stdout).starts_with("Loss: 0.0"), "{stdout}");
    app_ok(&["plot", "--artifact-dir", "run"], work.path());
}

/// The columns of `history.csv` as text, so that comparisons are exact to the last digit.
fn history_columns(dir: &Path, columns: &[&str]) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(dir.join("history.csv")).expect("history.csv exists");
    let headers = reader.headers().expect("a header").clone();
    let indices: Vec<usize> = columns
        .iter()
        .map(|name| {
            headers
                .iter()
                .position(|h| h == *name)
                .unwrap_or_else(|| panic!("no column {name} in {headers:?}"))
        })
        .collect();
    reader
        .records()
        .map(|record| {
            let record = record.expect("valid row");
            indices.iter().map(|&i| record[i].to_string()).collect()
        })
        .collect()
}

#[test]
fn resumed_training_equals_an_unbroken_run_bit_for_bit() {
    let work = tempfile::tempdir().expect("temporary directory");
    // Dropout, shuffling, a validation split and the plateau schedule all carry state that a
    // resume must restore or recompute exactly.
    let flags = [
        "--hidden",
        "8",
        "--layers",
        "2",
        "--dropout",
        "0.2",
        "--validation-split",
        "0.2",
        "--lr-schedule",
        "plateau",
        "--lr-patience",
        "1",
        "--lr-factor",
        "0.5",
        "--seed",
        "3",
        "--learning-rate",
        "0.01",
    ];
    let run = |epochs: &str, dir: &str, resume: bool| {
        let mut args = vec!["train", "--epochs", epochs, "--artifact-dir", dir];
        args.extend(flags);
        if resume {
            args.push("--resume");
        }
        app_ok(&args, work.path())
    };
    let unbroken = run("10", "unbroken", false);
    run("5", "resumed", false);
    let resumed = run("10", "resumed", true);
    assert!(
        resumed.contains("Resuming the run in resumed after epoch 5"),
        "{resumed}"
    );
    assert!(
        !resumed.contains("epoch  5/10"),
        "epochs 1-5 are not trained again: {resumed}"
    );
    let columns = ["epoch", "loss", "valid_loss", "lr"];
    let expected = history_columns(&work.path().join("unbroken"), &columns);
    assert_eq!(expected.len(), 10);
    assert_eq!(
        history_columns(&work.path().join("resumed"), &columns),
        expected
    );
    assert_eq!(loss_line(&resumed), loss_line(&unbroken));
    // The plateau schedule did act in this run, or the test would not cover it.
    assert!(
        expected[5..].iter().any(|row| row[3] != expected[5][3]),
        "{expected:?}"
    );
}

#[test]
fn resume_refuses_what_it_cannot_continue() {
    let work = tempfile::tempdir().expect("temporary directory");
    assert_clean_error(
        &app(
            &["train", "--resume", "--artifact-dir", "none"],
            work.path(),
        ),
        "cannot resume the run in none",
    );
    app_ok(
        &[
            "train",
            "--epochs",
            "3",
            "--hidden",
            "8",
            "--artifact-dir",
            "run",
        ],
        work.path(),
    );
    // `train --resume` of the run above to `epochs` in total, with `extra` flags.
    let resume = |epochs: &str, extra: &[&str]| {
        let mut args = vec!["train", "--epochs", epochs, "--hidden", "8"];
        args.extend(extra);
        args.extend(["--resume", "--artifact-dir", "run"]);
        app(&args, work.path())
    };
    assert_clean_error(
        &resume("6", &["--cell", "gru"]),
        "model.cell was \"lstm\" in the saved run, this command asks for \"gru\"",
    );
    assert_clean_error(
        &resume("3", &[]),
        "already has 3 epochs and --epochs is the total",
    );
    std::fs::write(work.path().join("run/checkpoint/optim-3.mpk"), b"garbage").expect("writable");
    assert_clean_error(&resume("6", &[]), "the optimiser state");
    std::fs::remove_dir_all(work.path().join("run/checkpoint")).expect("removable");
    assert_clean_error(&resume("6", &[]), "has no complete checkpoint");
}

#[test]
fn early_stopping_stops_after_patience_and_keeps_the_best_epoch() {
    let work = tempfile::tempdir().expect("temporary directory");
    let stdout = app_ok(
        &[
            "train",
            "--epochs",
            "300",
            "--learning-rate",
            "0.01",
            "--validation-split",
            "0.2",
            "--early-stopping",
            "3",
            "--artifact-dir",
            "run",
        ],
        work.path(),
    );
    let rows = history_columns(&work.path().join("run"), &["epoch", "valid_loss"]);
    let valid: Vec<f64> = rows
        .iter()
        .map(|row| row[1].parse().expect("a loss"))
        .collect();
    let best = valid
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(index, _)| index + 1)
        .expect("epochs ran");
    assert!(valid.len() < 300, "should have stopped early: {stdout}");
    assert_eq!(
        valid.len(),
        best + 3,
        "stops 3 epochs after the best: {valid:?}"
    );
    assert!(
        stdout.contains(&format!(
            "no improvement since epoch {best}, whose weights are kept"
        )),
        "{stdout}"
    );
    // The saved model is the best epoch's, bit for bit.
    let model = std::fs::read(work.path().join("run/model.mpk")).expect("saved");
    let best_weights = std::fs::read(work.path().join("run/checkpoint/best.mpk")).expect("saved");
    assert_eq!(model, best_weights);
    let evaluated = app_ok(&["evaluate", "--artifact-dir", "run"], work.path());
    assert_eq!(loss_line(&evaluated), loss_line(&stdout));
    app_ok(&["plot", "--artifact-dir", "run"], work.path());
    assert!(is_png(&work.path().join("run/loss.png")));
}

#[test]
fn gru_stacked_bidirectional_runs_end_to_end() {
    let work = tempfile::tempdir().expect("temporary directory");
    let stdout = app_ok(
        &[
            "train",
            "--epochs",
            "3",
            "--cell",
            "gru",
            "--layers",
            "2",
            "--bidirectional",
            "--hidden",
            "8",
            "--activation",
            "tanh",
            "--dropout",
            "0.1",
            "--weight-decay",
            "0.01",
            "--grad-clip",
            "1",
        ],
        work.path(),
    );
    assert!(
        stdout.contains("2 × bidirectional gru(8, tanh), dropout 0.1 + Linear(1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("AdamW lr 0.001, weight decay 0.01"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(work.path().join("artifacts/config.json")).expect("saved");
    for field in [
        "\"cell\": \"gru\"",
        "\"layers\": 2",
        "\"bidirectional\": true",
        "\"grad_clip\": 1.0",
    ] {
        assert!(config.contains(field), "{field} not in {config}");
    }
    let evaluated = app_ok(&["evaluate"], work.path());
    assert_eq!(loss_line(&evaluated), loss_line(&stdout));
}

#[test]
fn schedule_rates_are_recorded_epoch_by_epoch() {
    let work = tempfile::tempdir().expect("temporary directory");
    app_ok(
        &[
            "train",
            "--epochs",
            "5",
            "--samples",
            "16",
            "--lr-schedule",
            "step",
            "--lr-step-epochs",
            "2",
            "--lr-factor",
            "0.5",
        ],
        work.path(),
    );
    let rates: Vec<f64> = history_columns(&work.path().join("artifacts"), &["lr"])
        .iter()
        .map(|row| row[0].parse().expect("a rate"))
        .collect();
    assert_eq!(rates, [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4]);
}

#[test]
fn gradient_clipping_and_weight_decay_change_training() {
    let work = tempfile::tempdir().expect("temporary directory");
    let run = |dir: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--epochs",
            "5",
            "--activation",
            "tanh",
            "--artifact-dir",
            dir,
        ];
        args.extend(extra);
        app_ok(&args, work.path());
        history_losses(&work.path().join(dir))
    };
    let plain = run("plain", &[]);
    // Adam divides out the gradient's scale, so clipping shows only when the clipped gradient
    // falls below Adam's epsilon (1e-7): then the steps vanish and the loss stands still.
    let clipped = run("clipped", &["--grad-clip", "1e-12"]);
    let change = |losses: &[f64]| (losses[0] - losses[4]).abs() / losses[0];
    assert!(change(&plain) > 0.05, "{plain:?}");
    assert!(
        change(&clipped) < change(&plain) / 10.0,
        "{clipped:?} vs {plain:?}"
    );
    let decayed = run("decayed", &["--weight-decay", "0.1"]);
    assert_ne!(decayed, plain);
}

#[test]
fn a_half_written_run_is_reported_not_trusted() {
    let work = tempfile::tempdir().expect("temporary directory");
    app_ok(&["train", "--epochs", "1", "--samples", "8"], work.path());
    let manifest = std::fs::read_to_string(work.path().join("artifacts/manifest.json"))
        .expect("train writes a manifest");
    for file in ["config.json", "history.csv", "model.mpk"] {
        assert!(manifest.contains(file), "{manifest}");
    }
    std::fs::remove_file(work.path().join("artifacts/manifest.json")).expect("removable");
    assert_clean_error(&app(&["plot"], work.path()), "is incomplete");
}

#[test]
fn interrupted_training_keeps_a_complete_run() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;

    let work = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_app"))
        .args(["train", "--epochs", "100000", "--artifact-dir", "run"])
        .current_dir(work.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the app binary should start");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    while !line.starts_with("epoch") || !line.contains("3/100000") {
        line.clear();
        let read = stdout.read_line(&mut line).expect("readable");
        assert!(read > 0, "training ended before epoch 3");
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("readable");
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().expect("piped");
    pipe.read_to_string(&mut stderr).expect("readable");
    let status = child.wait().expect("the run ends");

    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("interrupted after"), "{stderr}");
    let run = work.path().join("run");
    assert!(run.join("model.mpk").is_file());
    let epochs = history_losses(&run).len();
    assert!((3..100_000).contains(&epochs), "{epochs} epochs recorded");
    app_ok(&["plot", "--artifact-dir", "run"], work.path());
    app_ok(&["evaluate", "--artifact-dir", "run"], work.path());

    // `--resume` continues from the last complete epoch, and the history stays continuous.
    let total = (epochs + 2).to_string();
    app_ok(
        &[
            "train",
            "--epochs",
            &total,
            "--resume",
            "--artifact-dir",
            "run",
        ],
        work.path(),
    );
    let numbers: Vec<String> = history_columns(&run, &["epoch"])
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let expected: Vec<String> = (1..=epochs + 2).map(|e| e.to_string()).collect();
    assert_eq!(numbers, expected);
}

/// The figures of one row of `bench`'s table, after the workload's name.
fn bench_row_numbers(row: &str) -> Vec<f64> {
    row.split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect()
}

#[test]
fn bench_measures_the_workloads_asked_for_after_a_warm_up() {
    let work = tempfile::tempdir().expect("temporary directory");
    let stdout = app_ok(
        &[
            "bench",
            "--quick",
            "--workloads",
            "W1,W2",
            "--warmup-epochs",
            "1",
        ],
        work.path(),
    );
    let device = stdout.lines().next().expect("a device line");
    assert!(device.contains("warm-up, not timed"), "{device}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with('W'))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(
        rows[0].starts_with("W1 ") && rows[1].starts_with("W2 "),
        "{stdout}"
    );
    for row in rows {
        let numbers = bench_row_numbers(row);
        assert!(
            numbers.len() == 6 && numbers.iter().all(|v| *v > 0.0),
            "{row}"
        );
    }
    let output = app(&["bench", "--quick", "--workloads", "W9"], work.path());
    assert_clean_error(&output, "no workload W9");
}

#[test]
fn bench_quick_prints_a_row_per_workload() {
    let work = tempfile::tempdir().expect("temporary directory");
    let stdout = app_ok(&["bench", "--quick"], work.path());
    // The device first: the CPU's model on ndarray, and that every epoch is timed.
    let device = stdout.lines().next().expect("a device line");
    assert!(
        device.starts_with("ndarray on ") && device.ends_with("every epoch timed"),
        "{device}"
    );
    let header = stdout.lines().nth(1).expect("a header");
    assert!(
        header.contains("train seq/s") && header.contains("peak MiB"),
        "{stdout}"
    );
    for workload in ["W1", "W2", "W3"] {
        let row = stdout
            .lines()
            .find(|line| line.starts_with(workload))
            .unwrap_or_else(|| panic!("no {workload} row: {stdout}"));
        let numbers = bench_row_numbers(row);
        assert!(
            numbers.len() >= 4 && numbers.iter().all(|v| *v > 0.0),
            "{row}"
        );
        // The memory estimate is checked against the measured peak of each workload.
        let [.., peak, estimate] = numbers[..] else {
            panic!("{row}")
        };
        assert!(
            estimate <= 1.5 * peak && peak <= 1.5 * estimate,
            "{workload}: estimated {estimate} MiB against a peak of {peak} MiB"
        );
    }
    // The achieved GFLOP/s are read against the machine's peak, measured on one core and on all.
    let peak = stdout
        .lines()
        .find(|line| line.starts_with("CPU peak, measured: "))
        .unwrap_or_else(|| panic!("no CPU peak line: {stdout}"));
    // "… X GFLOP/s on 1 core, Y on N (…": X and Y, not the core counts after them.
    let rate_after = |marker: &str| -> f64 {
        let (_, rest) = peak.split_once(marker).unwrap_or_else(|| panic!("{peak}"));
        let value = rest.split_whitespace().next().unwrap_or_default();
        value
            .parse()
            .unwrap_or_else(|_| panic!("{value:?} in {peak}"))
    };
    let (one_core, all_cores) = (rate_after("measured: "), rate_after("1 core, "));
    assert!(one_core > 0.0 && all_cores > 0.0, "{peak}");
    assert!(header.contains("estimated MiB"), "{header}");
}

#[test]
fn damaged_artifacts_are_reported_not_trusted() {
    let work = tempfile::tempdir().expect("temporary directory");
    app_ok(&["train", "--epochs", "1", "--samples", "8"], work.path());
    let dir = work.path().join("artifacts");
    let model = std::fs::read(dir.join("model.mpk")).expect("model written");
    let config = std::fs::read_to_string(dir.join("config.json")).expect("config written");

    std::fs::write(dir.join("model.mpk"), b"garbage").expect("writable");
    assert_clean_error(
        &app(&["plot"], work.path()),
        "cannot load the model from artifacts/model.mpk",
    );
    std::fs::write(dir.join("model.mpk"), &model[..100]).expect("writable");
    assert_clean_error(
        &app(&["plot"], work.path()),
        "cannot load the model from artifacts/model.mpk",
    );
    std::fs::write(dir.join("model.mpk"), &model).expect("writable");

    std::fs::write(dir.join("config.json"), r#"{"format_version": 9}"#).expect("writable");
    assert_clean_error(
        &app(&["plot"], work.path()),
        "was written by another version of this app (format 9, this one reads 7)",
    );
    std::fs::write(dir.join("config.json"), "{ not json").expect("writable");
    assert_clean_error(
        &app(&["evaluate"], work.path()),
        "is not a run configuration written by `train`",
    );
    let other_architecture = config.replace("\"hidden\": 50", "\"hidden\": 20");
    assert_ne!(other_architecture, config);
    std::fs::write(dir.join("config.json"), other_architecture).expect("writable");
    assert_clean_error(
        &app(&["plot"], work.path()),
        "the configuration (1 × lstm(20, relu)) needs",
    );
}

#[test]
fn dataset_equals_the_numpy_fixture() {
    let work = tempfile::tempdir().expect("temporary directory");
    app_ok(
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
    let output = app(&["train", "--backend", "tpu"], work.path());
    assert_eq!(output.status.code(), Some(2));
    assert_clean_error(&output, "invalid value 'tpu' for '--backend <BACKEND>'");
}

/// Without the `cuda` feature, `--backend cuda` says how to build it; with it, on a machine
/// without the NVIDIA driver (CI's), it says what is missing. Either way one line, no panic.
#[test]
fn cuda_without_its_feature_or_its_driver_is_one_line() {
    let work = tempfile::tempdir().expect("temporary directory");
    for command in [
        &["train", "--backend", "cuda", "--epochs", "1"][..],
        &["bench", "--backend", "cuda", "--quick", "--workloads", "W1"][..],
    ] {
        let output = app(command, work.path());
        let stderr = text(&output.stderr);
        if cfg!(feature = "cuda") && output.status.success() {
            eprintln!("{command:?} ran: this machine has CUDA");
            continue;
        }
        assert_eq!(output.status.code(), Some(1), "{command:?}: {stderr}");
        match cfg!(feature = "cuda") {
            false => assert_clean_error(&output, "cargo build --release -p app --features cuda"),
            true => assert_clean_error(&output, "--backend cuda cannot start: "),
        }
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
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

/// Runs too large for any machine: each is refused before it allocates, in one line, with exit
/// status 1, naming the size, the limit and what fits, and leaves no artifact directory.
mod too_big {
    use super::*;

    /// Checks the refusal and returns its one line.
    fn refused(output: &Output, dir: &Path) -> String {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("memory allocation"));
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(!dir.join("artifacts").exists(), "nothing written: {stderr}");
        lines[0].to_string()
    }

    #[test]
    fn a_layer_too_wide_names_its_weights_and_a_width_that_fits() {
        let work = tempfile::tempdir().expect("temporary directory");
        let line = refused(
            &app(&["train", "--hidden", "100000"], work.path()),
            work.path(),
        );
        assert!(
            line.starts_with("error: --hidden 100000 needs about 149 GiB for its weights alone; "),
            "{line}"
        );
        assert!(
            line.contains(" available; --hidden ") && line.ends_with(" fits"),
            "{line}"
        );
    }

    #[test]
    fn too_many_samples_name_the_data() {
        let work = tempfile::tempdir().expect("temporary directory");
        let output = app(&["train", "--samples", "100000000000"], work.path());
        let line = refused(&output, work.path());
        assert!(
            line.starts_with("error: --samples 100000000000 needs about ")
                && line.contains("for its data alone")
                && line.contains("; --samples "),
            "{line}"
        );
    }

    #[test]
    fn a_step_too_large_for_any_batch_says_so() {
        let work = tempfile::tempdir().expect("temporary directory");
        let args = [
            "train",
            "--samples",
            "2",
            "--batch-size",
            "2",
            "--steps",
            "1000000000",
        ];
        let line = refused(&app(&args, work.path()), work.path());
        assert!(
            line.starts_with("error: --batch-size 2 needs about ")
                && line.contains("one step's working set")
                && line.ends_with("not even --batch-size 1 fits"),
            "{line}"
        );
    }

    #[test]
    fn a_csv_file_larger_than_memory_is_not_read() {
        let work = tempfile::tempdir().expect("temporary directory");
        let csv = work.path().join("huge.csv");
        // Sparse: a terabyte that takes no disk space.
        std::fs::File::create(&csv)
            .and_then(|file| file.set_len(1 << 40))
            .expect("a sparse file");
        let csv = csv.to_str().expect("UTF-8 temp path");
        let output = app(&["train", "--csv", csv, "--column", "v"], work.path());
        let line = refused(&output, work.path());
        assert!(
            line.starts_with(&format!("error: {csv} is 1.00 TiB, and reading it takes ")),
            "{line}"
        );
    }

    #[test]
    fn a_saved_run_too_large_for_this_machine_is_not_opened() {
        let work = tempfile::tempdir().expect("temporary directory");
        app_ok(&["train", "--epochs", "1", "--samples", "8"], work.path());
        let dir = work.path().join("artifacts");
        // As if trained on a machine with far more memory.
        let config = std::fs::read_to_string(dir.join("config.json")).expect("config written");
        let bigger = config.replace("\"samples\": 8,", "\"samples\": 1000000000000,");
        assert_ne!(config, bigger);
        std::fs::write(dir.join("config.json"), bigger).expect("writable");
        for command in ["evaluate", "plot", "forecast"] {
            let output = app(&[command], work.path());
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{command}: {stderr}");
            assert!(
                stderr.starts_with("error: the saved run's samples 1000000000000 needs about ")
                    && stderr.contains("open it on a machine with more memory"),
                "{command}: {stderr}"
            );
            assert!(
                text(&output.stdout).is_empty(),
                "{command} printed before refusing"
            );
        }
        assert!(!dir.join("predictions.png").exists());
    }

    /// Under `ulimit -v`, the budget is the address space left, halved.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_address_space_limit_is_compared_with_the_estimate() {
        let work = tempfile::tempdir().expect("temporary directory");
        let under_limit = |args: &[&str]| {
            Command::new("sh")
                .arg("-c")
                .arg("ulimit -v 1048576 && exec \"$0\" \"$@\"")
                .arg(env!("CARGO_BIN_EXE_app"))
                .args(args)
                .current_dir(work.path())
                .output()
                .expect("sh starts")
        };
        let output = under_limit(&["train", "--samples", "3000000"]);
        let line = refused(&output, work.path());
        assert!(
            line.contains("address-space limit (ulimit -v) leaves room for about")
                && line.contains("; --samples "),
            "{line}"
        );
        // What fits is not refused under the same limit.
        let output = under_limit(&["train", "--epochs", "1"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;

    /// Whether this machine has a wgpu adapter (a GPU driver or Mesa's software Vulkan driver).
    /// Without one the test is skipped with its reason, unless `LSTM_REQUIRE_WGPU` is set (CI
    /// sets it, and installs Mesa), which makes the missing adapter a failure.
    fn adapter_or_skip(test: &str) -> bool {
        match app::backend::wgpu_adapter_available() {
            Ok(()) => true,
            Err(error) if std::env::var_os("LSTM_REQUIRE_WGPU").is_some() => {
                panic!("{test}: LSTM_REQUIRE_WGPU is set but {error}")
            }
            Err(error) => {
                eprintln!(
                    "skipped {test}: {error} (install Mesa's software Vulkan driver, Debian's \
                     mesa-vulkan-drivers, to run it on the CPU; LSTM_REQUIRE_WGPU=1 makes this a \
                     failure)"
                );
                false
            }
        }
    }

    #[test]
    fn train_on_wgpu_through_the_vulkan_driver() {
        if !adapter_or_skip("train_on_wgpu_through_the_vulkan_driver") {
            return;
        }
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

    /// A buffer beyond the adapter's limits is refused before Burn meets it with a panic.
    #[test]
    fn a_buffer_above_the_adapters_limit_names_the_limit_and_a_batch_that_fits() {
        if !adapter_or_skip("a_buffer_above_the_adapters_limit") {
            return;
        }
        let work = tempfile::tempdir().expect("temporary directory");
        // The gates of a batch: 100,000 × 100,000 steps × 4·50 floats, 7.3 TiB.
        let args = [
            "train",
            "--backend",
            "wgpu",
            "--samples",
            "100000",
            "--batch-size",
            "100000",
            "--steps",
            "100000",
        ];
        let output = app(&args, work.path());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(
                "error: --backend wgpu: a buffer of 7.28 TiB (batch 100000) is \
                                larger than the "
            ) && stderr.contains(" adapter's max_")
                && stderr.contains("--batch-size"),
            "{stderr}"
        );
        assert!(!work.path().join("artifacts").exists());
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

mod series {
    use super::*;

    const AIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/airpassengers.csv"
    );

    fn metrics(path: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(path).expect("metrics.json exists");
        serde_json::from_str(&text).expect("metrics.json is JSON")
    }

    const WEATHER: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/seattle-weather.csv"
    );

    #[test]
    fn feature_columns_are_read_recorded_and_forecast_again() {
        let work = tempfile::tempdir().expect("temporary directory");
        let run = work.path().join("weather");
        let run_arg = run.to_str().expect("UTF-8 temp path");
        let train = |features: &str, extra: &[&str]| {
            let mut args = vec![
                "train",
                "--csv",
                WEATHER,
                "--target",
                "temp_max",
                "--features",
                features,
                "--date-column",
                "date",
                "--window",
                "7",
                "--difference",
                "1",
                "--hidden",
                "8",
                "--artifact-dir",
                run_arg,
            ];
            args.extend_from_slice(extra);
            app(&args, work.path())
        };
        let output = train("temp_min,precipitation,wind", &["--epochs", "2"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(
            stdout.contains("(target 'temp_max'; features 'temp_min', 'precipitation', 'wind')"),
            "{stdout}"
        );
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(run.join("config.json")).expect("config.json"),
        )
        .expect("JSON");
        assert_eq!(config["model"]["input_features"], 4);
        let series = &config["data"]["series"];
        assert_eq!(
            series["features"],
            serde_json::json!(["temp_min", "precipitation", "wind"])
        );
        let scalers = series["feature_scalers"]
            .as_array()
            .expect("fitted scalers");
        assert_eq!(scalers.len(), 3);
        // temp_min's scaler is fitted on the rows the model trains on: the training part (the
        // first 70%, 1,023 days) less the first day, which the target's difference uses up.
        let temp_min: Vec<f64> = csv::Reader::from_path(WEATHER)
            .expect("readable")
            .records()
            .map(|r| r.expect("a row")[3].parse().expect("a number"))
            .collect();
        let train_part = &temp_min[1..1023];
        let mean = train_part.iter().sum::<f64>() / train_part.len() as f64;
        let offset = scalers[0]["offset"].as_f64().expect("a number");
        assert!((offset - mean).abs() < 1e-9, "{offset} against {mean}");

        let trained = metrics(&run.join("metrics.json"));
        app_ok(&["forecast", "--artifact-dir", run_arg], work.path());
        assert_eq!(metrics(&run.join("metrics.json")), trained);
        let evaluated = app_ok(&["evaluate", "--artifact-dir", run_arg], work.path());
        assert!(
            evaluated.lines().any(|l| l.starts_with("linear ")),
            "{evaluated}"
        );

        // A resume must read the same columns; an unknown column is one line.
        let output = train("temp_min,wind", &["--epochs", "3", "--resume"]);
        assert_clean_error(&output, "data.series.features");
        let output = train("temp_min,gust", &["--epochs", "2"]);
        assert_clean_error(
            &output,
            "no column 'gust'; the columns are: date, precipitation",
        );
        let output = train("temp_max", &["--epochs", "2"]);
        assert_clean_error(&output, "column 'temp_max' is asked for twice");
        assert_eq!(
            text(&output.stderr).lines().count(),
            1,
            "{}",
            text(&output.stderr)
        );
    }

    /// 120 days of sales that rise by 5 on promotion days and with the weekday.
    fn sales_csv() -> String {
        let mut text = String::from("date,sales,promo\n");
        for day in 0..120u32 {
            let promo = u32::from(day % 9 == 4);
            let sales =
                20.0 + 5.0 * f64::from(promo) + f64::from(day % 7) + f64::from(day % 3) * 0.5;
            let (month, dom) = match day {
                0..=30 => (1, day + 1),
                31..=59 => (2, day - 30),
                60..=90 => (3, day - 59),
                _ => (4, day - 90),
            };
            text.push_str(&format!("2020-{month:02}-{dom:02},{sales},{promo}\n"));
        }
        text
    }

    #[test]
    fn future_features_and_calendar_are_read_ahead_and_forecast_with_a_future_file() {
        let work = tempfile::tempdir().expect("temporary directory");
        std::fs::write(work.path().join("sales.csv"), sales_csv()).expect("writable");
        let run = |extra: &[&str]| {
            let mut args = vec![
                "train",
                "--csv",
                "sales.csv",
                "--target",
                "sales",
                "--date-column",
                "date",
                "--horizon",
                "2",
                "--window",
                "7",
                "--hidden",
                "8",
                "--epochs",
                "2",
                "--artifact-dir",
                "run",
            ];
            args.extend_from_slice(extra);
            app(&args, work.path())
        };
        let output = run(&["--future-features", "promo", "--calendar", "weekday"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(
            stdout.contains("(target 'sales'; future features 'promo'; calendar weekday)"),
            "{stdout}"
        );
        assert!(
            stdout.contains("app forecast --artifact-dir run --future-csv FILE"),
            "{stdout}"
        );
        let dir = work.path().join("run");
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("config.json")).expect("config.json"),
        )
        .expect("JSON");
        // sales, promo, the weekday's sine and cosine, and the flag of the horizon's steps.
        assert_eq!(config["model"]["input_features"], 5);
        assert_eq!(
            config["data"]["series"]["future_features"],
            serde_json::json!(["promo"])
        );
        assert_eq!(
            config["data"]["series"]["calendar"],
            serde_json::json!(["weekday"])
        );
        // Plotting and evaluating need no future values: they draw and score the test part.
        app_ok(&["plot", "--artifact-dir", "run"], work.path());
        assert!(is_png(&dir.join("forecast.png")));
        let evaluated = app_ok(&["evaluate", "--artifact-dir", "run"], work.path());
        assert!(
            evaluated.lines().any(|l| l.starts_with("linear ")),
            "{evaluated}"
        );

        let forecast = |extra: &[&str]| {
            let mut args = vec!["forecast", "--artifact-dir", "run"];
            args.extend_from_slice(extra);
            app(&args, work.path())
        };
        let output = forecast(&[]);
        assert_clean_error(
            &output,
            "forecasting the 2 value(s) after the end of the series needs the values of 'promo' \
             for them: give them with --future-csv FILE, a CSV file with those columns whose \
             first 2 row(s) are the steps after the end",
        );
        assert_eq!(text(&output.stdout), "");
        std::fs::write(work.path().join("one.csv"), "promo\n1\n").expect("writable");
        assert_clean_error(
            &forecast(&["--future-csv", "one.csv"]),
            "needs 2 row(s) of 'promo' after it, and the future values given have 1",
        );
        std::fs::write(work.path().join("rain.csv"), "rain\n1\n0\n").expect("writable");
        assert_clean_error(
            &forecast(&["--future-csv", "rain.csv"]),
            "rain.csv: no column 'promo'; the columns are: rain",
        );
        std::fs::write(
            work.path().join("ahead.csv"),
            "date,promo\n2020-04-30,1\n2020-05-01,0\n",
        )
        .expect("writable");
        let output = forecast(&["--future-csv", "ahead.csv"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(text(&output.stdout).contains("Next 2 value(s) after the end: "));
        let table = std::fs::read_to_string(dir.join("forecast.csv")).expect("forecast.csv");
        assert!(table.contains(",+1,") && table.contains(",+2,"), "{table}");

        // A resume must read the same calendar.
        let output = run(&[
            "--future-features",
            "promo",
            "--calendar",
            "month",
            "--resume",
        ]);
        assert_clean_error(&output, "data.series.calendar");
    }

    #[test]
    fn calendar_mistakes_are_one_line_and_make_nothing() {
        let work = tempfile::tempdir().expect("temporary directory");
        std::fs::write(work.path().join("sales.csv"), sales_csv()).expect("writable");
        let mut bad = sales_csv();
        bad = bad.replacen("2020-01-02", "Jan 2", 1);
        std::fs::write(work.path().join("bad.csv"), bad).expect("writable");
        let cases: &[(&[&str], &str)] = &[
            (
                &["--csv", "sales.csv", "--calendar", "weekday"],
                "calendar inputs are computed from the dates, and the run has no date column: give \
                 --date-column",
            ),
            (
                &[
                    "--csv",
                    "sales.csv",
                    "--date-column",
                    "date",
                    "--calendar",
                    "weekday,weekday",
                ],
                "calendar input weekday is asked for twice",
            ),
            (
                &[
                    "--csv",
                    "bad.csv",
                    "--date-column",
                    "date",
                    "--calendar",
                    "month",
                ],
                "bad.csv, line 3, column 'date': 'Jan 2' is not a date; the forms understood are \
                 1962-12-03, 2012/01/01, 1949-01",
            ),
            (
                &["--csv", "sales.csv", "--future-features", "sales"],
                "column 'sales' is asked for twice",
            ),
            (
                &[
                    "--csv",
                    "sales.csv",
                    "--features",
                    "promo",
                    "--future-features",
                    "promo",
                ],
                "column 'promo' is asked for twice",
            ),
            (
                &["--csv", "sales.csv", "--future-features", "holiday"],
                "no column 'holiday'; the columns are: date, sales, promo",
            ),
        ];
        for (flags, expected) in cases {
            let mut args = vec!["train", "--target", "sales", "--epochs", "1"];
            args.extend_from_slice(flags);
            let output = app(&args, work.path());
            assert_clean_error(&output, expected);
            assert_eq!(text(&output.stderr).lines().count(), 1, "{flags:?}");
            assert_eq!(text(&output.stdout), "", "{flags:?}");
            assert!(!work.path().join("artifacts").exists(), "{flags:?}");
        }
        // A run without future features needs no file of them.
        app_ok(
            &[
                "train",
                "--csv",
                "sales.csv",
                "--target",
                "sales",
                "--epochs",
                "1",
                "--hidden",
                "4",
            ],
            work.path(),
        );
        std::fs::write(work.path().join("ahead.csv"), "promo\n1\n").expect("writable");
        assert_clean_error(
            &app(&["forecast", "--future-csv", "ahead.csv"], work.path()),
            "the run reads no future features, so it needs no file of future values: leave out \
             --future-csv",
        );
    }

    #[test]
    fn quantile_runs_report_coverage_columns_and_bands() {
        let work = tempfile::tempdir().expect("temporary directory");
        let run = work.path().join("air");
        let run_arg = run.to_str().expect("UTF-8 temp path");
        let train = |quantiles: &str, extra: &[&str]| {
            let mut args = vec![
                "train",
                "--csv",
                AIR,
                "--column",
                "passengers",
                "--date-column",
                "month",
                "--season",
                "12",
                "--horizon",
                "3",
                "--hidden",
                "8",
                "--quantiles",
                quantiles,
                "--artifact-dir",
                run_arg,
            ];
            args.extend_from_slice(extra);
            app(&args, work.path())
        };
        let output = train("0.9,0.1", &["--epochs", "2"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(stdout.contains("quantiles 0.1 0.5 0.9"), "{stdout}");
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("model 0.8") && l.contains("80.0%")),
            "{stdout}"
        );
        assert!(stdout.contains("mean pinball loss"), "{stdout}");

        let trained = metrics(&run.join("metrics.json"));
        let coverage = trained["model"]["coverage"]["0.8"]
            .as_f64()
            .expect("coverage");
        let width = trained["model"]["width"]["0.8"].as_f64().expect("width");
        assert!(trained["model"]["pinball"]
            .as_f64()
            .is_some_and(|p| p > 0.0));
        assert!(trained["linear"].get("coverage").is_none(), "{trained}");

        let stdout = app_ok(&["forecast", "--artifact-dir", run_arg], work.path());
        assert!(stdout.contains("\n  80% interval: "), "{stdout}");
        assert_eq!(metrics(&run.join("metrics.json")), trained);
        // The table holds one column per level, ordered, the median as the forecast; the
        // coverage and width are those of its test rows.
        let mut table = csv::Reader::from_path(run.join("forecast.csv")).expect("forecast.csv");
        let header: Vec<String> = table
            .headers()
            .expect("a header")
            .iter()
            .map(String::from)
            .collect();
        assert_eq!(
            header[4..],
            [
                "forecast",
                "naive",
                "seasonal_naive",
                "linear",
                "q0.1",
                "q0.5",
                "q0.9"
            ]
        );
        let (mut inside, mut spread, mut test_rows) = (0, 0.0, 0);
        for row in table.records() {
            let row = row.expect("a row");
            let number = |column: usize| row[column].parse::<f64>().expect("a number");
            let (low, median, high) = (number(8), number(9), number(10));
            assert!(low <= median && median <= high, "{row:?}");
            assert_eq!(number(4), median, "the point forecast is the median");
            if let Ok(actual) = row[3].parse::<f64>() {
                test_rows += 1;
                inside += usize::from(low <= actual && actual <= high);
                spread += high - low;
            }
        }
        assert_eq!(test_rows, 27 * 3, "27 test origins of 3 steps");
        assert!((coverage - inside as f64 / test_rows as f64).abs() < 1e-12);
        assert!((width - spread / test_rows as f64).abs() < 1e-6 * width);
        assert!(is_png(&run.join("forecast.png")));

        app_ok(&["forecast", "--artifact-dir", run_arg], work.path());
        assert_eq!(metrics(&run.join("metrics.json")), trained);

        let output = train("0.25,0.75", &["--epochs", "3", "--resume"]);
        assert_clean_error(
            &output,
            "model.quantiles was [0.1,0.5,0.9] in the saved run",
        );
        for (levels, expected) in [
            (
                "0.1,1.5",
                "quantile 1.5 is not between 0 and 1 (both excluded)",
            ),
            ("0.2,0.2", "quantile 0.2 is asked for twice"),
            ("0", "quantile 0 is not between 0 and 1 (both excluded)"),
        ] {
            let output = train(levels, &["--epochs", "1"]);
            assert_clean_error(&output, expected);
            assert_eq!(text(&output.stderr).lines().count(), 1, "{levels}");
        }
    }

    #[test]
    fn backtest_prints_its_folds_and_tables_and_writes_its_files() {
        let work = tempfile::tempdir().expect("temporary directory");
        let run = work.path().join("bt");
        let run_arg = run.to_str().expect("UTF-8 temp path");
        let backtest = |extra: &[&str]| {
            let mut args = vec![
                "backtest",
                "--csv",
                AIR,
                "--column",
                "passengers",
                "--date-column",
                "month",
                "--season",
                "12",
                "--horizon",
                "2",
                "--hidden",
                "6",
                "--epochs",
                "2",
                "--artifact-dir",
                run_arg,
            ];
            args.extend_from_slice(extra);
            app(&args, work.path())
        };
        let output = backtest(&["--start", "1959-01", "--refit-every", "8", "--stride", "2"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let stdout = text(&output.stdout);
        // Origins 1959-01 to 1960-11 two months apart: 12, in folds of 8 and 4.
        assert!(
            stdout.contains("fold 1/2: trained on the 120 values before 1959-01 (2 epochs,"),
            "{stdout}"
        );
        assert!(
            stdout.contains("forecast 4 origin(s) from 1960-05 to 1960-11"),
            "{stdout}"
        );
        assert!(
            stdout.contains("Backtest: 12 forecasts of 2 step(s) from 1959-01 on"),
            "{stdout}"
        );
        for row in [
            "model ",
            "naive ",
            "seasonal naive ",
            "linear ",
            "step 1 ",
            "step 2 ",
        ] {
            assert!(
                stdout.lines().any(|l| l.starts_with(row)),
                "{row}: {stdout}"
            );
        }
        let mut table = csv::Reader::from_path(run.join("backtest.csv")).expect("backtest.csv");
        let header: Vec<String> = table
            .headers()
            .expect("a header")
            .iter()
            .map(String::from)
            .collect();
        assert_eq!(
            header,
            [
                "fold",
                "origin",
                "step",
                "date",
                "actual",
                "forecast",
                "naive",
                "seasonal_naive",
                "linear"
            ]
        );
        let rows: Vec<csv::StringRecord> = table.records().map(|r| r.expect("a row")).collect();
        assert_eq!(rows.len(), 12 * 2);
        let first = |row: &csv::StringRecord| row.iter().take(4).collect::<Vec<_>>().join(",");
        assert_eq!(first(&rows[0]), "1,1958-12,1,1959-01");
        assert_eq!(first(&rows[23]), "2,1960-10,2,1960-12");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(run.join("backtest.json")).expect("backtest.json"),
        )
        .expect("JSON");
        assert_eq!(report["folds"].as_array().map(Vec::len), Some(2));
        assert_eq!(report["per_step"].as_array().map(Vec::len), Some(2));
        assert_eq!(report["overall"]["forecasts"], 12);
        assert!(is_png(&run.join("backtest.png")));

        for (extra, expected) in [
            (
                &["--start", "1960-12"][..],
                "the backtest starts at row 143, and a forecast of 2 step(s) from there runs past",
            ),
            (
                &["--start", "0.05"][..],
                "backtest fold 1 (origins from 1949-08 on): the series 'passengers' (144 values) \
                 is too short: the training part has 0 values",
            ),
            (
                &["--start", "1999-01"][..],
                "no date '1999-01' in the date column, which runs from 1949-01 to 1960-12",
            ),
            (
                &["--resume"][..],
                "backtest trains new models; --resume does not apply",
            ),
        ] {
            let output = backtest(extra);
            assert_clean_error(&output, expected);
            assert_eq!(text(&output.stderr).lines().count(), 1, "{extra:?}");
        }
        let output = app(&["backtest", "--start", "0.8"], work.path());
        assert_clean_error(
            &output,
            "backtest needs a series: give --csv FILE and --column COL",
        );
    }

    #[test]
    fn train_on_a_csv_then_forecast_and_plot() {
        let work = tempfile::tempdir().expect("temporary directory");
        let run = work.path().join("air");
        let run_arg = run.to_str().expect("UTF-8 temp path");
        let stdout = app_ok(
            &[
                "train",
                "--csv",
                AIR,
                "--column",
                "passengers",
                "--date-column",
                "month",
                "--season",
                "12",
                "--epochs",
                "2",
                "--artifact-dir",
                run_arg,
            ],
            work.path(),
        );
        // Validation is on by default: each epoch line carries its validation loss.
        assert_eq!(
            stdout.lines().filter(|l| l.contains("valid_loss")).count(),
            2,
            "{stdout}"
        );
        assert!(
            stdout.contains("Test part: 29 forecasts of 1 step(s) from 1958-08 on"),
            "{stdout}"
        );
        let trained = metrics(&run.join("metrics.json"));
        for forecaster in ["model", "linear", "naive", "seasonal_naive"] {
            for measure in ["rmse", "mae", "mape", "smape"] {
                let value = trained[forecaster][measure].as_f64();
                assert!(
                    value.is_some_and(f64::is_finite),
                    "{forecaster}.{measure}: {trained}"
                );
            }
        }
        // Hand-checked baselines on all 29 test months, 1958-08 to 1960-12: persistence and
        // last year (every test value is a target, its inputs read from before the test part).
        let naive = trained["naive"]["rmse"].as_f64().expect("a number");
        let seasonal = trained["seasonal_naive"]["rmse"]
            .as_f64()
            .expect("a number");
        assert!(
            (naive - 52.491).abs() < 1e-3 && (seasonal - 46.082).abs() < 1e-3,
            "{trained}"
        );

        let stdout = app_ok(&["forecast", "--artifact-dir", run_arg], work.path());
        assert!(
            stdout.contains("Next 1 value(s) after the end:"),
            "{stdout}"
        );
        assert_eq!(
            metrics(&run.join("metrics.json")),
            trained,
            "forecast reproduces train's test"
        );
        let table = std::fs::read_to_string(run.join("forecast.csv")).expect("forecast.csv");
        let mut lines = table.lines();
        assert_eq!(
            lines.next(),
            Some("origin,step,date,actual,forecast,naive,seasonal_naive,linear")
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 30, "29 test forecasts and 1 after the end");
        assert!(
            rows[0].starts_with("1958-07,1,1958-08,505.0,"),
            "{}",
            rows[0]
        );
        assert!(rows[29].starts_with("1960-12,1,+1,,"), "{}", rows[29]);
        assert!(is_png(&run.join("forecast.png")));

        app_ok(&["plot", "--artifact-dir", run_arg], work.path());
        assert!(is_png(&run.join("loss.png")));
    }

    #[test]
    fn every_bad_csv_is_one_clear_line() {
        let work = tempfile::tempdir().expect("temporary directory");
        let short: String = std::iter::once("v".to_string())
            .chain((0..12).map(|i| i.to_string()))
            .collect::<Vec<_>>()
            .join("\n");
        let cases: &[(&str, &str, &str)] = &[
            ("empty.csv", "", "empty.csv is empty"),
            (
                "header.csv",
                "t,v\n",
                "header.csv has a header but no data rows",
            ),
            (
                "ragged.csv",
                "t,v\n1,2\n3\n",
                "ragged.csv, line 3: 1 cells where the first row has 2",
            ),
            (
                "text.csv",
                "t,v\n1,2\n2,abc\n",
                "text.csv, line 3, column 'v': 'abc' is not a number",
            ),
            (
                "nan.csv",
                "t,v\n1,2\n2,NaN\n",
                "nan.csv, line 3, column 'v': NaN value; repair with --fill",
            ),
            (
                "inf.csv",
                "t,v\n1,2\n2,inf\n",
                "inf.csv, line 3, column 'v': infinite value",
            ),
            (
                "hole.csv",
                "t,v\n1,2\n2,\n",
                "hole.csv, line 3, column 'v': empty value",
            ),
            (
                "short.csv",
                short.as_str(),
                "the series 'v' (12 values) is too short: the training part has 9 values",
            ),
        ];
        for (name, content, expected) in cases {
            std::fs::write(work.path().join(name), content).expect("writable");
            let output = app(
                &["train", "--csv", name, "--column", "v", "--epochs", "1"],
                work.path(),
            );
            assert_clean_error(&output, expected);
            assert_eq!(text(&output.stderr).lines().count(), 1, "{name}: one line");
            if *name != "short.csv" {
                // Read before anything is printed or made (the length is checked later).
                assert_eq!(text(&output.stdout), "", "{name}");
                assert!(!work.path().join("artifacts").exists(), "{name}");
            }
        }
        let output = app(
            &["train", "--csv", "missing.csv", "--column", "v"],
            work.path(),
        );
        assert_clean_error(&output, "cannot read");
        assert_clean_error(&output, "missing.csv");
        // The OS error once, not once more as the message's cause.
        let stderr = text(&output.stderr);
        assert_eq!(stderr.matches("(os error").count(), 1, "{stderr}");
        std::fs::create_dir(work.path().join("folder.csv")).expect("creatable");
        let output = app(
            &["train", "--csv", "folder.csv", "--column", "v"],
            work.path(),
        );
        let stderr = text(&output.stderr);
        assert_clean_error(&output, "folder.csv");
        assert_eq!(stderr.matches("(os error").count(), 1, "{stderr}");
        let output = app(
            &["train", "--csv", "text.csv", "--column", "w"],
            work.path(),
        );
        assert_clean_error(&output, "no column 'w'; the columns are: t, v");
    }

    #[test]
    fn transforms_that_cannot_apply_are_one_clear_line() {
        let work = tempfile::tempdir().expect("temporary directory");
        let mut content = String::from("day,v\n");
        for i in 0..60 {
            let value = if i == 40 { 0.0 } else { 10.0 + f64::from(i) };
            content.push_str(&format!("d{i},{value}\n"));
        }
        std::fs::write(work.path().join("zero.csv"), content).expect("writable");
        let base = [
            "train",
            "--csv",
            "zero.csv",
            "--column",
            "v",
            "--date-column",
            "day",
        ];
        for transform in ["log", "box-cox"] {
            let args: Vec<&str> = base
                .iter()
                .copied()
                .chain(["--transform", transform])
                .collect();
            let output = app(&args, work.path());
            assert_clean_error(
                &output,
                &format!(
                    "the {transform} transform needs positive values, and 'v' is 0 at row 41 \
                     (d40); use --transform none"
                ),
            );
            assert_eq!(text(&output.stderr).lines().count(), 1, "one line");
            assert!(!work.path().join("artifacts/model.mpk").exists());
        }
        let args: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--seasonal-difference"])
            .collect();
        assert_clean_error(
            &app(&args, work.path()),
            "--seasonal-difference needs --season",
        );
        // Auto leaves a series with a zero untransformed and trains.
        let args: Vec<&str> = base.iter().copied().chain(["--epochs", "1"]).collect();
        let stdout = app_ok(&args, work.path());
        assert!(
            stdout.contains("Transform: no power transform (auto: a value is not positive"),
            "{stdout}"
        );
    }

    #[test]
    fn a_semicolon_separated_file_is_read_and_said_so() {
        let work = tempfile::tempdir().expect("temporary directory");
        let air = std::fs::read_to_string(AIR).expect("AirPassengers");
        std::fs::write(work.path().join("semi.csv"), air.replace(',', ";")).expect("writable");
        let stdout = app_ok(
            &[
                "train",
                "--csv",
                "semi.csv",
                "--column",
                "passengers",
                "--epochs",
                "1",
            ],
            work.path(),
        );
        assert!(
            stdout.contains("semi.csv with ';' between fields"),
            "{stdout}"
        );
        assert!(stdout.contains("Test part: 29 forecasts"), "{stdout}");
    }

    #[test]
    fn fill_repairs_what_would_be_refused() {
        let work = tempfile::tempdir().expect("temporary directory");
        let mut content = String::from("v\n");
        for i in 0..60 {
            content.push_str(if i == 30 { "NaN\n" } else { "1.5\n" });
        }
        std::fs::write(work.path().join("gap.csv"), content).expect("writable");
        let args = [
            "train", "--csv", "gap.csv", "--column", "v", "--window", "3", "--epochs", "1",
        ];
        assert_clean_error(&app(&args, work.path()), "line 32, column 'v': NaN value");
        let repaired: Vec<&str> = args.iter().copied().chain(["--fill", "linear"]).collect();
        app_ok(&repaired, work.path());
    }

    #[test]
    fn forecast_needs_a_series_run() {
        let work = tempfile::tempdir().expect("temporary directory");
        app_ok(&["train", "--epochs", "1", "--samples", "8"], work.path());
        let output = app(&["forecast"], work.path());
        assert_clean_error(&output, "trained on the synthetic data, not a series");
    }
}

#[cfg(unix)]
#[test]
fn paths_that_are_not_utf8_work_and_are_named_in_errors() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let work = tempfile::tempdir().expect("temporary directory");
    let odd = OsStr::from_bytes(b"run-\xff");
    let run = |args: &[&OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_app"))
            .args(args)
            .current_dir(work.path())
            .output()
            .expect("the app binary should start")
    };
    let flag = |text: &'static str| OsStr::new(text);
    // Reading a run that is not there names the directory, with the odd byte replaced.
    let output = run(&[flag("evaluate"), flag("--artifact-dir"), odd]);
    assert_clean_error(&output, "no trained model in run-\u{FFFD}");
    let output = run(&[
        flag("train"),
        flag("--csv"),
        odd,
        flag("--column"),
        flag("0"),
    ]);
    assert_clean_error(&output, "run-\u{FFFD}");
    // Such a directory is a valid place for a run.
    let output = run(&[
        flag("train"),
        flag("--epochs"),
        flag("2"),
        flag("--samples"),
        flag("8"),
        flag("--artifact-dir"),
        odd,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = run(&[flag("evaluate"), flag("--artifact-dir"), odd]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("Loss: "));
}
