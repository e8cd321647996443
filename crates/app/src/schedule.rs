//! Learning-rate schedules and early stopping, decided once per epoch as Keras' callbacks do.
//!
//! Both are pure functions of the epoch number and the losses recorded so far, so a resumed run
//! rebuilds their state from `history.csv` and continues exactly where it stopped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::LearningRate;
use burn::prelude::Backend;
use serde::{Deserialize, Serialize};

/// How the learning rate changes from epoch to epoch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum LrSchedule {
    /// The initial rate throughout.
    Constant,
    /// Multiplied by `factor` every `every` epochs (PyTorch's `StepLR`).
    Step {
        /// Epochs between reductions.
        every: usize,
        /// Multiplier per reduction.
        factor: f64,
    },
    /// Half a cosine from the initial rate at the first epoch towards zero after the last
    /// (Keras' `CosineDecay` with `alpha=0`, stepped per epoch).
    Cosine,
    /// Multiplied by `factor` when the monitored loss has not improved by more than 1e-4 for
    /// `patience` epochs, never below `min_rate` (Keras' `ReduceLROnPlateau`, no cooldown).
    Plateau {
        /// Multiplier per reduction.
        factor: f64,
        /// Epochs without improvement before a reduction.
        patience: usize,
        /// The lowest rate.
        min_rate: f64,
    },
}

/// Keras' `ReduceLROnPlateau(min_delta=1e-4)`.
const PLATEAU_MIN_DELTA: f64 = 1e-4;

impl LrSchedule {
    /// The rate of `epoch` (1-based) in a run of `epochs` starting at `initial`, given the
    /// monitored loss of every earlier epoch (`monitored[i]` is epoch `i + 1`'s).
    pub fn rate(&self, initial: f64, epoch: usize, epochs: usize, monitored: &[f64]) -> f64 {
        let done = epoch.saturating_sub(1);
        match *self {
            Self::Constant => initial,
            Self::Step { every, factor } => {
                let reductions = done / every.max(1);
                initial * factor.powi(i32::try_from(reductions).unwrap_or(i32::MAX))
            }
            Self::Cosine => {
                let progress = done as f64 / epochs.max(1) as f64;
                initial * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            Self::Plateau {
                factor,
                patience,
                min_rate,
            } => {
                let mut rate = initial;
                let (mut best, mut wait) = (f64::INFINITY, 0);
                for &loss in monitored.iter().take(done) {
                    if loss < best - PLATEAU_MIN_DELTA {
                        best = loss;
                        wait = 0;
                    } else {
                        wait += 1;
                        if wait >= patience && rate > min_rate {
                            rate = (rate * factor).max(min_rate);
                            wait = 0;
                        }
                    }
                }
                rate
            }
        }
    }
}

/// Keras' `EarlyStopping(patience, restore_best_weights=True, min_delta=0)` over a loss history.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
}

/// Where early stopping stands after some epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoppingState {
    /// The epoch with the lowest monitored loss so far, and that loss.
    pub best: Option<(usize, f64)>,
    /// Whether training should stop now.
    pub stop: bool,
}

impl EarlyStopping {
    /// The state after the epochs whose monitored losses are `monitored` (epoch 1 first).
    pub fn state(&self, monitored: &[f64]) -> StoppingState {
        let mut best: Option<(usize, f64)> = None;
        for (index, &loss) in monitored.iter().enumerate() {
            if best.is_none_or(|(_, lowest)| loss < lowest) {
                best = Some((index + 1, loss));
            }
        }
        let stop = best.is_some_and(|(epoch, _)| monitored.len() - epoch >= self.patience);
        StoppingState { best, stop }
    }
}

/// The learning rate the training loop sets at the start of each epoch, read by Burn's `Learner`
/// at every step through [`LrScheduler`].
#[derive(Clone, Debug)]
pub struct EpochRate(Arc<AtomicU64>);

impl EpochRate {
    /// Starts at `rate`.
    pub fn new(rate: f64) -> Self {
        Self(Arc::new(AtomicU64::new(rate.to_bits())))
    }

    /// Sets the rate for the following steps.
    pub fn set(&self, rate: f64) {
        self.0.store(rate.to_bits(), Ordering::SeqCst);
    }

    /// The current rate.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::SeqCst))
    }
}

impl LrScheduler for EpochRate {
    // The rate is recomputed from the history on resume, so there is nothing to save.
    type Record<B: Backend> = ();

    fn step(&mut self) -> LearningRate {
        self.get()
    }

    fn to_record<B: Backend>(&self) -> Self::Record<B> {}

    fn load_record<B: Backend>(self, _record: Self::Record<B>) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(schedule: LrSchedule, epochs: usize, monitored: &[f64]) -> Vec<f64> {
        (1..=epochs)
            .map(|epoch| schedule.rate(0.1, epoch, epochs, monitored))
            .collect()
    }

    #[test]
    fn constant_and_step_rates_epoch_by_epoch() {
        assert_eq!(rates(LrSchedule::Constant, 3, &[]), [0.1, 0.1, 0.1]);
        let step = LrSchedule::Step {
            every: 2,
            factor: 0.5,
        };
        assert_eq!(rates(step, 5, &[]), [0.1, 0.1, 0.05, 0.05, 0.025]);
    }

    #[test]
    fn cosine_starts_at_the_rate_and_falls_to_near_zero() {
        let rates = rates(LrSchedule::Cosine, 4, &[]);
        let expected = [
            0.1,
            0.05 * (1.0 + (std::f64::consts::PI / 4.0).cos()),
            0.05,
            0.05 * (1.0 + (3.0 * std::f64::consts::PI / 4.0).cos()),
        ];
        for (rate, expected) in rates.iter().zip(expected) {
            assert!((rate - expected).abs() < 1e-15, "{rates:?}");
        }
    }

    #[test]
    fn plateau_reduces_after_patience_epochs_without_improvement() {
        let plateau = LrSchedule::Plateau {
            factor: 0.5,
            patience: 2,
            min_rate: 0.03,
        };
        // Improves in epochs 1-2, stalls in 3-4 (reduce before epoch 5), 5 improves by less than
        // 1e-4 (still a stall), 6 stalls (reduce before 7, floored at 0.03).
        let monitored = [1.0, 0.5, 0.5, 0.6, 0.49995, 0.7, 0.1];
        assert_eq!(
            rates(plateau, 8, &monitored),
            [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.03]
        );
    }

    #[test]
    fn early_stopping_stops_patience_epochs_after_the_best() {
        let stopping = EarlyStopping { patience: 2 };
        let monitored = [3.0, 2.0, 2.5, 2.0, 1.0, 1.5, 1.2];
        let stops: Vec<bool> = (1..=monitored.len())
            .map(|epochs| stopping.state(&monitored[..epochs]).stop)
            .collect();
        // Best at 2, not beaten by the equal loss of epoch 4: stop after epoch 4.
        assert_eq!(stops, [false, false, false, true, false, false, true]);
        assert_eq!(stopping.state(&monitored[..4]).best, Some((2, 2.0)));
        assert_eq!(stopping.state(&monitored).best, Some((5, 1.0)));
    }

    #[test]
    fn epoch_rate_feeds_the_learner() {
        let mut rate = EpochRate::new(0.01);
        assert_eq!(rate.step(), 0.01);
        rate.clone().set(0.002);
        assert_eq!(rate.step(), 0.002);
    }
}
