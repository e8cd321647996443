//! The tutorial's synthetic regression set: Gaussian sequences and the sine of their mean.

use std::io::Write;

use burn::config::Config;
use burn::data::dataset::Dataset;

use crate::error::DataError;
use crate::numpy_random::{numpy_sum, NumpyRandomState};

/// How to draw the synthetic set; the defaults are the tutorial's.
#[derive(Config, Debug, PartialEq)]
pub struct SyntheticConfig {
    /// Number of sequences (NumPy's first `randn` dimension).
    #[config(default = 100)]
    pub samples: usize,
    /// Time steps per sequence.
    #[config(default = 10)]
    pub steps: usize,
    /// Features per time step.
    #[config(default = 1)]
    pub features: usize,
    /// The `np.random.seed` value (0 to 2³²−1).
    #[config(default = 0)]
    pub seed: u32,
}

/// One sequence and its target.
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceItem {
    /// The sequence, `steps × features` values in row-major order (`[steps, features]`).
    pub input: Vec<f64>,
    /// The regression targets, one per output (`sin(mean)`: one value per feature).
    pub target: Vec<f64>,
}

/// The whole synthetic set in float64, exactly as NumPy computes it.
///
/// `X` has shape `[samples, steps, features]`; `y = sin(mean(X, axis=1))` has shape
/// `[samples, features]`.
#[derive(Clone, Debug)]
pub struct SyntheticDataset {
    config: SyntheticConfig,
    inputs: Vec<f64>,
    targets: Vec<f64>,
}

impl SyntheticDataset {
    /// Draws `X` and computes `y` as the tutorial does.
    pub fn generate(config: &SyntheticConfig) -> Result<Self, DataError> {
        for (name, value) in [
            ("samples", config.samples),
            ("steps", config.steps),
            ("features", config.features),
        ] {
            if value == 0 {
                return Err(DataError::ZeroSize { name });
            }
        }
        let (steps, features) = (config.steps, config.features);
        let inputs = NumpyRandomState::new(config.seed).randn(config.samples * steps * features);

        let mut targets = Vec::with_capacity(config.samples * features);
        let mut column = Vec::with_capacity(steps);
        for sequence in inputs.chunks_exact(steps * features) {
            for feature in 0..features {
                column.clear();
                column.extend(sequence.iter().skip(feature).step_by(features));
                let mean = numpy_sum(&column) / steps as f64;
                targets.push(mean.sin());
            }
        }
        Ok(Self {
            config: config.clone(),
            inputs,
            targets,
        })
    }

    /// The configuration the set was drawn with.
    pub fn config(&self) -> &SyntheticConfig {
        &self.config
    }

    /// The sequence at `index`: `steps × features` values, `[steps, features]` row-major.
    pub fn input(&self, index: usize) -> &[f64] {
        let width = self.config.steps * self.config.features;
        &self.inputs[index * width..(index + 1) * width]
    }

    /// The targets of the sequence at `index`, one per feature.
    pub fn target(&self, index: usize) -> &[f64] {
        let width = self.config.features;
        &self.targets[index * width..(index + 1) * width]
    }

    /// All targets in sample order, `[samples, features]` row-major.
    pub fn targets(&self) -> &[f64] {
        &self.targets
    }

    /// Writes the set as CSV, one sequence per row, with the columns of NumPy's fixture:
    /// `x0..x{steps-1},y` for one feature, `x{t}_{f}` and `y{f}` for several. Values are printed
    /// in their shortest form that parses back to the same `f64`.
    pub fn write_csv<W: Write>(&self, writer: W) -> Result<(), DataError> {
        let (steps, features) = (self.config.steps, self.config.features);
        let mut csv = csv::Writer::from_writer(writer);
        let mut header = Vec::with_capacity(steps * features + features);
        for step in 0..steps {
            for feature in 0..features {
                header.push(match features {
                    1 => format!("x{step}"),
                    _ => format!("x{step}_{feature}"),
                });
            }
        }
        for feature in 0..features {
            header.push(match features {
                1 => "y".to_string(),
                _ => format!("y{feature}"),
            });
        }
        csv.write_record(&header)?;
        for index in 0..self.config.samples {
            let row = self.input(index).iter().chain(self.target(index));
            csv.write_record(row.map(|value| value.to_string()))?;
        }
        csv.flush().map_err(csv::Error::from)?;
        Ok(())
    }
}

