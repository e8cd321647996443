//! `app`: train, evaluate and plot LSTM regressors. See `app --help`.

use std::process::ExitCode;

use clap::Parser;

// Training allocates and frees the same few buffer sizes every step; glibc's allocator hands
// large ones back to the kernel and page-faults them in again (a tenth of the tutorial's run).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = app::cli::Cli::parse();
    match app::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<app::interrupt::Interrupted>() {
            Some(interrupted) => {
                eprintln!("{interrupted}");
                // 128 + SIGINT, as shells report a process stopped by Ctrl-C.
                ExitCode::from(130)
            }
            None => {
                // `{:#}` prints the whole context chain on one line, without a backtrace.
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}
