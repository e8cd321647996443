//! The library as a Rust user calls it: training from code writes nothing unless asked, runs
//! saved from code and from the command line are the same format, observers see every epoch and
//! a stop handle stops a run, and errors are typed.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use app::data::{ColumnRef, SyntheticConfig};
use app::{
    EpochRecord, Error, RunConfig, SavedRun, SeriesConfig, StopHandle, StopReason, Training,
    TrainingConfig, TrainingObserver,
};
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;

type B = Autodiff<NdArray>;

/// A small synthetic run: 20 sequences of 5 steps, 8 units, `epochs` epochs.
fn small(epochs: usize) -> RunConfig {
    RunConfig::synthetic(SyntheticConfig::new().with_samples(20).with_steps(5))
        .with_model(model::RecurrentRegressorConfig::new().with_hidden(8))
        .with_training(TrainingConfig::new().with_epochs(epochs).with_batch_size(8))
}

#[test]
fn a_fit_from_code_writes_nothing_and_prints_nothing() {
    let work = tempfile::tempdir().expect("temporary directory");
    // Training from code runs in the caller's directory; nothing may appear there. This is the
    // only test of this binary that looks at the working directory.
    let before = std::env::current_dir().expect("a working directory");
    std::env::set_current_dir(work.path()).expect("enter the temporary directory");
    let run = Training::new(small(3)).run::<B>(&Default::default());
    std::env::set_current_dir(before).expect("leave the temporary directory");
    let run = run.expect("trains");
    assert_eq!(run.report.history.len(), 3);
    assert_eq!(run.report.saved_in, None);
    assert!(run.mse().expect("a complete synthetic run").is_finite());
    let left: Vec<_> = std::fs::read_dir(work.path())
        .expect("listable")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "training wrote {left:?}");
}

/// Runs the command line on `args`; returns its standard output.
fn app(args: &[&str], dir: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_app"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the app binary should start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "app {args:?} failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn mse_of(stdout: &str) -> f64 {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("Loss: "))
        .and_then(|rest| rest.split("(mse ").nth(1))
        .and_then(|mse| mse.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("no Loss: line in {stdout}"))
}

#[test]
fn runs_saved_from_code_and_from_the_command_line_are_one_format() {
    let work = tempfile::tempdir().expect("temporary directory");
    let device = Default::default();

    // From code to the command line.
    let from_code = work.path().join("from-code");
    let trained = Training::new(small(4)).run::<B>(&device).expect("trains");
    trained.save(&from_code).expect("saves");
    let stdout = app(
        &["evaluate", "--artifact-dir", path(&from_code)],
        work.path(),
    );
    let mse = trained.mse().expect("complete");
    assert!(
        (mse_of(&stdout) - mse).abs() <= 1e-3 * mse,
        "{stdout} vs {mse}"
    );

    // From the command line to code.
    let from_cli = work.path().join("from-cli");
    let stdout = app(
        &[
            "train",
            "--samples",
            "20",
            "--steps",
            "5",
            "--hidden",
            "8",
            "--epochs",
            "4",
            "--batch-size",
            "8",
            "--artifact-dir",
            path(&from_cli),
        ],
        work.path(),
    );
    let saved = SavedRun::open(&from_cli).expect("a finished run");
    // The flags and the builders make the same configuration.
    assert_eq!(saved.config(), &small(4));
    let outcome = saved.evaluate::<B>(&device).expect("evaluates");
    let evaluation = outcome.evaluation().expect("a synthetic run");
    assert!(
        (mse_of(&stdout) - evaluation.mse).abs() <= 1e-3 * evaluation.mse,
        "{stdout} vs {}",
        evaluation.mse
    );
    // The same configuration, trained from code on the same backend, gives the same model as the
    // command line, to the bit.
    assert_eq!(trained.mse(), Some(evaluation.mse));
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

/// Records every epoch and pulls the stop handle after `stop_after` of them.
struct StopAfter {
    seen: Arc<Mutex<Vec<usize>>>,
    stop: StopHandle,
    stop_after: usize,
}

impl TrainingObserver for StopAfter {
    fn epoch_completed(&mut self, record: &EpochRecord, epochs: usize) {
        assert_eq!(epochs, 50);
        let mut seen = self.seen.lock().expect("not poisoned");
        seen.push(record.epoch);
        if seen.len() == self.stop_after {
            self.stop.stop();
        }
    }
}

#[test]
fn an_observer_sees_every_epoch_and_a_stop_handle_stops_the_run() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = StopHandle::new();
    let observer = StopAfter {
        seen: seen.clone(),
        stop: stop.clone(),
        stop_after: 3,
    };
    let run = Training::new(small(50))
        .with_observer(observer)
        .with_stop_handle(stop)
        .run::<B>(&Default::default())
        .expect("a stop after complete epochs keeps them");
    // The stop takes effect after the next step: epoch 4 is dropped unfinished.
    assert_eq!(*seen.lock().expect("not poisoned"), vec![1, 2, 3]);
    assert_eq!(run.report.stop, StopReason::Interrupted);
    assert_eq!(run.report.history.len(), 3);
    assert_eq!(run.report.model_epoch, 3);
    assert!(
        run.report.outcome.is_none(),
        "a stopped run is not evaluated"
    );
}

