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
    /// Forecast origins `t` whose targets `t..t+horizon` all lie in `targets`, with inputs
    /// `t-window..t` at or after `first_input` (the first defined value of the series). `t` is
    /// the index of the first predicted value. The inputs may lie before `targets`: a forecast's
    /// inputs are the past at its origin, wherever it was recorded, so that every value of a part
    /// is forecast.
    pub fn origins(&self, targets: Range<usize>, first_input: usize) -> Range<usize> {
        let first = targets.start.max(first_input + self.window);
        let end = (targets.end + 1).saturating_sub(self.horizon);
        first..end.max(first)
    }

    /// Checks that `part` holds the targets of at least one forecast whose inputs start at or
    /// after `first_input`.
    pub fn check_fits(
        &self,
        part_name: &'static str,
        part: &Range<usize>,
        first_input: usize,
    ) -> Result<(), TooShort> {
        if self.origins(part.clone(), first_input).is_empty() {
            let first_origin = part.start.max(first_input + self.window);
            Err(TooShort {
                part: part_name,
                len: part.len(),
                window: self.window,
                horizon: self.horizon,
                warm_up: first_input,
                needed: first_origin + self.horizon - part.start,
            })
        } else {
            Ok(())
        }
    }
}

/// A split part too short for a single forecast.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "the {part} part has {len} values, too few for one forecast of {horizon} from {window} \
     inputs{} ({needed} values)", warm_up_note(*.warm_up)
)]
pub struct TooShort {
    /// `training`, `validation` or `test`.
    pub part: &'static str,
    /// Values in that part.
    pub len: usize,
    /// The window length.
    pub window: usize,
    /// The horizon.
    pub horizon: usize,
    /// Values at the start of the series that differencing uses up.
    pub warm_up: usize,
    /// The values the part would need.
    pub needed: usize,
}

fn warm_up_note(warm_up: usize) -> String {
    match warm_up {
        0 => String::new(),
        n => format!(" after the {n} values the differences use up"),
    }
}

/// The forecasts whose targets lie in one split part of a (transformed, scaled) series, as
/// training items: each item's input is the window's `[steps, columns]` values in row-major
/// order (the target first, then each feature), its target the next `horizon` target values.
#[derive(Clone, Debug)]
pub struct WindowDataset {
    /// `[len, columns]`, row-major: the target, then the features, at each time step.
    values: Vec<f64>,
    columns: usize,
    origins: Vec<usize>,
    spec: WindowSpec,
}

impl WindowDataset {
    /// Every forecast of `spec` whose targets lie in `part` of `values` and whose inputs start at
    /// or after `first_input`.
    pub fn new(values: &[f64], part: Range<usize>, first_input: usize, spec: WindowSpec) -> Self {
        Self::with_features(values, &[], part, first_input, spec)
    }

    /// As [`WindowDataset::new`], with `features` (each as long as `target`) read beside the
    /// target at every step of the window; the targets are the target's alone.
    pub fn with_features(
        target: &[f64],
        features: &[&[f64]],
        part: Range<usize>,
        first_input: usize,
        spec: WindowSpec,
    ) -> Self {
        let columns = 1 + features.len();
        let mut values = Vec::with_capacity(target.len() * columns);
        for (index, &value) in target.iter().enumerate() {
            values.push(value);
            values.extend(features.iter().map(|feature| feature[index]));
        }
        Self {
            values,
            columns,
            origins: spec.origins(part, first_input).collect(),
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
        let columns = self.columns;
        Some(SequenceItem {
            input: self.values[(origin - window) * columns..origin * columns].to_vec(),
            target: (origin..origin + horizon)
                .map(|index| self.values[index * columns])
                .collect(),
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
    fn targets_stay_in_their_part_and_every_value_is_a_target() {
        let split = ChronologicalSplit::new(50, 0.3, 0.2);
        let spec = WindowSpec {
            window: 4,
            horizon: 3,
        };
        for part in [
            split.train.clone(),
            split.validation.clone(),
            split.test.clone(),
        ] {
            let origins = spec.origins(part.clone(), 0);
            for origin in origins.clone() {
                assert!(origin >= part.start, "target before {part:?}");
                assert!(origin + spec.horizon <= part.end, "target after {part:?}");
                assert!(origin >= spec.window, "input before the series");
            }
            // Every value of the part is the target of some forecast step.
            let first = origins.start;
            let covered = first..origins.end - 1 + spec.horizon;
            let reachable = part.start.max(spec.window)..part.end;
            assert_eq!(covered, reachable, "{part:?}");
        }
        // The validation and test parts read their first inputs from the parts before them.
        assert_eq!(spec.origins(split.test.clone(), 0).start, split.test.start);
        // Inputs never reach back before the first defined value.
        assert_eq!(spec.origins(0..20, 13).start, 17);
    }

    #[test]
    fn dataset_items_hold_window_then_targets() {
        let values: Vec<f64> = (0..20).map(f64::from).collect();
        let data = WindowDataset::new(
            &values,
            8..15,
            5,
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
    fn features_sit_beside_the_target_at_every_step() {
        let target: Vec<f64> = (0..10).map(f64::from).collect();
        let wind: Vec<f64> = (0..10).map(|i| 100.0 + f64::from(i)).collect();
        let rain: Vec<f64> = (0..10).map(|i| -f64::from(i)).collect();
        let spec = WindowSpec {
            window: 2,
            horizon: 2,
        };
        let data = WindowDataset::with_features(&target, &[&wind, &rain], 0..10, 0, spec);
        let item = data.get(0).expect("first window");
        assert_eq!(item.input, vec![0.0, 100.0, -0.0, 1.0, 101.0, -1.0]);
        assert_eq!(item.target, vec![2.0, 3.0], "the target's values alone");
        let last = data.get(data.len() - 1).expect("last window");
        assert_eq!(last.input, vec![6.0, 106.0, -6.0, 7.0, 107.0, -7.0]);
        assert_eq!(last.target, vec![8.0, 9.0]);
    }

    #[test]
    fn too_short_parts_are_reported() {
        let spec = WindowSpec {
            window: 12,
            horizon: 1,
        };
        assert!(spec.check_fits("training", &(0..13), 0).is_ok());
        let error = spec
            .check_fits("training", &(0..12), 0)
            .expect_err("too short");
        assert_eq!(error.needed, 13);
        assert_eq!(
            error.to_string(),
            "the training part has 12 values, too few for one forecast of 1 from 12 inputs (13 \
             values)"
        );
        let error = spec
            .check_fits("training", &(0..20), 13)
            .expect_err("warm-up");
        assert_eq!(error.needed, 26);
        assert!(error
            .to_string()
            .contains("after the 13 values the differences use up"));
        // A later part needs only its targets: the inputs come from before it.
        assert!(spec.check_fits("test", &(40..41), 0).is_ok());
        let error = spec.check_fits("test", &(40..40), 0).expect_err("empty");
        assert_eq!(error.needed, 1);
    }
}
