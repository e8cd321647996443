//! The subcommands: each builds the library's configs from its flags, calls the library on the
//! backend chosen, and prints what a user needs and nothing else.

use std::io::Write;

use anyhow::{bail, Context, Result};
use app::artifacts::{write_atomically, ArtifactDir};
use app::backend::run_on;
use app::backtest::RunBacktest;
use app::evaluate::loss_line;
use app::memory::MemoryUse;
use app::metrics;
use app::plot;
use app::run::{EvaluateSavedRun, ForecastSavedRun};
use app::{Backtest, BacktestConfig, BacktestStart};
use app::{DataSource, ForecastOutcome, RunConfig, RunOutcome, SavedRun, StopHandle, StopReason};
use app::{TrainReport, Training};
use data::{SyntheticConfig, SyntheticDataset};

use super::args::{
    BacktestArgs, Cli, Command, DatasetArgs, EvaluateArgs, ForecastArgs, PlotArgs, TrainArgs,
};
use super::dashboard::Progress;
use super::interrupt::{self, Interrupted};
use super::output::say;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(args) => train(&args),
        Command::Evaluate(args) => evaluate(&args),
        Command::Plot(args) => plot(&args),
        Command::Forecast(args) => forecast(&args),
        Command::Backtest(args) => backtest(&args),
        Command::Bench(args) => super::bench::run(&args),
        Command::Dataset(args) => dataset(&args),
    }
}

/// A one-line description of a run, used in messages and plot titles.
fn describe(config: &RunConfig) -> String {
    let data = match &config.data {
        DataSource::Synthetic(_) => String::new(),
        DataSource::Series(series) => {
            format!(", window {}, horizon {}", series.window, series.horizon)
        }
    };
    format!(
        "{} + Linear({}){data}, {} epochs, seed {}",
        config.model.describe(),
        config.model.outputs,
        config.training.epochs,
        config.training.seed
    )
}

fn train(args: &TrainArgs) -> Result<()> {
    let config = args.run_config();
    config.check()?;
    // A run too large for the GPU or this machine is refused before its directory is made.
    app::backend::check_device_limits(args.backend, &config)?;
    app::memory::check_run(&config, MemoryUse::Training, 0)?;
    // The CSV file is read (and its columns checked) before anything is printed or made, so
    // that a bad file or column is the only line.
    let series = match &config.data {
        DataSource::Series(series) => Some(app::forecast::read_series(series, &series.csv)?),
        DataSource::Synthetic(_) => None,
    };
    // Before anything is printed, so that an unusable directory is the only line.
    ArtifactDir::create(&args.artifact_dir)?;
    print_header(&config);
    let stop = StopHandle::new();
    let mut training = Training::new(config.clone());
    if let Some(series) = series {
        training = training.with_series(series);
    }
    let training = training
        .with_artifact_dir(&args.artifact_dir)
        .with_resume(args.resume)
        .with_stop_handle(stop.clone())
        .with_observer(Progress::new());
    interrupt::arm(&stop);
    let report = run_on(args.backend, training);
    interrupt::disarm();
    let report = report.map_err(|error| with_divergence_advice(error, &config))?;
    print_ending(&report, &config)?;
    let dir = args.artifact_dir.display();
    match &report.outcome {
        Some(RunOutcome::Synthetic(evaluation)) => {
            say!("{}", loss_line(evaluation.mse));
            say!("Saved model.mpk, config.json and history.csv in {dir}; draw them with: app plot --artifact-dir {dir}");
        }
        Some(RunOutcome::Series(outcome)) => {
            print_metrics(outcome);
            let future_csv = match &config.data {
                DataSource::Series(series) if !series.future_features.is_empty() => {
                    " --future-csv FILE"
                }
                _ => "",
            };
            say!("Saved model.mpk, config.json, history.csv and metrics.json in {dir}; forecast with: app forecast --artifact-dir {dir}{future_csv}");
        }
        None => {}
    }
    Ok(())
}

fn print_header(config: &RunConfig) {
    let data = match &config.data {
        DataSource::Synthetic(synthetic) => format!(
            "{} sequences of {} steps",
            synthetic.samples, synthetic.steps
        ),
        DataSource::Series(series) if series.features.is_empty() && series.known_inputs() == 0 => {
            format!("{}", series.csv.display())
        }
        DataSource::Series(series) => {
            let list = |columns: &[data::ColumnRef]| {
                let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
                names.join(", ")
            };
            let mut inputs = vec![format!("target {}", series.column)];
            if !series.features.is_empty() {
                inputs.push(format!("features {}", list(&series.features)));
            }
            if !series.future_features.is_empty() {
                inputs.push(format!("future features {}", list(&series.future_features)));
            }
            if !series.calendar.is_empty() {
                let names: Vec<&str> = series.calendar.iter().map(|c| c.name()).collect();
                inputs.push(format!("calendar {}", names.join(", ")));
            }
            format!("{} ({})", series.csv.display(), inputs.join("; "))
        }
    };
    let training = &config.training;
    let mut optimiser = format!("Adam lr {}", training.learning_rate);
    if training.weight_decay > 0.0 {
        optimiser = format!(
            "AdamW lr {}, weight decay {}",
            training.learning_rate, training.weight_decay
        );
    }
    say!(
        "Training {} on {data}, batch {}, {optimiser}, backend {}",
        describe(config),
        training.batch_size,
        training.backend,
    );
}

