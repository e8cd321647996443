//! Row copies between the tensors Burn hands the kernel and its step-major buffers: the
//! step-major input rows, the outputs as a view of the hidden states, the final step, and the
//! four gates joined and split.

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_ndarray::NdArrayTensor;
use ndarray::{ArcArray, Axis, IxDyn};

use super::{spare, Cpu};
use crate::ndarray_buffers::{as_is, shared, slice, tensor};

/// Step-major rows (`[steps·batch, width]`, processing order) as `[batch, steps, width]` in the
/// input's time order, sharing `rows`' buffer: [`batch_major`](crate::lstm_op::batch_major) does this in tensor
/// operations, but NdArray's `reshape` copies every time, on one thread.
pub(super) fn batch_major_view(
    rows: &ArcArray<f32, IxDyn>,
    batch: usize,
    reverse: bool,
) -> Tensor<Cpu, 3> {
    let [total, width] = rows.shape() else {
        unreachable!("step-major rows are two-dimensional")
    };
    let steps = total / batch;
    let mut array = rows
        .clone()
        .into_shape_with_order(IxDyn(&[steps, batch, *width]))
        .expect("the rows are contiguous, `steps·batch` of them");
    array.swap_axes(0, 1);
    if reverse {
        array.invert_axis(Axis(1));
    }
    Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(array)))
}

/// [`step_major`](crate::lstm_op::step_major) for NdArray: `[batch, steps, width]` as step-major rows
/// (`[steps·batch, width]`, processing order), one row copy per sequence and step. The tensor
/// version's reshape of a transposed view copies value by value through ndarray's generic
/// iterator, slowest with few features per step.
pub(super) fn step_major_rows(sequences: Tensor<Cpu, 3>, reverse: bool) -> Tensor<Cpu, 2> {
    let [batch, steps, width] = sequences.dims();
    let values = shared(sequences);
    let values = slice(&values);
    let mut rows = Vec::with_capacity(steps * batch * width);
    for position in 0..steps {
        let step = if reverse {
            steps - 1 - position
        } else {
            position
        };
        for sequence in 0..batch {
            let start = (sequence * steps + step) * width;
            rows.extend_from_slice(&values[start..start + width]);
        }
    }
    tensor(rows, [steps * batch, width])
}

/// See [`LstmBackend::lstm_final_step`](crate::lstm_op::LstmBackend::lstm_final_step). The outputs of
/// [`forward`](super::forward) are a view of step-major rows, so one step's hidden states are a contiguous
/// block of them: one copy.
pub fn final_step(outputs: Tensor<Cpu, 3>, reverse: bool) -> Tensor<Cpu, 2> {
    let [_, steps, _] = outputs.dims();
    let time = if reverse { 0 } else { steps - 1 };
    let array = as_is(outputs);
    // `to_owned` copies a contiguous view in one piece, any other element by element.
    let state = array.index_axis(Axis(1), time).to_owned().into_shared();
    // Without a trace (inference) nothing else holds the hidden states: the next batch's
    // forward pass takes their buffer instead of a fresh one.
    spare::give_back_array(array);
    Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(state)))
}

/// See [`LstmBackend::lstm_join_columns`](crate::lstm_op::LstmBackend::lstm_join_columns):
/// each row of the result is the parts' rows one after the other. The parts are read row by row
/// where they lie: the outputs of [`forward`](super::forward) are views of step-major rows, whose
/// rows (the last axis) are contiguous, so they are not first copied into a row-major layout
/// value by value.
pub fn join_columns<const D: usize, const N: usize>(parts: [Tensor<Cpu, D>; N]) -> Tensor<Cpu, D> {
    let mut shape = parts[0].dims();
    let columns = shape[D - 1];
    let parts = parts.map(as_is);
    let rows = parts[0].len() / columns.max(1);
    let mut joined = Vec::with_capacity(N * rows * columns);
    let mut lanes = parts
        .each_ref()
        .map(|part| part.lanes(Axis(D - 1)).into_iter());
    for _ in 0..rows {
        for lane in &mut lanes {
            let lane = lane.next().expect("every part has the same rows");
            match lane.as_slice() {
                Some(values) => joined.extend_from_slice(values),
                None => joined.extend(lane.iter().copied()),
            }
        }
    }
    shape[D - 1] = N * columns;
    tensor(joined, shape)
}

