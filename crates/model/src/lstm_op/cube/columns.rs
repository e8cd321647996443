//! [`LstmBackend::lstm_join_columns`](super::LstmBackend::lstm_join_columns) and its inverse on
//! CubeCL backends as one copy kernel each.
//!
//! Burn's `Tensor::cat` is one launch per part and `narrow` of a column block one copy per part:
//! joining the gates' weights into the fused kernels and splitting their gradients again took
//! about a third of the tutorial's launches per training step. Here a join or a split of up to
//! four parts (the LSTM's gates, the GRU's, two directions) is one launch; more parts take
//! Burn's way.

use burn::prelude::*;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};

use super::{contiguous, from_primitive, launch_shape, primitive};

mod kernel {
    use cubecl::prelude::*;

    /// `out[r, p·columns + c] = part_p[r, c]` for the parts `a, b, c, d` (`width / columns` of
    /// them; the others are never read). One unit per element of `out`.
    #[allow(clippy::too_many_arguments)]
    #[cube(launch)]
    pub(super) fn join_columns<F: Float>(
        a: &Tensor<F>,
        b: &Tensor<F>,
        c: &Tensor<F>,
        d: &Tensor<F>,
        out: &mut Tensor<F>,
        columns: u32,
        width: u32,
    ) {
        if ABSOLUTE_POS >= out.len() {
            terminate!();
        }
        let columns = columns as usize;
        let width = width as usize;
        let row = ABSOLUTE_POS / width;
        let column = ABSOLUTE_POS % width;
        let part = column / columns;
        let at = row * columns + column % columns;
        if part == 0 {
            out[ABSOLUTE_POS] = a[at];
        } else if part == 1 {
            out[ABSOLUTE_POS] = b[at];
        } else if part == 2 {
            out[ABSOLUTE_POS] = c[at];
        } else {
            out[ABSOLUTE_POS] = d[at];
        }
    }

    /// The inverse: `part_p[r, c] = joined[r, p·columns + c]` for the `parts` first of
    /// `a, b, c, d` (the others are never written). One unit per element of a part.
    #[allow(clippy::too_many_arguments)]
    #[cube(launch)]
    pub(super) fn split_columns<F: Float>(
        joined: &Tensor<F>,
        a: &mut Tensor<F>,
        b: &mut Tensor<F>,
        c: &mut Tensor<F>,
        d: &mut Tensor<F>,
        columns: u32,
        width: u32,
        #[comptime] parts: u32,
    ) {
        if ABSOLUTE_POS >= a.len() {
            terminate!();
        }
        let columns = columns as usize;
        let width = width as usize;
        let row = ABSOLUTE_POS / columns;
        let from = row * width + ABSOLUTE_POS % columns;
        a[ABSOLUTE_POS] = joined[from];
        b[ABSOLUTE_POS] = joined[from + columns];
        if parts > 2 {
            c[ABSOLUTE_POS] = joined[from + 2 * columns];
        }
        if parts > 3 {
            d[ABSOLUTE_POS] = joined[from + 3 * columns];
        }
    }
}

type Cube<R, F, I, BT> = CubeBackend<R, F, I, BT>;

/// See [`LstmBackend::lstm_join_columns`](super::LstmBackend::lstm_join_columns).
pub(super) fn join<R, F, I, BT, const D: usize, const N: usize>(
    parts: [Tensor<Cube<R, F, I, BT>, D>; N],
) -> Tensor<Cube<R, F, I, BT>, D>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    if !(2..=4).contains(&N) || parts[0].shape().num_elements() == 0 {
        return Tensor::cat(parts.into(), D - 1);
    }
    let mut shape = parts[0].dims();
    let columns = shape[D - 1];
    shape[D - 1] = N * columns;
    let device = parts[0].device();
    let parts: [CubeTensor<R>; N] = parts.map(contiguous);
    let out = primitive(Tensor::<Cube<R, F, I, BT>, D>::empty(shape, &device));
    let client = out.client.clone();
    let (cube_count, cube_dim) = launch_shape(&client, shape.iter().product());
    // Slots past the N parts are never read; the first part fills them.
    let slot = |index: usize| parts[index.min(N - 1)].clone().into_tensor_arg();
    kernel::join_columns::launch::<F, R>(
        &client,
        cube_count,
        cube_dim,
        slot(0),
        slot(1),
        slot(2),
        slot(3),
        out.clone().into_tensor_arg(),
        columns as u32,
        (N * columns) as u32,
    );
    from_primitive(out)
}

/// See [`LstmBackend::lstm_split_columns`](super::LstmBackend::lstm_split_columns).
pub(super) fn split<R, F, I, BT, const D: usize, const N: usize>(
    joined: Tensor<Cube<R, F, I, BT>, D>,
) -> [Tensor<Cube<R, F, I, BT>, D>; N]
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let mut shape = joined.dims();
    let columns = shape[D - 1] / N;
    if !(2..=4).contains(&N) || joined.shape().num_elements() == 0 {
        return std::array::from_fn(|part| joined.clone().narrow(D - 1, part * columns, columns));
    }
    shape[D - 1] = columns;
    let device = joined.device();
    let joined = contiguous(joined);
    let parts: [CubeTensor<R>; N] =
        std::array::from_fn(|_| primitive(Tensor::<Cube<R, F, I, BT>, D>::empty(shape, &device)));
    let client = joined.client.clone();
    let (cube_count, cube_dim) = launch_shape(&client, shape.iter().product());
    // Slots past the N parts are never written; a one-element buffer fills each, so that no
    // buffer is bound twice for writing.
    let unused = || primitive(Tensor::<Cube<R, F, I, BT>, 1>::empty([1], &device));
    let slot = |index: usize| match parts.get(index) {
        Some(part) => part.clone().into_tensor_arg(),
        None => unused().into_tensor_arg(),
    };
    kernel::split_columns::launch::<F, R>(
        &client,
        cube_count,
        cube_dim,
        joined.into_tensor_arg(),
        slot(0),
        slot(1),
        slot(2),
        slot(3),
        columns as u32,
        (N * columns) as u32,
        N as u32,
    );
    parts.map(from_primitive)
}