/// What to try after a loss that diverged: a lower rate, or the bounded activation.
fn divergence_advice(config: &RunConfig) -> String {
    format!(
        "try a lower --learning-rate (this run used {}){}",
        config.training.learning_rate,
        match config.model.activation {
            model::CellActivation::Relu => " or --activation tanh",
            model::CellActivation::Tanh => "",
        }
    )
}

fn with_divergence_advice(error: app::Error, config: &RunConfig) -> anyhow::Error {
    match error {
        app::Error::DivergedBeforeFirstEpoch { .. } => {
            anyhow::anyhow!("{error}; {}", divergence_advice(config))
        }
        other => other.into(),
    }
}

/// Says how training ended; a stop or a divergence is an error (exit status 130 or 1) whose
/// message says what was kept and how to continue.
fn print_ending(report: &TrainReport, config: &RunConfig) -> Result<()> {
    let dir = report
        .saved_in
        .as_deref()
        .map_or_else(String::new, |dir| dir.display().to_string());
    // Checkpoints come at most once a second, so the last may be a few epochs back.
    let resume_hint = match report.checkpoint_epoch {
        0 => "it stopped before its first checkpoint, so `app train` starts it afresh".into(),
        epoch => format!(
            "`app train --resume --artifact-dir {dir}` with the same flags continues from \
             epoch {epoch}, its last checkpoint"
        ),
    };
    let model_epoch = report.model_epoch;
    match report.stop {
        StopReason::Interrupted => Err(Interrupted {
            completed_epochs: report.history.len(),
            epochs: config.training.epochs,
            saved: format!(
                "saved the model of epoch {model_epoch} and the loss history in {dir}; \
                 `app plot` and `app evaluate` read them, and {resume_hint}"
            ),
        }
        .into()),
        StopReason::Diverged { epoch, loss } => bail!(
            "the training loss became {loss} in epoch {epoch}, so training stopped; the model of \
             epoch {model_epoch} is saved in {dir}; {}: {resume_hint} (--learning-rate may change)",
            divergence_advice(config)
        ),
        StopReason::EarlyStopped { best_epoch } => {
            say!(
                "Early stopping after epoch {}: no improvement since epoch {best_epoch}, whose weights are kept",
                report.trained.1
            );
            Ok(())
        }
        StopReason::Completed => {
            if config.training.early_stopping.is_some() {
                say!("Kept the weights of epoch {model_epoch}, the best one");
            }
            Ok(())
        }
    }
}

fn print_metrics(outcome: &ForecastOutcome) {
    let prepared = &outcome.prepared;
    let first = outcome.forecast.origins.first().copied().unwrap_or(0);
    say!(
        "Test part: {} forecasts of {} step(s) from {} on, in the units of '{}':",
        outcome.metrics.forecasts,
        outcome.metrics.horizon,
        prepared.label(first),
        prepared.series.name,
    );
    say!("{}", metrics::table(&outcome.metrics).trim_end());
}

fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let run = SavedRun::open(&args.artifact_dir)?;
    app::memory::check_run(run.config(), MemoryUse::Inference, 0)?;
    say!(
        "Evaluating {} in {}",
        describe(run.config()),
        run.dir().display()
    );
    match run_on(args.backend, EvaluateSavedRun(&run))? {
        RunOutcome::Synthetic(evaluation) => say!("{}", loss_line(evaluation.mse)),
        RunOutcome::Series(outcome) => print_metrics(&outcome),
    }
    Ok(())
}

fn plot(args: &PlotArgs) -> Result<()> {
    let run = SavedRun::open(&args.artifact_dir)?;
    app::memory::check_run(run.config(), MemoryUse::Inference, 0)?;
    let history = run.history()?;
    let title = describe(run.config());
    let artifacts = run.artifacts();
    let loss_png = artifacts.loss_plot_path();
    match run_on(args.backend, EvaluateSavedRun(&run))? {
        RunOutcome::Synthetic(evaluation) => {
            let predictions_png = artifacts.predictions_plot_path();
            plot::predictions(
                &predictions_png,
                &evaluation.targets,
                &evaluation.predictions,
                &format!("Actual vs Predicted, MSE {:.3e}: {title}", evaluation.mse),
            )?;
            say!("{}", loss_line(evaluation.mse));
            say!("Wrote {}", predictions_png.display());
        }
        RunOutcome::Series(outcome) => {
            let forecast_png = artifacts.forecast_plot_path();
            plot::forecast(&forecast_png, &outcome, &title)?;
            say!("Wrote {}", forecast_png.display());
        }
    }
    plot::loss_curve(&loss_png, &history, &format!("Loss: {title}"))?;
    say!("Wrote {}", loss_png.display());
    Ok(())
}