#[test]
fn a_stop_before_the_first_epoch_is_an_error_not_a_model() {
    let stop = StopHandle::new();
    stop.stop();
    let error = Training::new(small(5))
        .with_stop_handle(stop)
        .run::<B>(&Default::default())
        .expect_err("nothing to keep");
    assert!(
        matches!(error, Error::StoppedBeforeFirstEpoch { epochs: 5 }),
        "{error:?}"
    );
}

#[test]
fn errors_are_typed_and_speak_the_librarys_terms() {
    let work = tempfile::tempdir().expect("temporary directory");
    let csv = work.path().join("short.csv");
    std::fs::write(&csv, "v\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n").expect("writable");
    let series = SeriesConfig::new(csv, ColumnRef::Name("v".into())).with_window(8);
    let error = Training::new(RunConfig::series(series))
        .run::<B>(&Default::default())
        .expect_err("too short");
    let Error::SeriesTooShort { len, source, .. } = &error else {
        panic!("expected SeriesTooShort, got {error:?}")
    };
    // The 7 training values cannot hold a window of 8 and its target.
    assert_eq!((*len, source.part), (10, "training"));
    let message = error.to_string();
    assert!(!message.contains("--"), "names a flag: {message}");

    let error = SavedRun::open(work.path().join("nothing")).expect_err("no run");
    assert!(matches!(error, Error::NoRun { .. }), "{error:?}");
    assert!(!error.to_string().contains("app train"), "{error}");

    let mismatched = small(2).with_model(model::RecurrentRegressorConfig::new().with_outputs(3));
    let error = Training::new(mismatched)
        .run::<B>(&Default::default())
        .expect_err("three outputs for one target");
    assert!(
        matches!(
            error,
            Error::ModelDoesNotFitData {
                what: "outputs",
                found: 3,
                expected: 1
            }
        ),
        "{error:?}"
    );
}

const AIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/data/airpassengers.csv"
);

/// AirPassengers with a small model, `epochs` epochs.
fn air(epochs: usize, transform: app::data::TransformRequest) -> RunConfig {
    let series = SeriesConfig::new(AIR.into(), ColumnRef::Name("passengers".into()))
        .with_season(Some(12))
        .with_transform(transform);
    RunConfig::series(series)
        .with_model(
            model::RecurrentRegressorConfig::new()
                .with_hidden(8)
                .with_outputs(1),
        )
        .with_training(TrainingConfig::for_series().with_epochs(epochs))
}

#[test]
fn the_automatic_transform_is_decided_on_the_training_part_and_recorded() {
    let run = Training::new(air(2, app::data::TransformRequest::auto()))
        .run::<B>(&Default::default())
        .expect("trains");
    let app::DataSource::Series(series) = &run.report.config.data else {
        panic!("a series run")
    };
    // AirPassengers' season grows with its level and dominates it; its yearly changes are
    // stationary (statsmodels' KPSS 0.129 on the training part, below 0.463).
    assert_eq!(
        series.fitted_transform.power,
        app::data::PowerTransform::Log
    );
    assert_eq!(series.fitted_transform.seasonal_lag, Some(12));
    assert_eq!(series.fitted_transform.differences, 0);
    let decision = run
        .report
        .transform_decision
        .as_ref()
        .expect("a series run");
    assert!(
        (decision.kpss[0] - 0.128_520_339_837_668).abs() < 1e-9,
        "{decision:?}"
    );
    // Every one of the 29 test months is forecast and scored, in passengers.
    let outcome = run
        .report
        .outcome
        .as_ref()
        .and_then(|o| o.forecast())
        .expect("completed");
    assert_eq!(outcome.metrics.forecasts, 29);
    assert!(outcome
        .forecast
        .predicted
        .iter()
        .flatten()
        .all(|v| (300.0..700.0).contains(v)));
}

#[test]
fn a_resume_with_another_transform_is_refused() {
    let work = tempfile::tempdir().expect("temporary directory");
    let dir = work.path().join("run");
    let auto = app::data::TransformRequest::auto();
    Training::new(air(2, auto))
        .with_artifact_dir(&dir)
        .run::<B>(&Default::default())
        .expect("trains");
    let other = app::data::TransformRequest {
        differences: Some(1),
        ..auto
    };
    let error = Training::new(air(4, other))
        .with_artifact_dir(&dir)
        .with_resume(true)
        .run::<B>(&Default::default())
        .expect_err("another transform");
    let message = format!(
        "{error}: {}",
        std::error::Error::source(&error).map_or(String::new(), |s| s.to_string())
    );
    assert!(message.contains("data.series"), "{message}");
    assert!(message.contains("differences"), "{message}");
    // The same transform continues.
    let resumed = Training::new(air(4, auto))
        .with_artifact_dir(&dir)
        .with_resume(true)
        .run::<B>(&Default::default())
        .expect("resumes");
    assert_eq!(resumed.report.trained, (3, 4));
}

