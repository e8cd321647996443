//! Reorderings of sequence tensors, in tensor operations: step-major rows and back, and the
//! final step of a sequence's outputs.

use burn::prelude::*;

/// The hidden state of the last step processed: `[batch, steps, hidden]` → `[batch, hidden]`.
pub(crate) fn final_step<B: Backend>(outputs: Tensor<B, 3>, reverse: bool) -> Tensor<B, 2> {
    let [batch, steps, hidden] = outputs.dims();
    let time = if reverse { 0 } else { steps - 1 };
    outputs
        .slice([0..batch, time..time + 1, 0..hidden])
        .reshape([batch, hidden])
}

/// Step-major rows in processing order: `[batch, steps, width]` → `[steps·batch, width]`,
/// reversed in time when `reverse`.
pub(super) fn step_major<B: Backend>(sequences: Tensor<B, 3>, reverse: bool) -> Tensor<B, 2> {
    let [batch, steps, width] = sequences.dims();
    let ordered = if reverse {
        sequences.flip([1])
    } else {
        sequences
    };
    ordered.swap_dims(0, 1).reshape([steps * batch, width])
}

/// The inverse of [`step_major`].
pub(super) fn batch_major<B: Backend>(
    rows: Tensor<B, 2>,
    batch: usize,
    reverse: bool,
) -> Tensor<B, 3> {
    let [total, width] = rows.dims();
    let ordered = rows.reshape([total / batch, batch, width]).swap_dims(0, 1);
    if reverse {
        ordered.flip([1])
    } else {
        ordered
    }
}
