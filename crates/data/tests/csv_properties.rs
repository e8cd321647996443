//! Property tests of the CSV loader: whatever the file holds, it returns a series or a
//! `SeriesError`, never panics; and what it returns obeys the loader's promises.
//!
//! The cases are bounded (proptest's default 256 per property, with small inputs) so that CI
//! runs them on every `cargo test`.

use data::{
    load_csv, ChronologicalSplit, ColumnRef, FillPolicy, ScaleKind, Scaler, SeriesCsvOptions,
    WindowSpec,
};
use proptest::prelude::*;

fn options() -> impl Strategy<Value = SeriesCsvOptions> {
    let column = prop_oneof![
        (0usize..4).prop_map(ColumnRef::Index),
        "[a-z]{0,3}".prop_map(ColumnRef::Name),
    ];
    let date = proptest::option::of((0usize..4).prop_map(ColumnRef::Index));
    let fill = prop_oneof![
        Just(FillPolicy::None),
        Just(FillPolicy::Previous),
        Just(FillPolicy::Linear),
    ];
    let features = proptest::collection::vec((0usize..4).prop_map(ColumnRef::Index), 0..3);
    (column, features, date, fill).prop_map(|(column, features, date_column, fill)| {
        SeriesCsvOptions {
            column,
            features,
            date_column,
            fill,
            parse_dates: false,
        }
    })
}

/// Cells that exercise the parser: numbers, blanks, words, NaN and infinities, quotes.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        (-1e6f64..1e6).prop_map(|v| v.to_string()),
        Just(String::new()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("\"1,5\"".to_string()),
        Just("\"".to_string()),
        "[a-z ]{1,4}",
        " *[0-9]{1,3}\\.?[0-9]{0,2} *",
    ]
}

/// Files made of such cells, with a varying number of columns per row.
fn csv_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::collection::vec(cell(), 1..4), 0..12).prop_map(|rows| {
        rows.iter()
            .map(|row| row.join(","))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn load(bytes: &[u8], options: &SeriesCsvOptions) -> Result<data::TimeSeries, data::SeriesError> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("series.csv");
    std::fs::write(&path, bytes).expect("writable");
    load_csv(&path, options)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), options in options()) {
        let _ = load(&bytes, &options);
    }

    #[test]
    fn csv_like_files_load_finite_values_or_fail_cleanly(text in csv_text(), options in options()) {
        match load(text.as_bytes(), &options) {
            Ok(series) => {
                prop_assert!(!series.values.is_empty());
                prop_assert!(series.values.iter().all(|v| v.is_finite()));
                if let Some(dates) = &series.dates {
                    prop_assert_eq!(dates.len(), series.values.len());
                }
                prop_assert_eq!(series.features.len(), options.features.len());
                for feature in &series.features {
                    prop_assert_eq!(feature.values.len(), series.values.len());
                    prop_assert!(feature.values.iter().all(|v| v.is_finite()));
                }
            }
            Err(error) => {
                // Every error names the file.
                prop_assert!(error.to_string().contains("series.csv"), "{}", error);
            }
        }
    }

    #[test]
    fn loaded_series_split_window_and_scale_without_panics(
        text in csv_text(),
        options in options(),
        test_fraction in 0.0f64..0.99,
        validation_fraction in 0.0f64..0.99,
        window in 1usize..6,
        horizon in 1usize..4,
    ) {
        let Ok(series) = load(text.as_bytes(), &options) else {
            return Ok(());
        };
        let split = ChronologicalSplit::new(series.values.len(), test_fraction, validation_fraction);
        let spec = WindowSpec { window, horizon };
        let train = split.train.clone();
        if spec.check_fits("training", &train, 0).is_ok() {
            let origins = spec.origins(train.clone(), 0);
            // Windows and their targets stay inside the training part.
            prop_assert!(origins.clone().all(|o| o >= train.start + window && o + horizon <= train.end));
        }
        for kind in [ScaleKind::MinMax, ScaleKind::Standard, ScaleKind::None] {
            let scaler = Scaler::fit(kind, &series.values[train.clone()]);
            for &value in &series.values {
                let back = scaler.inverse(scaler.transform(value));
                prop_assert!((back - value).abs() <= 1e-9 * value.abs().max(1.0), "{:?}: {} -> {}", kind, value, back);
            }
        }
    }
}
