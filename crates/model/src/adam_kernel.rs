//! [`AdamBackend::adam_step`] on CubeCL backends (wgpu, CUDA): the whole update of one
//! parameter tensor as one kernel, instead of Burn's fourteen tensor operations (fourteen
//! launches) per parameter, with the same arithmetic in the same order.

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::CubeDim;

use crate::adam::{AdamBackend, AdamStep};

mod kernel {
    use cubecl::prelude::*;

    /// For every value: the moments `m = β1·m + g·(1-β1)`, `v = β2·v + g²·(1-β2)` (from zero
    /// moments unless `started`: `m = g·(1-β1)`, `v = g²·(1-β2)`), then
    /// `p = p·keep - (m/c1) / (√(v/c2) + ε)·rate`, written to fresh tensors (a parameter's tensor
    /// may be shared with a kept copy of the model).
    #[allow(clippy::too_many_arguments)]
    #[cube(launch)]
    pub(super) fn adam_update<F: Float>(
        parameter: &Tensor<F>,
        grad: &Tensor<F>,
        first: &Tensor<F>,
        second: &Tensor<F>,
        new_parameter: &mut Tensor<F>,
        new_first: &mut Tensor<F>,
        new_second: &mut Tensor<F>,
        beta_1: f32,
        beta_2: f32,
        factor_1: f32,
        factor_2: f32,
        correction_1: f32,
        correction_2: f32,
        epsilon: f32,
        keep: f32,
        rate: f32,
        #[comptime] started: bool,
    ) {
        if ABSOLUTE_POS >= parameter.len() {
            terminate!();
        }
        let at = ABSOLUTE_POS;
        let g = grad[at];
        let (factor_1, factor_2) = (F::cast_from(factor_1), F::cast_from(factor_2));
        let m = if started {
            first[at] * F::cast_from(beta_1) + g * factor_1
        } else {
            g * factor_1
        };
        let v = if started {
            second[at] * F::cast_from(beta_2) + (g * g) * factor_2
        } else {
            (g * g) * factor_2
        };
        let delta = (m / F::cast_from(correction_1))
            / (F::sqrt(v / F::cast_from(correction_2)) + F::cast_from(epsilon));
        new_parameter[at] = parameter[at] * F::cast_from(keep) - delta * F::cast_from(rate);
        new_first[at] = m;
        new_second[at] = v;
    }
}

impl<R, F, I, BT> AdamBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn adam_step<const D: usize>(
        parameter: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<[Tensor<Self, D>; 2]>,
        step: AdamStep,
    ) -> [Tensor<Self, D>; 3] {
        let shape = parameter.shape();
        let device = parameter.device();
        let primitive = |tensor: Tensor<Self, D>| -> CubeTensor<R> {
            into_contiguous(tensor.into_primitive().tensor())
        };
        let fresh = || primitive(Tensor::<Self, D>::empty(shape.clone(), &device));
        let (parameter, grad) = (primitive(parameter), primitive(grad));
        let started = moments.is_some();
        let [first, second] = match moments {
            Some([first, second]) => [primitive(first), primitive(second)],
            // Unread before the first update; any tensors fill the slots.
            None => [grad.clone(), grad.clone()],
        };
        let outputs = [fresh(), fresh(), fresh()];
        let client = parameter.client.clone();
        let values = shape.num_elements();
        let cube_dim = CubeDim::new(&client, values);
        let cube_count = cubecl::calculate_cube_count_elemwise(&client, values, cube_dim);
        let time = step.time as i32;
        let decay_rate = step.learning_rate * step.weight_decay as f64;
        kernel::adam_update::launch::<F, R>(
            &client,
            cube_count,
            cube_dim,
            parameter.into_tensor_arg(),
            grad.into_tensor_arg(),
            first.into_tensor_arg(),
            second.into_tensor_arg(),
            outputs[0].clone().into_tensor_arg(),
            outputs[1].clone().into_tensor_arg(),
            outputs[2].clone().into_tensor_arg(),
            step.beta_1,
            step.beta_2,
            1.0 - step.beta_1,
            1.0 - step.beta_2,
            1f32 - step.beta_1.powi(time),
            1f32 - step.beta_2.powi(time),
            step.epsilon,
            (1.0 - decay_rate) as f32,
            step.learning_rate as f32,
            started,
        );
        outputs.map(|output| Tensor::from_primitive(TensorPrimitive::Float(output)))
    }
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use burn::tensor::Distribution;
    use burn_ndarray::NdArray;
    use burn_wgpu::{WgpuDevice, WgpuRuntime};

    use super::*;
    use crate::adam::tensor_op_step;
    use crate::lstm_op::adapter_or_skip;

    fn values<B: Backend>(tensor: Tensor<B, 2>) -> Vec<f32> {
        tensor.into_data().to_vec::<f32>().expect("floats")
    }

    /// The kernel against Burn's update in tensor operations on the same device, and against
    /// NdArray's, over the first update and a later one, with and without weight decay.
    #[test]
    fn the_adam_kernel_equals_burns_update() {
        if adapter_or_skip("the_adam_kernel_equals_burns_update") {
            kernel_matches::<WgpuRuntime, u32>(&WgpuDevice::default());
        }
    }

    #[cfg(feature = "cuda")]
    #[test]
    fn the_adam_kernel_on_cuda_equals_burns_update() {
        if std::env::var_os("LSTM_REQUIRE_CUDA").is_some() {
            kernel_matches::<cubecl::cuda::CudaRuntime, u8>(&Default::default());
        }
    }

    fn kernel_matches<R: CubeRuntime, BT: BoolElement>(device: &R::Device) {
        type G<R, BT> = CubeBackend<R, f32, i32, BT>;
        let _rng = crate::backend_rng();
        <NdArray as Backend>::seed(&Default::default(), 8);
        let random = || {
            Tensor::<NdArray, 2>::random(
                [37, 50],
                Distribution::Normal(0.0, 1.0),
                &Default::default(),
            )
        };
        let gpu = |tensor: &Tensor<NdArray, 2>| {
            Tensor::<G<R, BT>, 2>::from_data(tensor.to_data(), device)
        };
        let (parameter, grad, first) = (random(), random(), random());
        let second = random().abs();
        for weight_decay in [0.0, 0.01] {
            for time in [1, 7] {
                let step = AdamStep {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-7,
                    weight_decay,
                    learning_rate: 1e-3,
                    time,
                };
                let cpu_moments = (time > 1).then(|| [first.clone(), second.clone()]);
                let gpu_moments = (time > 1).then(|| [gpu(&first), gpu(&second)]);
                let ours =
                    G::<R, BT>::adam_step(gpu(&parameter), gpu(&grad), gpu_moments.clone(), step);
                let burn = tensor_op_step(gpu(&parameter), gpu(&grad), gpu_moments, step);
                let cpu = NdArray::adam_step(parameter.clone(), grad.clone(), cpu_moments, step);
                let names = ["parameter", "first moment", "second moment"];
                for (((name, ours), burn), cpu) in names.into_iter().zip(ours).zip(burn).zip(cpu) {
                    let ours = values(ours);
                    for (reference, against) in [
                        (values(burn), "Burn's tensor ops"),
                        (values(cpu), "NdArray"),
                    ] {
                        for (index, (a, b)) in ours.iter().zip(&reference).enumerate() {
                            assert!(
                                (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                                "decay {weight_decay}, update {time}, {name}[{index}]: kernel {a}, {against} {b}"
                            );
                        }
                    }
                }
            }
        }
    }
}
