//! Per-epoch shuffling that depends only on the seed and the epoch number.
//!
//! Burn's `DataLoaderBuilder::shuffle` advances one generator from epoch to epoch, so a run
//! resumed at epoch 6 would see epoch 1's order again. Here the order of epoch `e` is drawn from
//! a generator seeded with `(seed, e)`: a resumed run sees exactly the orders of an unbroken one.

use std::sync::{Arc, RwLock};

use burn::data::dataset::Dataset;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// A seed for epoch `epoch` of a run seeded with `seed` (SplitMix64 of both).
pub fn epoch_seed(seed: u32, epoch: usize) -> u64 {
    let mut z = (u64::from(seed) << 32 | epoch as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The items of a dataset in the order of the current epoch.
#[derive(Clone, Debug)]
pub struct EpochShuffled<I> {
    items: Arc<Vec<I>>,
    order: Arc<RwLock<Vec<usize>>>,
}

impl<I: Clone + Send + Sync> EpochShuffled<I> {
    /// `items` in their own order until [`shuffle_for`](Self::shuffle_for) is called.
    pub fn new(items: Vec<I>) -> Self {
        let order = (0..items.len()).collect();
        Self {
            items: Arc::new(items),
            order: Arc::new(RwLock::new(order)),
        }
    }

    /// Puts the items in epoch `epoch`'s order (visible to every clone).
    pub fn shuffle_for(&self, seed: u32, epoch: usize) {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(epoch_seed(seed, epoch)));
        *self.order.write().unwrap_or_else(|p| p.into_inner()) = order;
    }
}

impl<I: Clone + Send + Sync> Dataset<I> for EpochShuffled<I> {
    fn get(&self, index: usize) -> Option<I> {
        let order = self.order.read().unwrap_or_else(|p| p.into_inner());
        order
            .get(index)
            .and_then(|&item| self.items.get(item).cloned())
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(dataset: &EpochShuffled<usize>) -> Vec<usize> {
        (0..dataset.len()).filter_map(|i| dataset.get(i)).collect()
    }

    #[test]
    fn each_epoch_is_a_permutation_fixed_by_seed_and_epoch() {
        let dataset = EpochShuffled::new((0..50).collect::<Vec<usize>>());
        assert_eq!(order(&dataset), (0..50).collect::<Vec<_>>());
        dataset.shuffle_for(7, 3);
        let third = order(&dataset);
        let mut sorted = third.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(third, sorted);

        // Another epoch differs; coming back to epoch 3, even from a fresh copy, gives the same.
        dataset.shuffle_for(7, 4);
        assert_ne!(order(&dataset), third);
        let fresh = EpochShuffled::new((0..50).collect::<Vec<usize>>());
        fresh.shuffle_for(7, 3);
        assert_eq!(order(&fresh), third);
        fresh.shuffle_for(8, 3);
        assert_ne!(order(&fresh), third);
    }
}
