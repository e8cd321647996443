//! Standard output for the commands: like `println!`, except that a closed pipe
//! (`app train | head`) ends the process quietly instead of panicking.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Writes one line to standard output; see [`say!`].
pub fn line(args: fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{args}").and_then(|()| stdout.flush()) {
        if error.kind() == ErrorKind::BrokenPipe {
            // The reader is gone, as when a C program gets SIGPIPE.
            std::process::exit(0);
        }
        eprintln!("warning: cannot write to standard output: {error}");
    }
}

/// `println!` that tolerates a closed pipe.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::line(format_args!($($arg)*))
    };
}

pub(crate) use say;
