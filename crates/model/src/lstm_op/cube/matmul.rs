//! The LSTM's matrix products on CubeCL backends: CubeCL's unit kernel, f32 arithmetic on every
//! runtime, chosen once rather than autotuned.
//!
//! Burn's `Tensor::matmul` autotunes among CubeCL's kernels, which has two costs here. Its
//! tensor-core ("accelerated") kernels stage f32 inputs as TF32 wherever the runtime supports that
//! type (CUDA registers it on every device): inputs rounded to 10-bit mantissas, some 1e-3
//! relative error, far outside the gate's 1e-5. And every candidate is compiled before it is
//! timed: on Mesa's lavapipe, which compiles shaders with LLVM on the CPU, the unit kernel with
//! its smallest tiles (partitions of 16×2×4 tiles, unrolled into some ten thousand lines of WGSL)
//! took 7–12 s per product shape, most of the tutorial's first epoch (counted in
//! docs/performance.md). The unit kernel with its largest tiles compiles in a tenth of a second
//! and is plain f32 multiply-adds, one tile per unit.

use burn::prelude::*;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubek::matmul::definition::{MatmulElems, MatmulGlobalElems};
use cubek::matmul::launch::{launch_ref, Strategy};
use cubek::matmul::routines::simple_unit::SimpleUnitSelectionArgs;
use cubek::matmul::routines::{BlueprintStrategy, TileSizeSelection};
use cubek::std::InputBinding;

use super::{from_primitive, primitive};

/// `lhs · rhs`, `[m, k]·[k, n] → [m, n]`, by [`unit_matmul`] (see the module's docs).
pub(super) fn lstm_matmul<R, F, I, BT>(
    lhs: Tensor<CubeBackend<R, F, I, BT>, 2>,
    rhs: Tensor<CubeBackend<R, F, I, BT>, 2>,
) -> Tensor<CubeBackend<R, F, I, BT>, 2>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    from_primitive(unit_matmul(primitive(lhs), primitive(rhs)))
}

/// Whether the runtime has TF32, which Burn's accelerated f32 products then use.
#[cfg(all(test, feature = "wgpu"))]
pub(super) fn rounds_to_tf32<R: CubeRuntime>(client: &cubecl::prelude::ComputeClient<R>) -> bool {
    use cubecl::prelude::CubePrimitive;
    let tf32 = cubecl::tf32::as_type_native_unchecked().storage_type();
    client.properties().supports_type(tf32)
}

/// `lhs · rhs` by CubeCL's unit kernel with its largest tiles (no tensor cores), for any strides of
/// the two operands.
pub(super) fn unit_matmul<R: CubeRuntime>(lhs: CubeTensor<R>, rhs: CubeTensor<R>) -> CubeTensor<R> {
    let dtype = lhs.dtype;
    let out = burn_cubecl::kernel::matmul::init_matmul_output(&lhs, &rhs, dtype);
    let client = out.client.clone();
    let launch = |strategy: Strategy| {
        let mut elements = MatmulElems::from_globals(&MatmulGlobalElems {
            lhs: dtype.into(),
            rhs: dtype.into(),
            out: dtype.into(),
        });
        launch_ref(
            &strategy,
            &client,
            InputBinding::new(lhs.clone().binding(), dtype.into()),
            InputBinding::new(rhs.clone().binding(), dtype.into()),
            out.clone().binding(),
            &mut elements,
        )
    };
    // The unit kernel is CubeCL's own fallback, available on every runtime; the naive kernel
    // covers whatever layout it might still refuse.
    let largest_tiles = SimpleUnitSelectionArgs {
        tile_size: TileSizeSelection::MaxTileSize,
    };
    launch(Strategy::SimpleUnit(BlueprintStrategy::Inferred(
        largest_tiles,
    )))
    .or_else(|_| launch(Strategy::Naive))
    .expect("CubeCL's naive matmul accepts every f32 layout");
    out
}