#[test]
fn a_run_saved_before_transforms_existed_still_forecasts_the_same() {
    let work = tempfile::tempdir().expect("temporary directory");
    let dir = work.path().join("run");
    // Such a run had no transform and min-max scaling.
    let identity = app::data::TransformRequest::identity();
    let mut config = air(2, identity);
    if let app::DataSource::Series(series) = &mut config.data {
        *series = series.clone().with_scale(app::data::ScaleKind::MinMax);
    }
    Training::new(config)
        .with_artifact_dir(&dir)
        .run::<B>(&Default::default())
        .expect("trains");
    let now = SavedRun::open(&dir)
        .expect("opens")
        .forecast::<B>(&Default::default(), None)
        .expect("forecasts");
    // Write config.json as format 4 wrote it (no feature columns), then as format 3 did (no
    // transform fields either).
    let path = dir.join("config.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
    for (version, fields) in [
        (4, &["features", "feature_scalers"][..]),
        (3, &["transform", "fitted_transform"][..]),
    ] {
        json["format_version"] = version.into();
        let series = json["data"]["series"]
            .as_object_mut()
            .expect("a series run");
        for field in fields {
            series.remove(*field);
        }
        std::fs::write(&path, json.to_string()).expect("writable");
        let old = SavedRun::open(&dir).unwrap_or_else(|e| panic!("format {version}: {e}"));
        let forecast = old
            .forecast::<B>(&Default::default(), None)
            .expect("forecasts");
        assert_eq!(forecast.forecast.predicted, now.forecast.predicted);
        assert_eq!(forecast.metrics, now.metrics);
    }
}

#[test]
fn the_tutorial_is_unchanged_by_the_series_defaults() {
    // The Keras tutorial, 100 epochs on the seed data: the synthetic defaults are the
    // tutorial's (batch 32, no early stopping), and its evaluation is the one every earlier
    // version printed, `Loss: 0.0001 (mse 5.970e-5)`.
    let config = RunConfig::tutorial();
    assert_eq!(
        (config.training.batch_size, config.training.early_stopping),
        (32, None)
    );
    let run = Training::new(config)
        .run::<B>(&Default::default())
        .expect("trains");
    let mse = run.mse().expect("a complete synthetic run");
    assert!((mse - 5.970e-5).abs() < 5e-9, "mse {mse:e}");
}

#[test]
fn the_linear_baseline_matches_numpy_and_scikit_learn() {
    // tests/fixtures/make_linear_reference.py fits the same regressions with numpy's lstsq and
    // scikit-learn's Ridge on AirPassengers (log, seasonal difference, standard scaling,
    // window 12, horizon 3) and turns the forecasts back into passengers.
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/linear_reference.json")).expect("JSON");
    let transform = app::data::TransformRequest {
        power: app::data::PowerChoice::Log,
        differences: Some(0),
        seasonal_difference: Some(true),
    };
    let mut config = SeriesConfig::new(AIR.into(), ColumnRef::Name("passengers".into()))
        .with_season(Some(12))
        .with_window(12)
        .with_horizon(3)
        .with_transform(transform);
    let series = app::forecast::read_series(&config, Path::new(AIR)).expect("readable");
    config.fitted_transform = app::forecast::decide_transform(&series, &config)
        .expect("positive")
        .0;
    config.scaler = app::forecast::fit_scaler(&series, &config);
    let prepared = app::forecast::PreparedSeries::new(series, &config).expect("long enough");
    assert_eq!(prepared.train_items().len(), 75);
    for (ridge, name) in [(None, "ols"), (Some(1.0), "ridge_alpha_1")] {
        let linear = app::forecast::linear_forecast(&prepared, ridge);
        let expected = &reference[name];
        let number = |v: &serde_json::Value| v.as_f64().expect("a number");
        let rows = expected["forecasts"].as_array().expect("rows");
        assert_eq!(
            linear.predicted.len(),
            rows.len(),
            "{name}: every test origin"
        );
        assert_eq!(linear.origins[0], 115);
        let pairs = linear
            .predicted
            .iter()
            .zip(rows)
            .chain([(&linear.future, &expected["future"])]);
        for (ours, theirs) in pairs {
            let theirs = theirs.as_array().expect("steps");
            assert_eq!(ours.len(), theirs.len());
            for (a, b) in ours.iter().zip(theirs) {
                let b = number(b);
                assert!((a - b).abs() <= 1e-8 * b.abs(), "{name}: {a} against {b}");
            }
        }
    }
}