impl Dataset<SequenceItem> for SyntheticDataset {
    fn get(&self, index: usize) -> Option<SequenceItem> {
        (index < self.config.samples).then(|| SequenceItem {
            input: self.input(index).to_vec(),
            target: self.target(index).to_vec(),
        })
    }

    fn len(&self) -> usize {
        self.config.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/seed_data.csv"
    );

    fn read_fixture() -> Vec<Vec<f64>> {
        let mut reader = csv::Reader::from_path(FIXTURE).expect("the NumPy fixture should exist");
        reader
            .records()
            .map(|record| {
                record
                    .expect("the fixture should be valid CSV")
                    .iter()
                    .map(|cell| cell.parse().expect("the fixture should hold floats"))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn seed_data_equals_numpy_fixture() {
        let data = SyntheticDataset::generate(&SyntheticConfig::new()).expect("defaults are valid");
        let fixture = read_fixture();
        assert_eq!(fixture.len(), data.len());
        let mut worst = 0.0_f64;
        for (index, row) in fixture.iter().enumerate() {
            let ours = data.input(index).iter().chain(data.target(index));
            assert_eq!(row.len(), 11);
            for (expected, actual) in row.iter().zip(ours) {
                let relative = (expected - actual).abs() / expected.abs().max(f64::MIN_POSITIVE);
                worst = worst.max(relative);
            }
        }
        assert!(worst <= 1e-15, "largest relative difference {worst:e}");
    }

    #[test]
    fn csv_export_round_trips_to_the_fixture_text() {
        let data = SyntheticDataset::generate(&SyntheticConfig::new()).expect("defaults are valid");
        let mut written = Vec::new();
        data.write_csv(&mut written)
            .expect("writing to memory works");
        let fixture = std::fs::read_to_string(FIXTURE).expect("the NumPy fixture should exist");
        let written = String::from_utf8(written).expect("CSV is UTF-8");
        // Both sides print the shortest round-tripping form, so the text itself matches.
        assert_eq!(
            written.lines().collect::<Vec<_>>(),
            fixture.lines().collect::<Vec<_>>()
        );
    }

    #[test]
    fn targets_are_sine_of_the_mean_per_feature() {
        let config = SyntheticConfig::new()
            .with_samples(4)
            .with_steps(3)
            .with_features(2);
        let data = SyntheticDataset::generate(&config).expect("sizes are valid");
        let input = data.input(2);
        let mean_of_feature_1 = (input[1] + input[3] + input[5]) / 3.0;
        assert!((data.target(2)[1] - mean_of_feature_1.sin()).abs() < 1e-15);
        assert_eq!(data.targets().len(), 8);
    }

    #[test]
    fn dataset_trait_yields_every_item_then_none() {
        let data = SyntheticDataset::generate(&SyntheticConfig::new().with_samples(3))
            .expect("sizes are valid");
        assert_eq!(data.len(), 3);
        let item = data.get(2).expect("index 2 exists");
        assert_eq!(item.input.len(), 10);
        assert_eq!(item.target, data.target(2));
        assert!(data.get(3).is_none());
    }

    #[test]
    fn zero_sizes_are_refused_by_name() {
        for (config, name) in [
            (SyntheticConfig::new().with_samples(0), "samples"),
            (SyntheticConfig::new().with_steps(0), "steps"),
            (SyntheticConfig::new().with_features(0), "features"),
        ] {
            let error = SyntheticDataset::generate(&config).expect_err("zero is invalid");
            assert_eq!(
                error.to_string(),
                format!("{name} must be at least 1 (got 0)")
            );
        }
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = SyntheticConfig::new().with_seed(7).with_steps(12);
        let json = config.to_string();
        assert_eq!(
            SyntheticConfig::load_binary(json.as_bytes()).expect("valid JSON"),
            config
        );
    }
}
