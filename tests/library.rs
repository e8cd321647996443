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
    // Write config.json as format 6 wrote it (no inputs known ahead), then as format 5 did (no
    // quantiles either), then as format 4 did (no feature columns either), then as format 3 did
    // (no transform fields either).
    let path = dir.join("config.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
    for (version, object, fields) in [
        (6, "/data/series", &["future_features", "calendar"][..]),
        (5, "/model", &["quantiles"][..]),
        (4, "/data/series", &["features", "feature_scalers"][..]),
        (3, "/data/series", &["transform", "fitted_transform"][..]),
    ] {
        json["format_version"] = version.into();
        let object = json
            .pointer_mut(object)
            .and_then(|o| o.as_object_mut())
            .expect("a series run");
        for field in fields {
            assert!(object.remove(*field).is_some(), "format 7 writes {field}");
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

#[test]
fn quantiles_learn_the_spread_of_the_noise_from_code() {
    use rand::{RngExt, SeedableRng};
    // Independent uniform noise on [0, 1]: its past says nothing about its next value, whose
    // 0.1 and 0.9 quantiles are 0.1 and 0.9, so an 80% interval should hold about 80% of the
    // test values whatever the window.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let values: Vec<f64> = (0..1200).map(|_| rng.random::<f64>()).collect();
    let series = app::data::TimeSeries {
        name: "noise".into(),
        values,
        features: Vec::new(),
        dates: None,
        times: None,
        delimiter: b',',
    };
    let config = RunConfig::series(
        SeriesConfig::new("noise.csv".into(), ColumnRef::Index(0))
            .with_window(4)
            .with_transform(app::data::TransformRequest::identity()),
    )
    .with_model(model::RecurrentRegressorConfig::new().with_hidden(8))
    .with_training(
        TrainingConfig::for_series()
            .with_epochs(30)
            .with_batch_size(64),
    )
    .with_quantiles(vec![0.9, 0.1]);
    assert_eq!(config.quantiles(), [0.1, 0.5, 0.9]);
    assert_eq!(config.model.outputs, 3);
    let run = Training::new(config)
        .with_series(series)
        .run::<B>(&Default::default())
        .expect("trains");
    let outcome = run
        .report
        .outcome
        .as_ref()
        .and_then(|o| o.forecast())
        .expect("a series run");
    let quantiles = outcome.forecast.quantiles.as_ref().expect("quantiles");
    assert_eq!(quantiles.levels, [0.1, 0.5, 0.9]);
    for (levels, median) in quantiles.predicted.iter().zip(&outcome.forecast.predicted) {
        assert!(levels[0][0] <= levels[1][0] && levels[1][0] <= levels[2][0]);
        assert_eq!(&levels[1], median, "the point forecast is the median");
    }
    let model = &outcome.metrics.model;
    let coverage = model.coverage.as_ref().expect("coverage")["0.8"];
    let width = model.width.as_ref().expect("width")["0.8"];
    assert!((0.7..=0.9).contains(&coverage), "coverage {coverage}");
    assert!((0.65..=0.95).contains(&width), "width {width} against 0.8");
    let future = &quantiles.future;
    assert!((0.0..0.25).contains(&future[0][0]), "{future:?}");
    assert!((0.75..1.0).contains(&future[2][0]), "{future:?}");
    assert!(outcome.metrics.linear.coverage.is_none());
}

/// AirPassengers read as a series run of `window` 12 and `horizon` 3, small and quick to train.
fn air_backtest_config() -> (RunConfig, app::data::TimeSeries) {
    let series = SeriesConfig::new(AIR.into(), ColumnRef::Name("passengers".into()))
        .with_date_column(Some(ColumnRef::Name("month".into())))
        .with_season(Some(12))
        .with_horizon(3);
    let values = app::forecast::read_series(&series, Path::new(AIR)).expect("readable");
    let config = RunConfig::series(series)
        .with_model(
            model::RecurrentRegressorConfig::new()
                .with_hidden(6)
                .with_outputs(3),
        )
        .with_training(TrainingConfig::for_series().with_epochs(3));
    (config, values)
}

#[test]
fn each_backtest_fold_sees_only_its_past() {
    use app::{Backtest, BacktestConfig, BacktestStart};
    let (config, values) = air_backtest_config();
    let plan = BacktestConfig::new(BacktestStart::Date("1958-01".into()))
        .with_stride(2)
        .with_refit_every(Some(4));
    let run = |values: app::data::TimeSeries| {
        Backtest::new(config.clone(), plan.clone())
            .with_series(values)
            .run::<B>(&Default::default())
            .expect("backtests")
    };
    let reference = run(values.clone());
    // 1958-01 is row 108; origins 108, 110, ..., 140 (the last whose 3 targets fit in 144).
    let origins: Vec<usize> = (108..=141).step_by(2).collect();
    assert_eq!(reference.forecast.origins, origins);
    let folds: Vec<&[usize]> = reference.folds.iter().map(|f| &f.origins[..]).collect();
    assert_eq!(folds, origins.chunks(4).collect::<Vec<_>>());
    for fold in &reference.folds {
        assert_eq!(fold.trained_on, fold.origins[0], "expanding window");
    }

    // Change every value from the third fold's first origin on: the folds before it, and that
    // fold's first forecast (whose inputs and training data all lie before the change), stay
    // bit for bit the same; later origins must move.
    let changed_from = reference.folds[2].origins[0];
    let mut changed = values;
    for value in &mut changed.values[changed_from..] {
        *value *= 1.5;
    }
    let after = run(changed);
    for (((&origin, a), b), (linear_a, linear_b)) in reference
        .forecast
        .origins
        .iter()
        .zip(&reference.forecast.predicted)
        .zip(&after.forecast.predicted)
        .zip(
            reference
                .linear
                .predicted
                .iter()
                .zip(&after.linear.predicted),
        )
    {
        if origin <= changed_from {
            assert_eq!(a, b, "origin {origin} saw a value from {changed_from} on");
            assert_eq!(linear_a, linear_b, "linear, origin {origin}");
        } else {
            assert_ne!(a, b, "origin {origin} should see the change");
        }
    }

    // The overall scores are the steps' scores pooled; the naive baseline is the last value
    // before each origin.
    let pooled: f64 = reference
        .per_step
        .iter()
        .map(|step| step.model.rmse.powi(2))
        .sum::<f64>()
        / 3.0;
    assert!((pooled.sqrt() - reference.overall.model.rmse).abs() < 1e-9);
    let passengers = &reference.series.values;
    let naive_step_3: f64 = origins
        .iter()
        .map(|&o| (passengers[o + 2] - passengers[o - 1]).abs())
        .sum::<f64>()
        / origins.len() as f64;
    assert!((reference.per_step[2].naive.mae - naive_step_3).abs() < 1e-9);
    assert_eq!(reference.overall.forecasts, origins.len());
}

#[test]
fn a_backtest_trained_once_forecasts_every_origin_with_one_model() {
    use app::{Backtest, BacktestConfig, BacktestStart};
    let (config, values) = air_backtest_config();
    let outcome = Backtest::new(
        config.clone(),
        BacktestConfig::new(BacktestStart::Fraction(0.9)),
    )
    .with_series(values.clone())
    .run::<B>(&Default::default())
    .expect("backtests");
    // round(144 · 0.9) = 130: origins 130 to 141.
    assert_eq!(outcome.folds.len(), 1);
    assert_eq!(outcome.forecast.origins, (130..=141).collect::<Vec<_>>());
    assert_eq!(outcome.folds[0].trained_on, 130);
    assert_eq!(outcome.per_step.len(), 3);
    // It is `train` with the last 10% as its test part: the same model, the same scores.
    let mut config = config;
    if let app::DataSource::Series(series) = &mut config.data {
        series.test_fraction = 0.1;
    }
    let trained = Training::new(config)
        .with_series(values)
        .run::<B>(&Default::default())
        .expect("trains");
    let metrics = &trained
        .report
        .outcome
        .as_ref()
        .and_then(|o| o.forecast())
        .expect("a series run")
        .metrics;
    assert_eq!(metrics, &outcome.overall);
}

#[test]
fn inputs_known_ahead_from_code_forecast_past_the_end_with_their_future_values() {
    // Monthly passengers with a made-up "event" column known ahead, and the month's calendar.
    let text = std::fs::read_to_string(AIR).expect("the shipped data");
    let mut csv = String::from("month,passengers,event\n");
    for (row, line) in text.lines().skip(1).enumerate() {
        csv.push_str(&format!("{line},{}\n", u8::from(row % 5 == 0)));
    }
    let options = |config: &RunConfig| match &config.data {
        app::DataSource::Series(series) => series.csv_options(),
        app::DataSource::Synthetic(_) => unreachable!("a series run"),
    };
    let series_config = app::SeriesConfig::new(
        "in-memory.csv".into(),
        "passengers".parse().expect("infallible"),
    )
    .with_date_column(Some("month".parse().expect("infallible")))
    .with_future_features(vec!["event".parse().expect("infallible")])
    .with_calendar(vec![app::data::CalendarFeature::Month])
    .with_horizon(3)
    .with_season(Some(12));
    let config = RunConfig::series(series_config)
        .with_training(app::TrainingConfig::for_series().with_epochs(3));
    let series = app::data::read_csv(
        csv.as_bytes(),
        Path::new("in-memory.csv"),
        &options(&config),
    )
    .expect("reads");
    assert_eq!(
        series.times.as_ref().map(Vec::len),
        Some(144),
        "the dates parsed"
    );
    let work = tempfile::tempdir().expect("temporary directory");
    let dir = work.path().join("run");
    let trained = Training::new(config)
        .with_series(series.clone())
        .with_artifact_dir(&dir)
        .run::<B>(&Default::default())
        .expect("trains");
    let outcome = trained.report.outcome.expect("a complete run");
    let app::RunOutcome::Series(outcome) = outcome else {
        panic!("a series run");
    };
    assert!(
        outcome.forecast.future.is_empty(),
        "no events known after the end"
    );
    let run = SavedRun::open(&dir).expect("opens");
    let missing = run
        .forecast_ahead::<B>(&Default::default(), Some(series.clone()), None)
        .expect_err("the events ahead are missing");
    assert!(
        matches!(missing, app::Error::FutureValuesMissing { rows: 3, .. }),
        "{missing}"
    );
    let events = vec![app::data::Column {
        name: "event".into(),
        values: vec![1.0, 0.0, 0.0],
    }];
    let ahead = run
        .forecast_ahead::<B>(&Default::default(), Some(series), Some(events))
        .expect("forecasts");
    assert_eq!(ahead.forecast.future.len(), 3);
    assert_eq!(
        ahead.forecast.predicted, outcome.forecast.predicted,
        "same test forecasts"
    );
    assert_eq!(ahead.metrics, outcome.metrics);
}
