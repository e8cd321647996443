//! `app`: train, evaluate, forecast and plot LSTM regressors. See `app --help`.

mod cli;

use std::process::ExitCode;

// Training allocates and frees the same few buffer sizes every step; glibc's allocator hands
// large ones back to the kernel and page-faults them in again (a tenth of the tutorial's run).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
