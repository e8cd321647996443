//! The LSTM's matrix products on CubeCL backends, in f32 arithmetic on every runtime.
//!
//! Burn's `Tensor::matmul` autotunes among CubeCL's kernels, and its tensor-core ("accelerated")
//! kernels stage f32 inputs as TF32 wherever the runtime supports that type (CUDA registers it on
//! every device): inputs rounded to 10-bit mantissas, some 1e-3 relative error, far outside the
//! gate's 1e-5. On such a runtime the LSTM's products take CubeCL's unit kernel instead (plain
//! f32 multiply-adds, one tile per unit); elsewhere (wgpu: no TF32) Burn's autotuned choice,
//! which is as exact.

use burn::prelude::*;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::{ComputeClient, CubePrimitive};
use cubek::matmul::definition::{MatmulElems, MatmulGlobalElems};
use cubek::matmul::launch::{launch_ref, Strategy};
use cubek::std::InputBinding;

use super::{from_primitive, primitive};

/// `lhs · rhs`, `[m, k]·[k, n] → [m, n]`, without TF32 rounding (see the module's docs).
pub(super) fn exact_matmul<R, F, I, BT>(
    lhs: Tensor<CubeBackend<R, F, I, BT>, 2>,
    rhs: Tensor<CubeBackend<R, F, I, BT>, 2>,
) -> Tensor<CubeBackend<R, F, I, BT>, 2>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let lhs = primitive(lhs);
    match rounds_to_tf32(&lhs.client) {
        true => from_primitive(unit_matmul(lhs, primitive(rhs))),
        false => from_primitive::<R, CubeBackend<R, F, I, BT>, 2>(lhs).matmul(rhs),
    }
}

/// Whether the runtime has TF32, which Burn's accelerated f32 products then use.
pub(super) fn rounds_to_tf32<R: CubeRuntime>(client: &ComputeClient<R>) -> bool {
    let tf32 = cubecl::tf32::as_type_native_unchecked().storage_type();
    client.properties().supports_type(tf32)
}

/// `lhs · rhs` by CubeCL's unit kernel (no tensor cores), for any strides of the two operands.
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
    launch(Strategy::SimpleUnit(Default::default()))
        .or_else(|_| launch(Strategy::Naive))
        .expect("CubeCL's naive matmul accepts every f32 layout");
    out
}
