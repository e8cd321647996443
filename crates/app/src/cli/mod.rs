//! The `app` command line: parse flags, build the library's configs, call the library, print.
//! Only this layer knows clap, flag names, exit codes, signals, the terminal dashboard and
//! standard output.

pub mod args;
mod bench;
mod commands;
mod dashboard;
mod interrupt;
pub mod messages;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// Runs the command line and turns the outcome into the process's exit status.
pub fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", interrupt::exit_line(&error));
            ExitCode::from(interrupt::exit_status(&error))
        }
    }
}
