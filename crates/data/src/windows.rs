//! Chronological train/validation/test split and sliding windows over a series.

use std::ops::Range;

use burn::data::dataset::Dataset;
use thiserror::Error;

use crate::synthetic::SequenceItem;

/// The three consecutive parts of a series: training first, then validation, then test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChronologicalSplit {
    /// The oldest part, used to fit the model and the scaler.
    pub train: Range<usize>,
    /// The part just before the test part.
    pub validation: Range<usize>,
    /// The most recent part.
    pub test: Range<usize>,
}

impl ChronologicalSplit {
    /// Splits `len` points: the last `test_fraction` (rounded) for testing, the `validation_fraction`
    /// before it for validation, the rest for training.
    pub fn new(len: usize, test_fraction: f64, validation_fraction: f64) -> Self {
        let part = |fraction: f64| ((len as f64) * fraction).round() as usize;
        let test = part(test_fraction).min(len);
        let validation = part(validation_fraction).min(len - test);
        let train_end = len - test - validation;
        Self {
            train: 0..train_end,
            validation: train_end..train_end + validation,
            test: train_end + validation..len,
        }
    }
}

/// `window` past values in, `horizon` future values out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// Past values fed to the model.
    pub window: usize,
    /// Future values predicted.
    pub horizon: usize,
}

impl WindowSpec {
    /// Forecast origins `t` whose whole window lies inside `part`: inputs `t-window..t` and
    /// targets `t..t+horizon`. `t` is the index of the first predicted value.
    pub fn origins(&self, part: Range<usize>) -> Range<usize> {
        let first = part.start + self.window;
        let end = (part.end + 1).saturating_sub(self.horizon);
        first..end.max(first)
    }
}

/// A split part too short for a single window.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "the {part} part has {len} values, too few for one window of {window} inputs and {horizon} \
     targets ({needed} values)"
)]
pub struct TooShort {
    /// `training` or `test`.
    pub part: &'static str,
    /// Values in that part.
    pub len: usize,
    /// The window length.
    pub window: usize,
    /// The horizon.
    pub horizon: usize,
    /// `window + horizon`.
    pub needed: usize,
}

impl WindowSpec {
    /// Checks that `part` holds at least one window.
    pub fn check_fits(&self, part_name: &'static str, part: &Range<usize>) -> Result<(), TooShort> {
        if self.origins(part.clone()).is_empty() {
            Err(TooShort {
                part: part_name,
                len: part.len(),
                window: self.window,
                horizon: self.horizon,
                needed: self.window + self.horizon,
            })
        } else {
            Ok(())
        }
    }
}

/// The windows of one split part of a (scaled) series, as training items.
#[derive(Clone, Debug)]
pub struct WindowDataset {
    values: Vec<f64>,
    origins: Vec<usize>,
    spec: WindowSpec,
}

impl WindowDataset {
    /// Every window of `spec` inside `part` of `values`.
    pub fn new(values: &[f64], part: Range<usize>, spec: WindowSpec) -> Self {
        Self {
            values: values.to_vec(),
            origins: spec.origins(part).collect(),
            spec,
        }
    }

    /// The forecast origin of each item, in order.
    pub fn origins(&self) -> &[usize] {
        &self.origins
    }
}

impl Dataset<SequenceItem> for WindowDataset {
    fn get(&self, index: usize) -> Option<SequenceItem> {
        let origin = *self.origins.get(index)?;
        let WindowSpec { window, horizon } = self.spec;
        Some(SequenceItem {
            input: self.values[origin - window..origin].to_vec(),
            target: self.values[origin..origin + horizon].to_vec(),
        })
    }

    fn len(&self) -> usize {
        self.origins.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_chronological_and_covers_everything() {
        let split = ChronologicalSplit::new(144, 0.2, 0.1);
        assert_eq!(split.train, 0..101);
        assert_eq!(split.validation, 101..115);
        assert_eq!(split.test, 115..144);
        let keras = ChronologicalSplit::new(144, 0.33, 0.0);
        assert_eq!(
            (keras.train.len(), keras.validation.len(), keras.test.len()),
            (96, 0, 48)
        );
    }

    #[test]
    fn windows_never_cross_a_part_boundary() {
        let split = ChronologicalSplit::new(50, 0.3, 0.2);
        let spec = WindowSpec {
            window: 4,
            horizon: 3,
        };
        for part in [split.train, split.validation, split.test] {
            for origin in spec.origins(part.clone()) {
                assert!(origin - spec.window >= part.start, "input before {part:?}");
                assert!(origin + spec.horizon <= part.end, "target after {part:?}");
            }
            // And every fitting window is used: the last one ends exactly at the boundary.
            assert_eq!(
                spec.origins(part.clone()).last(),
                Some(part.end - spec.horizon)
            );
        }
    }

    #[test]
    fn dataset_items_hold_window_then_targets() {
        let values: Vec<f64> = (0..20).map(f64::from).collect();
        let data = WindowDataset::new(
            &values,
            5..15,
            WindowSpec {
                window: 3,
                horizon: 2,
            },
        );
        assert_eq!(data.len(), 6);
        let item = data.get(0).expect("first window");
        assert_eq!(item.input, vec![5.0, 6.0, 7.0]);
        assert_eq!(item.target, vec![8.0, 9.0]);
        let last = data.get(5).expect("last window");
        assert_eq!(last.target, vec![13.0, 14.0]);
        assert!(data.get(6).is_none());
    }

    #[test]
    fn too_short_parts_are_reported() {
        let spec = WindowSpec {
            window: 12,
            horizon: 1,
        };
        assert!(spec.check_fits("test", &(0..13)).is_ok());
        let error = spec.check_fits("test", &(0..12)).expect_err("too short");
        assert_eq!(error.needed, 13);
        assert!(error.to_string().starts_with("the test part has 12 values"));
    }
}
