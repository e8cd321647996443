//! The subcommands, wired to the backend switch. Each prints what a user needs and nothing else.

use std::io::Write;

use anyhow::{Context, Result};
use data::{SyntheticConfig, SyntheticDataset};

use crate::artifacts::{write_atomically, ArtifactDir};
use crate::backend::run_on;
use crate::cli::{Cli, Command, DatasetArgs, PlotArgs, TrainArgs};
use crate::evaluate::{loss_line, EvaluateSavedRun};
use crate::plot;
use crate::run_config::RunConfig;
use crate::train::TrainJob;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(args) => train(&args),
        Command::Plot(args) => plot(&args),
        Command::Dataset(args) => dataset(&args),
    }
}

/// A one-line description of a run, used in messages and plot titles.
fn describe(config: &RunConfig) -> String {
    format!(
        "LSTM({}, {}) + Linear({}), {} epochs, seed {}",
        config.model.hidden,
        config.model.activation,
        config.model.outputs,
        config.training.epochs,
        config.training.seed
    )
}

fn train(args: &TrainArgs) -> Result<()> {
    let job = TrainJob::from_args(args)?;
    let config = &job.config;
    println!(
        "Training {} on {} sequences of {} steps, batch {}, Adam lr {}, backend {}",
        describe(config),
        config.data.samples,
        config.data.steps,
        config.training.batch_size,
        config.training.learning_rate,
        config.training.backend,
    );
    let report = run_on(args.backend, job)?;
    println!("{}", loss_line(report.evaluation.mse));
    let dir = report.artifacts.root().display();
    println!("Saved model.mpk, config.json and history.csv in {dir}; draw them with: app plot --artifact-dir {dir}");
    Ok(())
}

fn plot(args: &PlotArgs) -> Result<()> {
    let artifacts = ArtifactDir::new(&args.artifact_dir);
    let config = artifacts.load_config()?;
    let history = artifacts.load_history()?;
    let title = describe(&config);
    let evaluation = run_on(
        args.backend,
        EvaluateSavedRun {
            config,
            artifacts: artifacts.clone(),
        },
    )?;

    let predictions_png = artifacts.predictions_plot_path();
    plot::predictions(
        &predictions_png,
        &evaluation.targets,
        &evaluation.predictions,
        &format!("Actual vs Predicted, MSE {:.3e}: {title}", evaluation.mse),
    )?;
    let loss_png = artifacts.loss_plot_path();
    plot::loss_curve(&loss_png, &history, &format!("Training loss: {title}"))?;

    println!("{}", loss_line(evaluation.mse));
    println!("Wrote {}", predictions_png.display());
    println!("Wrote {}", loss_png.display());
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
