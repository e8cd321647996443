//! The library's errors as the command line words them: the library says what went wrong, this
//! adds which flag or command to change (see docs/errors.md, where every line has a test).

use std::error::Error as StdError;
use std::path::Path;

use app::Error;

/// An error's message and its causes, joined by `: ` on one line (as anyhow's `{:#}` does).
pub fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // Some messages already end with their cause ("cannot read F: Is a directory"); say
        // it once.
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The one-line message for a failure of a command: a library error with its advice, or the
/// context chain of anything else.
pub fn describe(error: &anyhow::Error) -> String {
    match error.downcast_ref::<Error>() {
        Some(error) => render(error),
        None => format!("{error:#}"),
    }
}

/// `app train --artifact-dir DIR`, the command that makes a run in `dir` again.
fn train_again(dir: &Path) -> String {
    format!("`app train --artifact-dir {}`", dir.display())
}

/// The message for `error`, with what to change on the command line.
pub fn render(error: &Error) -> String {
    match error {
        Error::Series(source @ data::SeriesError::Missing { .. }) => {
            format!("{source}; repair with --fill previous or --fill linear")
        }
        Error::SeriesTooShort { source, .. } => {
            let fraction = match source.part {
                "test" => "or a larger --test-fraction",
                _ => "or a smaller --test-fraction or --validation-fraction",
            };
            format!(
                "{}; use a longer series, a smaller --window or --horizon, {fraction}",
                chain(error)
            )
        }
        Error::SeasonalDifferenceWithoutSeason => {
            "--seasonal-difference needs --season (e.g. --season 12 for monthly data)".to_string()
        }
        Error::BacktestFold { source, .. } if matches!(**source, Error::SeriesTooShort { .. }) => {
            format!(
                "{}; give a later --start, or a smaller --window or --horizon",
                chain(error)
            )
        }
        Error::CalendarWithoutDates => format!("{error}: give --date-column"),
        Error::FutureValuesMissing { rows, .. } => format!(
            "{error}: give them with --future-csv FILE, a CSV file with those columns whose \
             first {rows} row(s) are the steps after the end"
        ),
        Error::NoFutureFeatures => format!(
            "{error}: leave out --future-csv (the run was trained without --future-features)"
        ),
        Error::QuantileOutOfRange { .. } | Error::RepeatedQuantile { .. } => {
            format!("{error}; give --quantiles distinct levels such as 0.1,0.9")
        }
        Error::NotPositive { .. } => format!(
            "{error}; use --transform none, or --transform auto, which takes the log only of \
             positive series"
        ),
        Error::ValidationSplit {
            fraction,
            total,
            train,
            valid,
        } => format!(
            "--validation-split {fraction} of {total} sequences leaves {train} for training and \
             {valid} for validation; both need at least one (use a fraction between {:.3} and \
             {:.3}, or more --samples)",
            1.0 / *total as f64,
            1.0 - 1.0 / *total as f64
        ),
        Error::NoRun { dir, .. } => format!("{error}; run {} first", train_again(dir)),
        Error::IncompleteRun { dir, manifest } => format!(
            "the run in {} is incomplete ({} is missing: `train` did not finish, or is still \
             running); run {} again",
            dir.display(),
            manifest.display(),
            train_again(dir)
        ),
        Error::OtherFormat { path, .. } => format!(
            "{error}; run {} again",
            train_again(path.parent().unwrap_or(Path::new(".")))
        ),
        Error::WeightsMismatch { config, .. } => format!(
            "{error}; run {} again",
            train_again(config.parent().unwrap_or(Path::new(".")))
        ),
        Error::Resume { dir, source } => {
            let advice = match source.as_ref() {
                Error::ResumeConflict { .. } => {
                    "; give the flags of the first run (only --epochs, --learning-rate, \
                     --early-stopping and --backend may change)"
                }
                Error::NoCheckpoint { .. } | Error::DamagedOptimiser { .. } => {
                    "; train it afresh without --resume"
                }
                _ => "",
            };
            format!(
                "cannot resume the run in {}: {}{advice}",
                dir.display(),
                render(source)
            )
        }
        Error::ResumeConflict {
            setting,
            saved,
            asked,
        } => format!("{setting} was {saved} in the saved run, this command asks for {asked}"),
        Error::AlreadyTrained {
            dir,
            trained,
            epochs,
        } => format!(
            "the run in {} already has {trained} epochs and --epochs is the total, as Keras' \
             initial_epoch counts; ask for more, e.g. --epochs {}",
            dir.display(),
            trained + (*epochs).max(10)
        ),
        Error::WrongKindOfRun {
            trained_on: "the synthetic data",
            ..
        } => format!("{error}; train one with `app train --csv FILE --column NAME` to forecast"),
        Error::NoAdapter { api, .. } => format!(
            "--backend wgpu found no {api} adapter: install a GPU driver, or Mesa's software \
             Vulkan driver to run on the CPU (Debian/Ubuntu: apt-get install \
             mesa-vulkan-drivers), or use --backend ndarray"
        ),
        Error::BackendNotBuilt {
            backend: app::BackendKind::Cuda,
        } => "this build of app has no cuda backend: build it with `cargo build --release -p app \
              --features cuda` (no CUDA toolkit needed to build; the NVIDIA driver to run), or \
              use --backend wgpu or ndarray"
            .to_string(),
        Error::BackendNotBuilt { backend } => format!(
            "this build of app has no {backend} backend (built with --no-default-features); \
             rebuild with the default features or use --backend ndarray"
        ),
        Error::NoCudaDevice { reason } => {
            format!("--backend cuda cannot start: {reason}; or use --backend wgpu or ndarray")
        }
        Error::OutOfMemory(shortfall) => out_of_memory(shortfall),
        Error::BufferTooLarge { fits, .. } => {
            let text = error.to_string();
            let advice = match fits {
                Some(fits) => format!("; use --batch-size {fits} or smaller"),
                None => "; use a smaller --hidden, --window or --steps".to_string(),
            };
            // The library's last clause says which batch fits; the flag says it better.
            match text.rsplit_once("; ") {
                Some((message, _)) => format!("--backend wgpu: {message}{advice}"),
                None => format!("--backend wgpu: {text}{advice}"),
            }
        }
        _ => chain(error),
    }
}

