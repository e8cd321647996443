//! When training writes a checkpoint, and which it keeps.
//!
//! A checkpoint after every epoch cost the tutorial (100 epochs of about 5 ms) a quarter of its
//! whole run: each one clones the model and Adam's moments on the training thread and queues
//! three files for Burn's writer thread, which the end of the run then waits for. Checkpoints now
//! come at most once per [`CHECKPOINT_INTERVAL`], and always after the last epoch; a run that
//! stops early checkpoints its last complete epoch on the way out (the epoch loop keeps it), so
//! only a run killed outright resumes from further back. `history.csv` is written with each
//! checkpoint and when the run ends.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::metric::store::EventStoreClient;

/// The least training time between two checkpoints.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Decides, after each epoch, whether to checkpoint it.
#[derive(Debug)]
pub struct CheckpointSchedule {
    interval: Duration,
    last: Instant,
}

impl CheckpointSchedule {
    /// A schedule whose first checkpoint is due `interval` from now.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Instant::now(),
        }
    }

    /// Whether the epoch just finished is checkpointed: when it ends the run (`final_epoch`),
    /// or `interval` has passed since the last checkpoint (or the start). Counts the interval
    /// from now when it says yes.
    pub fn due(&mut self, final_epoch: bool) -> bool {
        let now = Instant::now();
        let due = final_epoch || now.duration_since(self.last) >= self.interval;
        if due {
            self.last = now;
        }
        due
    }
}

/// Keeps the last `keep` checkpoints written, deleting older ones. Burn's
/// `KeepLastNCheckpoints` deletes epoch `N - keep` whenever it saves epoch `N`, which leaves
/// older checkpoints behind when not every epoch is saved.
#[derive(Debug)]
pub struct KeepLastSaved {
    keep: usize,
    saved: VecDeque<usize>,
}

impl KeepLastSaved {
    /// Keeps the last `keep` (at least one).
    pub fn new(keep: usize) -> Self {
        Self {
            keep: keep.max(1),
            saved: VecDeque::new(),
        }
    }

    /// Records that `epoch` is saved; returns the epochs whose checkpoints to delete now.
    fn saving(&mut self, epoch: usize) -> Vec<usize> {
        self.saved.push_back(epoch);
        let excess = self.saved.len().saturating_sub(self.keep);
        self.saved.drain(..excess).collect()
    }
}

impl CheckpointingStrategy for KeepLastSaved {
    fn checkpointing(
        &mut self,
        epoch: usize,
        _store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let deletions = self.saving(epoch).into_iter();
        std::iter::once(CheckpointingAction::Save)
            .chain(deletions.map(CheckpointingAction::Delete))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_epoch_is_always_due_and_others_wait_for_the_interval() {
        let mut hourly = CheckpointSchedule::new(Duration::from_secs(3600));
        assert!(!hourly.due(false));
        assert!(hourly.due(true));
        let mut always = CheckpointSchedule::new(Duration::ZERO);
        assert!(always.due(false));
        assert!(always.due(false));
    }

    #[test]
    fn only_checkpoints_that_were_saved_are_deleted_oldest_first() {
        // (Burn's EventStoreClient cannot be built outside burn-train, so the trait method,
        // which only wraps `saving`, is covered by the CLI tests' resumed runs.)
        let mut strategy = KeepLastSaved::new(2);
        assert_eq!(strategy.saving(3), Vec::<usize>::new());
        assert_eq!(strategy.saving(9), Vec::<usize>::new());
        assert_eq!(strategy.saving(40), vec![3]);
        assert_eq!(strategy.saving(41), vec![9]);
        let mut one = KeepLastSaved::new(0);
        assert_eq!(one.saving(1), Vec::<usize>::new());
        assert_eq!(one.saving(2), vec![1]);
    }
}