fn forecast(args: &ForecastArgs) -> Result<()> {
    let run = SavedRun::open(&args.artifact_dir)?;
    app::memory::check_run(run.config(), MemoryUse::Inference, 0)?;
    let title = describe(run.config());
    let series = args
        .csv
        .as_deref()
        .map(|csv| run.read_series(csv))
        .transpose()?;
    let future = args
        .future_csv
        .as_deref()
        .map(|csv| run.read_future(csv))
        .transpose()?;
    let outcome = run_on(
        args.backend,
        ForecastSavedRun {
            run: &run,
            series,
            future,
        },
    )?;
    print_metrics(&outcome);
    let future: Vec<String> = outcome
        .forecast
        .future
        .iter()
        .map(|v| format!("{v:.3}"))
        .collect();
    say!(
        "Next {} value(s) after the end: {}",
        future.len(),
        future.join(", ")
    );
    if let Some(quantiles) = &outcome.forecast.quantiles {
        for (low, high, nominal) in app::metrics::central_intervals(&quantiles.levels) {
            let bounds: Vec<String> = quantiles.future[low]
                .iter()
                .zip(&quantiles.future[high])
                .map(|(lo, hi)| format!("{lo:.3} to {hi:.3}"))
                .collect();
            say!("  {:.0}% interval: {}", 100.0 * nominal, bounds.join(", "));
        }
    }

    let artifacts = run.artifacts();
    let table = artifacts.forecast_table_path();
    outcome.write_table(&table)?;
    artifacts.save_metrics(&outcome.metrics)?;
    let figure = artifacts.forecast_plot_path();
    plot::forecast(&figure, &outcome, &title)?;
    for path in [table, artifacts.metrics_path(), figure] {
        say!("Wrote {}", path.display());
    }
    Ok(())
}

fn backtest(args: &BacktestArgs) -> Result<()> {
    let train = &args.train;
    let Some(csv) = &train.series.csv else {
        bail!("backtest needs a series: give --csv FILE and --column COL");
    };
    if train.resume {
        bail!("backtest trains new models; --resume does not apply to it");
    }
    let config = train.run_config();
    config.check()?;
    app::backend::check_device_limits(train.backend, &config)?;
    app::memory::check_run(&config, MemoryUse::Training, 0)?;
    let DataSource::Series(series_config) = &config.data else {
        bail!("backtest needs a series: give --csv FILE and --column COL");
    };
    let series = app::forecast::read_series(series_config, &series_config.csv)?;
    let artifacts = ArtifactDir::create(&train.artifact_dir)?;
    let plan = BacktestConfig::new(BacktestStart::parse(&args.start))
        .with_stride(args.stride)
        .with_refit_every(args.refit_every);
    say!(
        "Backtesting {} on {}, origins from --start {} on, {} step(s) apart, {}",
        describe(&config),
        csv.display(),
        args.start,
        args.stride,
        match args.refit_every {
            Some(k) => format!("a new model every {k} origin(s)"),
            None => "one model trained before the start".to_string(),
        }
    );
    let title = describe(&config);
    let stop = StopHandle::new();
    let backtest = Backtest::new(config, plan)
        .with_series(series)
        .with_stop_handle(stop.clone())
        .with_progress(|fold, number, folds| {
            say!(
                "fold {number}/{folds}: trained on the {} values before {} ({} epochs, {:.1} s), \
                 forecast {} origin(s) from {} to {}",
                fold.trained_on,
                fold.first_label,
                fold.epochs,
                fold.seconds,
                fold.origins.len(),
                fold.first_label,
                fold.last_label
            )
        });
    interrupt::arm(&stop);
    let outcome = run_on(train.backend, RunBacktest(backtest));
    interrupt::disarm();
    let outcome = outcome?;
    let overall = &outcome.overall;
    say!(
        "Backtest: {} forecasts of {} step(s) from {} on, in the units of '{}':",
        overall.forecasts,
        overall.horizon,
        outcome.label(outcome.forecast.origins[0]),
        outcome.series.name
    );
    say!("{}", metrics::table(overall).trim_end());
    if overall.horizon > 1 {
        say!("{}", metrics::step_table(&outcome.per_step).trim_end());
    }
    let root = artifacts.root();
    let (table, report, figure) = (
        root.join("backtest.csv"),
        root.join("backtest.json"),
        root.join("backtest.png"),
    );
    outcome.write_table(&table)?;
    outcome.write_report(&report)?;
    plot::backtest(&figure, &outcome, &title)?;
    for path in [table, report, figure] {
        say!("Wrote {}", path.display());
    }
    Ok(())
}

fn dataset(args: &DatasetArgs) -> Result<()> {
    let config = SyntheticConfig::new()
        .with_samples(args.data.samples)
        .with_steps(args.data.steps)
        .with_seed(args.data.seed);
    let dataset = SyntheticDataset::generate(&config).map_err(app::Error::from)?;
    match &args.out {
        Some(path) => {
            write_atomically(path, |file| Ok(dataset.write_csv(file)?))?;
            eprintln!(
                "Wrote {} sequences to {}",
                dataset.config().samples,
                path.display()
            );
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            dataset.write_csv(&mut lock)?;
            lock.flush().context("cannot write to standard output")?;
        }
    }
    Ok(())
}
