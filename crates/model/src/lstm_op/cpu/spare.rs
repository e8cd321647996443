//! Buffers the CPU kernel hands from one batch to the next.
//!
//! Every forward pass needs a gate buffer of `steps·batch·4H` values and a cell and a hidden
//! buffer of `steps·batch·H` each (tens of megabytes for long sequences and wide layers). Fresh
//! ones from `vec![0.0; n]` are zeroed by the allocator on the calling thread before the worker
//! threads start, leaving the other cores idle meanwhile. The kernel writes every value of these buffers before it reads it, so the buffers
//! of a batch the backward pass is done with serve the next batch as they are.

use ndarray::{ArcArray, IxDyn};
use std::sync::{Mutex, MutexGuard};

/// At most this many buffers wait: a training step's three and an evaluation's, with room for
/// a second batch shape (the last, shorter batch of an epoch).
const MAX_SPARE: usize = 8;

static SPARE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

fn spare() -> MutexGuard<'static, Vec<Vec<f32>>> {
    // The list is valid whatever a panicking holder left half done: push and remove only.
    SPARE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A buffer of `len` values, for a caller that writes each value before reading it: a spare
/// one (holding an earlier batch's values) when one fits, else a zeroed one.
pub(super) fn take(len: usize) -> Vec<f32> {
    let recycled = {
        let mut spare = spare();
        // The smallest that fits, and none more than twice too big, so that a small request
        // does not pin a large buffer that a later large request would have to allocate anew.
        let fitting = spare
            .iter()
            .enumerate()
            .filter(|(_, buffer)| (len..=2 * len).contains(&buffer.capacity()))
            .min_by_key(|(_, buffer)| buffer.capacity())
            .map(|(index, _)| index);
        fitting.map(|index| spare.swap_remove(index))
    };
    match recycled {
        Some(mut buffer) => {
            buffer.truncate(len);
            // Writes only what the buffer's earlier use did not reach.
            buffer.resize(len, 0.0);
            buffer
        }
        None => vec![0.0; len],
    }
}

/// Keeps `buffer` for a later [`take`]; the oldest spare is dropped when there are too many.
pub(super) fn give_back(buffer: Vec<f32>) {
    if buffer.capacity() == 0 {
        return;
    }
    let dropped = {
        let mut spare = spare();
        spare.push(buffer);
        (spare.len() > MAX_SPARE).then(|| spare.remove(0))
    };
    // Freed outside the lock.
    drop(dropped);
}

/// [`give_back`] for an array's buffer, when nothing else holds it.
pub(super) fn give_back_array(array: ArcArray<f32, IxDyn>) {
    if !array.is_unique() {
        return;
    }
    let (buffer, _) = array.into_owned().into_raw_vec_and_offset();
    give_back(buffer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Other tests use the pool concurrently, so each test asks for a length of its own.
    #[test]
    fn a_given_back_buffer_is_taken_again_at_its_length() {
        let len = 1_234_567;
        let mut buffer = take(len);
        assert_eq!(buffer.len(), len);
        buffer[0] = 42.0;
        let address = buffer.as_ptr();
        give_back(buffer);
        let again = take(len - 1000);
        assert_eq!(again.len(), len - 1000);
        assert_eq!(again.as_ptr(), address, "the spare buffer is reused");
        assert_eq!(again[0], 42.0, "and not cleared");
    }

    #[test]
    fn a_buffer_more_than_twice_too_big_is_not_taken() {
        let len = 9_000_000;
        give_back(vec![1.0; len]);
        let small = take(len / 3);
        assert_eq!(small.len(), len / 3);
        assert!(
            small.iter().all(|&value| value == 0.0),
            "a fresh, zeroed buffer"
        );
    }
}
