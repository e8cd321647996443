//! The subcommands, wired to the backend switch. Each prints what a user needs and nothing else.

use std::io::Write;

use anyhow::{Context, Result};
use data::{SyntheticConfig, SyntheticDataset};

use crate::artifacts::{write_atomically, ArtifactDir};
use crate::backend::run_on;
use crate::cli::{
    BackendKind, Cli, Command, DatasetArgs, EvaluateArgs, ForecastArgs, PlotArgs, TrainArgs,
};
use crate::epoch_loop::StopReason;
use crate::evaluate::{loss_line, EvaluateSavedRun, Evaluation};
use crate::forecast::{self, ForecastOutcome, ForecastSavedRun};
use crate::metrics;
use crate::plot;
use crate::run_config::{DataSource, RunConfig};
use crate::train::{TrainJob, TrainOutcome};

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(args) => train(&args),
        Command::Evaluate(args) => evaluate(&args),
        Command::Plot(args) => plot(&args),
        Command::Forecast(args) => forecast(&args),
        Command::Bench(args) => crate::bench::run(&args),
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
    let job = TrainJob::from_args(args)?;
    let config = &job.config;
    let data = match &config.data {
        DataSource::Synthetic(synthetic) => format!(
            "{} sequences of {} steps",
            synthetic.samples, synthetic.steps
        ),
        DataSource::Series(series) => format!("{}", series.csv.display()),
    };
    let training = &config.training;
    let mut optimiser = format!("Adam lr {}", training.learning_rate);
    if training.weight_decay > 0.0 {
        optimiser = format!(
            "AdamW lr {}, weight decay {}",
            training.learning_rate, training.weight_decay
        );
    }
    crate::say!(
        "Training {} on {data}, batch {}, {optimiser}, backend {}",
        describe(config),
        training.batch_size,
        training.backend,
    );
    let early_stopping = training.early_stopping.is_some();
    let report = run_on(args.backend, job)?;
    let dir = report.artifacts.root().display();
    match report.stop {
        StopReason::EarlyStopped { best_epoch } => crate::say!(
            "Early stopping after epoch {}: no improvement since epoch {best_epoch}, whose weights are kept",
            report.trained.1
        ),
        _ if early_stopping => crate::say!(
            "Kept the weights of epoch {}, the best one",
            report.model_epoch
        ),
        _ => {}
    }
    match &report.outcome {
        TrainOutcome::Synthetic(evaluation) => {
            crate::say!("{}", loss_line(evaluation.mse));
            crate::say!("Saved model.mpk, config.json and history.csv in {dir}; draw them with: app plot --artifact-dir {dir}");
        }
        TrainOutcome::Series(outcome) => {
            print_metrics(outcome);
            crate::say!("Saved model.mpk, config.json, history.csv and metrics.json in {dir}; forecast with: app forecast --artifact-dir {dir}");
        }
    }
    Ok(())
}

fn print_metrics(outcome: &ForecastOutcome) {
    let prepared = &outcome.prepared;
    let first = outcome.forecast.origins.first().copied().unwrap_or(0);
    crate::say!(
        "Test part: {} forecasts of {} step(s) from {} on, in the units of '{}':",
        outcome.metrics.forecasts,
        outcome.metrics.horizon,
        prepared.label(first),
        prepared.series.name,
    );
    crate::say!("{}", metrics::table(&outcome.metrics).trim_end());
}

/// What re-running a saved model on its own data gives.
enum SavedRunResult {
    /// The synthetic data: predictions and the tutorial's MSE.
    Synthetic(Evaluation),
    /// A series: the test forecasts and their metrics.
    Series(Box<ForecastOutcome>),
}

/// Loads the run's model and runs it on the data it was trained on.
fn rerun(
    backend: BackendKind,
    artifacts: &ArtifactDir,
    config: RunConfig,
) -> Result<SavedRunResult> {
    let artifacts = artifacts.clone();
    Ok(match &config.data {
        DataSource::Synthetic(_) => {
            SavedRunResult::Synthetic(run_on(backend, EvaluateSavedRun { config, artifacts })?)
        }
        DataSource::Series(_) => SavedRunResult::Series(Box::new(run_on(
            backend,
            ForecastSavedRun {
                config,
                artifacts,
                csv: None,
            },
        )?)),
    })
}

fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let artifacts = ArtifactDir::new(&args.artifact_dir);
    let config = artifacts.load_config()?;
    crate::say!(
        "Evaluating {} in {}",
        describe(&config),
        artifacts.root().display()
    );
    match rerun(args.backend, &artifacts, config)? {
        SavedRunResult::Synthetic(evaluation) => crate::say!("{}", loss_line(evaluation.mse)),
        SavedRunResult::Series(outcome) => print_metrics(&outcome),
    }
    Ok(())
}

fn plot(args: &PlotArgs) -> Result<()> {
    let artifacts = ArtifactDir::new(&args.artifact_dir);
    let config = artifacts.load_config()?;
    let history = artifacts.load_history()?;
    let title = describe(&config);
    let loss_png = artifacts.loss_plot_path();
    match rerun(args.backend, &artifacts, config)? {
        SavedRunResult::Synthetic(evaluation) => {
            let predictions_png = artifacts.predictions_plot_path();
            plot::predictions(
                &predictions_png,
                &evaluation.targets,
                &evaluation.predictions,
                &format!("Actual vs Predicted, MSE {:.3e}: {title}", evaluation.mse),
            )?;
            crate::say!("{}", loss_line(evaluation.mse));
            crate::say!("Wrote {}", predictions_png.display());
        }
        SavedRunResult::Series(outcome) => {
            let forecast_png = artifacts.forecast_plot_path();
            plot::forecast(&forecast_png, &outcome, &title)?;
            crate::say!("Wrote {}", forecast_png.display());
        }
    }
    plot::loss_curve(&loss_png, &history, &format!("Loss: {title}"))?;
    crate::say!("Wrote {}", loss_png.display());
    Ok(())
}

fn forecast(args: &ForecastArgs) -> Result<()> {
    let artifacts = ArtifactDir::new(&args.artifact_dir);
    let config = artifacts.load_config()?;
    let title = describe(&config);
    let season = match &config.data {
        DataSource::Series(series) => series.season,
        DataSource::Synthetic(_) => None,
    };
    let outcome = run_on(
        args.backend,
        ForecastSavedRun {
            config,
            artifacts: artifacts.clone(),
            csv: args.csv.clone(),
        },
    )?;
    print_metrics(&outcome);
    let future: Vec<String> = outcome
        .forecast
        .future
        .iter()
        .map(|v| format!("{v:.3}"))
        .collect();
    crate::say!(
        "Next {} value(s) after the end: {}",
        future.len(),
        future.join(", ")
    );

    let table = artifacts.forecast_table_path();
    forecast::write_table(&table, &outcome.prepared, &outcome.forecast, season)?;
    artifacts.save_metrics(&outcome.metrics)?;
    let figure = artifacts.forecast_plot_path();
    plot::forecast(&figure, &outcome, &title)?;
    for path in [table, artifacts.metrics_path(), figure] {
        crate::say!("Wrote {}", path.display());
    }
    Ok(())
}

fn dataset(args: &DatasetArgs) -> Result<()> {
    let config = SyntheticConfig::new()
        .with_samples(args.data.samples)
        .with_steps(args.data.steps)
        .with_seed(args.data.seed);
    let dataset = SyntheticDataset::generate(&config).context("invalid data settings")?;
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