/// See [`LstmBackend::lstm_split_columns`](crate::lstm_op::LstmBackend::lstm_split_columns).
pub fn split_columns<const D: usize, const N: usize>(
    joined: Tensor<Cpu, D>,
) -> [Tensor<Cpu, D>; N] {
    let mut shape = joined.dims();
    let columns = shape[D - 1] / N;
    shape[D - 1] = columns;
    let joined = shared(joined);
    let rows = joined.len() / (N * columns).max(1);
    std::array::from_fn(|index| {
        let mut part = Vec::with_capacity(rows * columns);
        for row in slice(&joined).chunks_exact((N * columns).max(1)) {
            part.extend_from_slice(&row[index * columns..][..columns]);
        }
        tensor(part, shape)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lstm_op::cpu::forward;
    use crate::lstm_op::{LstmActivations, LstmKernels, Nonlinearity};
    use burn::tensor::Distribution;

    fn values<const D: usize>(tensor: Tensor<Cpu, D>) -> Vec<f32> {
        tensor.into_data().to_vec::<f32>().expect("floats")
    }

    /// The row-copy join and split equal `Tensor::cat` and `narrow` (what every other backend
    /// runs), for vectors, matrices, a transposed (non-contiguous) matrix, one column per part,
    /// four LSTM gates, three GRU gates and two directions' sequences, and split undoes join.
    #[test]
    fn joining_and_splitting_gates_equal_cat_and_narrow() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let matrix = |rows: usize, columns: usize| {
            Tensor::<Cpu, 2>::random([rows, columns], Distribution::Normal(0.0, 1.0), &device)
        };
        let transposed: [Tensor<Cpu, 2>; 4] = std::array::from_fn(|_| matrix(5, 3).transpose());
        for gates in [
            std::array::from_fn(|_| matrix(3, 4)),
            std::array::from_fn(|_| matrix(2, 1)),
            transposed,
        ] {
            let joined = join_columns(gates.clone());
            assert_eq!(
                values(joined.clone()),
                values(Tensor::cat(gates.to_vec(), 1)),
                "join of {:?}",
                gates[0].dims()
            );
            let width = gates[0].dims()[1];
            for (gate, (part, original)) in split_columns::<2, 4>(joined.clone())
                .into_iter()
                .zip(gates)
                .enumerate()
            {
                assert_eq!(part.dims(), original.dims());
                assert_eq!(
                    values(part),
                    values(joined.clone().narrow(1, gate * width, width))
                );
                assert_eq!(
                    values(
                        split_columns::<2, 4>(join_columns([
                            original.clone(),
                            original.clone(),
                            original.clone(),
                            original.clone()
                        ]))[gate]
                            .clone()
                    ),
                    values(original)
                );
            }
        }
        let vectors: [Tensor<Cpu, 1>; 4] = std::array::from_fn(|gate| {
            Tensor::from_floats([gate as f32, 10.0 + gate as f32], &device)
        });
        let joined = join_columns(vectors);
        assert_eq!(
            values(joined.clone()),
            [0.0, 10.0, 1.0, 11.0, 2.0, 12.0, 3.0, 13.0]
        );
        let parts = split_columns::<1, 4>(joined).map(values);
        assert_eq!(parts[2], [2.0, 12.0]);
        // Two directions' [batch, steps, hidden] outputs, and three GRU gates.
        let sequences: [Tensor<Cpu, 3>; 2] = std::array::from_fn(|_| {
            Tensor::random([3, 5, 4], Distribution::Normal(0.0, 1.0), &device)
        });
        let joined = join_columns(sequences.clone());
        assert_eq!(
            values(joined.clone()),
            values(Tensor::cat(sequences.to_vec(), 2))
        );
        let halves = split_columns::<3, 2>(joined);
        for (half, original) in halves.into_iter().zip(sequences) {
            assert_eq!(values(half), values(original));
        }
        let three: [Tensor<Cpu, 2>; 3] = std::array::from_fn(|_| matrix(2, 6));
        assert_eq!(
            values(join_columns(three.clone())),
            values(Tensor::cat(three.to_vec(), 1))
        );
    }

    /// The row copies equal the tensor-operation versions every other backend runs: step-major
    /// rows of contiguous and transposed (non-contiguous) sequences, the final step of plain
    /// outputs and of [`forward`]'s (a view of step-major rows), in both directions, and the join
    /// of two directions' outputs.
    #[test]
    fn step_rows_and_final_step_equal_the_tensor_operations() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let random = |shape: [usize; 3]| {
            Tensor::<Cpu, 3>::random(shape, Distribution::Normal(0.0, 1.0), &device)
        };
        let kernels = |input: usize, hidden: usize| LstmKernels {
            input: Tensor::random([input, 4 * hidden], Distribution::Normal(0.0, 0.5), &device),
            recurrent: Tensor::random(
                [hidden, 4 * hidden],
                Distribution::Normal(0.0, 0.5),
                &device,
            ),
            bias: Tensor::random([4 * hidden], Distribution::Normal(0.0, 0.5), &device),
        };
        let activations = LstmActivations {
            gate: Nonlinearity::Sigmoid,
            cell: Nonlinearity::Tanh,
            hidden: Nonlinearity::Tanh,
        };
        for reverse in [false, true] {
            for sequences in [
                random([4, 5, 3]),
                random([2, 7, 1]),
                random([5, 4, 3]).swap_dims(0, 1),
            ] {
                let rows = step_major_rows(sequences.clone(), reverse);
                let expected = crate::lstm_op::step_major(sequences.clone(), reverse);
                assert_eq!(rows.dims(), expected.dims());
                assert_eq!(values(rows), values(expected), "{:?}", sequences.dims());

                assert_eq!(
                    values(final_step(sequences.clone(), reverse)),
                    values(crate::lstm_op::final_step(sequences.clone(), reverse))
                );
                let [_, _, input] = sequences.dims();
                let (outputs, _) = forward(
                    sequences.clone(),
                    kernels(input, 6),
                    activations,
                    reverse,
                    false,
                );
                assert_eq!(
                    values(final_step(outputs.clone(), reverse)),
                    values(crate::lstm_op::final_step(outputs.clone(), reverse)),
                    "final step of forward's outputs, {:?}",
                    sequences.dims()
                );
                // A bidirectional layer's join reads both directions' outputs (views of
                // step-major rows, the reverse one backwards in time) where they lie.
                let (other, _) = forward(
                    sequences.clone(),
                    kernels(input, 6),
                    activations,
                    !reverse,
                    false,
                );
                let both = [outputs, other];
                assert_eq!(
                    values(join_columns(both.clone())),
                    values(Tensor::cat(both.to_vec(), 2)),
                    "join of forward's outputs, {:?}",
                    sequences.dims()
                );
            }
        }
    }
}
