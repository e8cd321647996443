//! `app`: train, evaluate and plot LSTM regressors. See `app --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = app::cli::Cli::parse();
    match app::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line, without a backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