/// A run that does not fit, worded with the flag that sets the part at fault.
fn out_of_memory(shortfall: &app::memory::MemoryShortfall) -> String {
    use app::memory::{MemorySetting, MemoryUse};
    let flag = match shortfall.setting {
        MemorySetting::Hidden => "--hidden",
        MemorySetting::BatchSize => "--batch-size",
        MemorySetting::Samples => "--samples",
        MemorySetting::Window => "--window",
    };
    let text = shortfall.to_string();
    // The library names the setting as the configuration does; in training, the flag that sets
    // it reads better in front of the value; a saved run's settings are its own.
    let name = shortfall.setting.name();
    let rest = text.strip_prefix(name).unwrap_or(&text);
    match (shortfall.estimate.usage, shortfall.fits) {
        (MemoryUse::Training, Some(fits)) => format!("{flag}{rest}; {flag} {fits} fits"),
        (MemoryUse::Training, None) => format!("{flag}{rest}; not even {flag} 1 fits"),
        (MemoryUse::Inference, _) => {
            format!("the saved run's {name}{rest}; open it on a machine with more memory")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn resume_errors_name_the_flags_to_keep_or_drop() {
        let conflict = Error::Resume {
            dir: PathBuf::from("run"),
            source: Box::new(Error::ResumeConflict {
                setting: "model.hidden".into(),
                saved: "8".into(),
                asked: "16".into(),
            }),
        };
        assert_eq!(
            render(&conflict),
            "cannot resume the run in run: model.hidden was 8 in the saved run, this command asks \
             for 16; give the flags of the first run (only --epochs, --learning-rate, \
             --early-stopping and --backend may change)"
        );
        let nested = Error::Resume {
            dir: PathBuf::from("run"),
            source: Box::new(Error::NoRun {
                dir: PathBuf::from("run"),
                missing: PathBuf::from("run/config.json"),
            }),
        };
        assert_eq!(
            render(&nested),
            "cannot resume the run in run: no trained model in run: run/config.json does not \
             exist; run `app train --artifact-dir run` first"
        );
    }

    #[test]
    fn a_too_short_series_names_the_flags_of_its_part() {
        let too_short = |part| Error::SeriesTooShort {
            name: "v".into(),
            len: 20,
            source: data::TooShort {
                part,
                len: 4,
                window: 12,
                horizon: 1,
                warm_up: 0,
                needed: 13,
            },
        };
        let test = render(&too_short("test"));
        assert!(
            test.starts_with("the series 'v' (20 values) is too short: the test part has 4"),
            "{test}"
        );
        assert!(test.ends_with("or a larger --test-fraction"), "{test}");
        let training = render(&too_short("training"));
        assert!(
            training.ends_with("or a smaller --test-fraction or --validation-fraction"),
            "{training}"
        );
    }

    #[test]
    fn the_validation_split_message_names_the_flag_and_a_range() {
        let error = app::train::validation_split((0..8).collect::<Vec<i32>>(), 0.9)
            .expect_err("nothing left to train on");
        assert_eq!(
            render(&error),
            "--validation-split 0.9 of 8 sequences leaves 0 for training and 8 for validation; \
             both need at least one (use a fraction between 0.125 and 0.875, or more --samples)"
        );
    }
}
