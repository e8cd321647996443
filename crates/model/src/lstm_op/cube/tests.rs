//! The CubeCL kernels on wgpu (and on CUDA, with the `cuda` feature) against the tensor-op
//! version on the same device and the CPU kernel on NdArray (itself checked against `nn::Lstm`),
//! forward and backward. On a machine without a GPU this runs on Mesa's software Vulkan driver,
//! as CI does.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime};
use burn_ndarray::NdArray;
use burn_wgpu::{WgpuDevice, WgpuRuntime};

use super::super::{cpu, tensor_ops};
use super::{backward, forward};
use crate::lstm_op::{LstmActivations, LstmGradients, LstmKernels, Nonlinearity, OutputGrad};

/// Whether wgpu finds an adapter; without one the test is skipped with its reason, unless
/// `LSTM_REQUIRE_WGPU` is set (CI sets it and installs Mesa), which makes it a failure.
pub(crate) fn adapter_or_skip(test: &str) -> bool {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let found = futures_lite::future::block_on(
        instance.request_adapter(&wgpu::RequestAdapterOptions::default()),
    )
    .is_ok();
    if !found {
        assert!(
            std::env::var_os("LSTM_REQUIRE_WGPU").is_none(),
            "{test}: LSTM_REQUIRE_WGPU is set but wgpu finds no adapter"
        );
        eprintln!("skipped {test}: wgpu finds no adapter (Debian's mesa-vulkan-drivers gives one)");
    }
    found
}

fn random<const D: usize>(shape: [usize; D]) -> Tensor<NdArray, D> {
    Tensor::random(shape, Distribution::Normal(0.0, 0.5), &Default::default())
}

fn on_gpu<G: Backend, const D: usize>(
    device: &G::Device,
    tensor: &Tensor<NdArray, D>,
) -> Tensor<G, D> {
    Tensor::from_data(tensor.to_data(), device)
}

/// Whether the CUDA gate runs: only where `LSTM_REQUIRE_CUDA` is set (bench/device.sh sets it on
/// a GPU machine), since without a driver Burn's CUDA device panics in its own thread.
#[cfg(feature = "cuda")]
fn cuda_or_skip(test: &str) -> bool {
    let asked = std::env::var_os("LSTM_REQUIRE_CUDA").is_some();
    if !asked {
        eprintln!("skipped {test} on CUDA: set LSTM_REQUIRE_CUDA on a machine with an NVIDIA GPU");
    }
    asked
}

fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor.into_data().to_vec::<f32>().expect("floats")
}

/// Equal to 1e-5 of the reference's largest magnitude.
fn assert_close(label: &str, ours: Vec<f32>, reference: Vec<f32>) {
    assert_eq!(ours.len(), reference.len(), "{label}: sizes");
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (index, (a, b)) in ours.iter().zip(&reference).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * scale,
            "{label}[{index}]: CubeCL {a} vs reference {b} (scale {scale})"
        );
    }
}

fn assert_gradients_close<B: Backend, C: Backend>(
    label: &str,
    ours: LstmGradients<B>,
    reference: LstmGradients<C>,
) {
    assert_close(
        &format!("{label} d sequences"),
        values(ours.sequences.expect("asked for")),
        values(reference.sequences.expect("asked for")),
    );
    assert_close(
        &format!("{label} d input kernel"),
        values(ours.input_kernel),
        values(reference.input_kernel),
    );
    assert_close(
        &format!("{label} d recurrent kernel"),
        values(ours.recurrent_kernel),
        values(reference.recurrent_kernel),
    );
    assert_close(
        &format!("{label} d bias"),
        values(ours.bias),
        values(reference.bias),
    );
}

#[test]
fn cubecl_kernels_equal_the_tensor_op_version_and_the_cpu_kernel() {
    if adapter_or_skip("cubecl_kernels_equal_the_tensor_op_version_and_the_cpu_kernel") {
        kernels_match::<WgpuRuntime, u32>(&WgpuDevice::default());
    }
}

#[cfg(feature = "cuda")]
#[test]
fn cubecl_kernels_on_cuda_equal_the_tensor_op_version_and_the_cpu_kernel() {
    if cuda_or_skip("cubecl_kernels_on_cuda_equal_the_tensor_op_version_and_the_cpu_kernel") {
        kernels_match::<cubecl::cuda::CudaRuntime, u8>(&Default::default());
    }
}

fn kernels_match<R: CubeRuntime, BT: BoolElement>(device: &R::Device) {
    type G<R, BT> = CubeBackend<R, f32, i32, BT>;
    let _rng = crate::backend_rng();
    <NdArray as Backend>::seed(&Default::default(), 7);
    let sigmoid = Nonlinearity::Sigmoid;
    let hard = Nonlinearity::HardSigmoid {
        alpha: 0.2,
        beta: 0.5,
    };
    // H=50 (the tutorial's), 37 units per step with batch 1 and 3 (not a multiple of any
    // workgroup size), a single step, and a batch of 5 as a partial last batch would be.
    for (batch, steps, input, hidden) in
        [(1, 1, 1, 1), (3, 7, 2, 37), (5, 10, 1, 50), (1, 4, 3, 37)]
    {
        for (gate, cell) in [
            (sigmoid, Nonlinearity::Tanh),
            (sigmoid, Nonlinearity::Relu),
            (hard, Nonlinearity::Tanh),
        ] {
            for reverse in [false, true] {
                let label = format!(
                    "B{batch} T{steps} I{input} H{hidden} {gate:?} {cell:?} reverse={reverse}"
                );
                let activations = LstmActivations {
                    gate,
                    cell,
                    hidden: cell,
                };
                // The recurrent kernel at an initialiser's scale (1/√H): at N(0, 0.5) a relu
                // cell of 50 units explodes over ten steps, and float rounding with it (the
                // two references then differ from each other by 1.5e-5).
                let kernels = LstmKernels {
                    input: random([input, 4 * hidden]),
                    recurrent: random([hidden, 4 * hidden]) / (hidden as f32).sqrt(),
                    bias: random([4 * hidden]),
                };
                let gpu_kernels = LstmKernels {
                    input: on_gpu::<G<R, BT>, _>(device, &kernels.input),
                    recurrent: on_gpu::<G<R, BT>, _>(device, &kernels.recurrent),
                    bias: on_gpu::<G<R, BT>, _>(device, &kernels.bias),
                };
                let sequences = random([batch, steps, input]);

                let (ours, our_trace) = forward(
                    on_gpu::<G<R, BT>, _>(device, &sequences),
                    gpu_kernels.clone(),
                    activations,
                    reverse,
                    true,
                );
                let (tensor_op, tensor_op_trace) = tensor_ops::forward(
                    on_gpu::<G<R, BT>, _>(device, &sequences),
                    gpu_kernels,
                    activations,
                    reverse,
                    true,
                );
                let (cpu, cpu_trace) = cpu::forward(sequences, kernels, activations, reverse, true);
                let ours = values(ours);
                assert_close(
                    &format!("{label} outputs, tensor ops"),
                    ours.clone(),
                    values(tensor_op),
                );
                assert_close(&format!("{label} outputs, CPU kernel"), ours, values(cpu));

                let (our_trace, tensor_op_trace, cpu_trace) = (
                    our_trace.expect("kept"),
                    tensor_op_trace.expect("kept"),
                    cpu_trace.expect("kept"),
                );
                for output_grad in [
                    OutputGrad::EveryStep(random([batch, steps, hidden])),
                    OutputGrad::FinalStep(random([batch, hidden])),
                ] {
                    let (label, gpu_grad) = match &output_grad {
                        OutputGrad::EveryStep(grad) => (
                            format!("{label} every step"),
                            OutputGrad::EveryStep(on_gpu::<G<R, BT>, _>(device, grad)),
                        ),
                        OutputGrad::FinalStep(grad) => (
                            format!("{label} final step"),
                            OutputGrad::FinalStep(on_gpu::<G<R, BT>, _>(device, grad)),
                        ),
                    };
                    let ours = || backward(our_trace.clone(), gpu_grad.clone(), true);
                    assert_gradients_close(
                        &format!("{label}, tensor ops"),
                        ours(),
                        tensor_ops::backward(tensor_op_trace.clone(), gpu_grad.clone(), true),
                    );
                    assert_gradients_close(
                        &format!("{label}, CPU kernel"),
                        ours(),
                        cpu::backward(cpu_trace.clone(), output_grad, true),
                    );
                }
            }
        }
    }
}

/// The unit kernel the LSTM's products take on TF32 runtimes (CUDA) is not chosen on wgpu, so it
/// is checked here directly: against Burn's product on wgpu and on NdArray, for the layouts the
/// op passes it (row-major, and the transposed views of the backward pass) at the op's shapes.
#[test]
fn the_unit_matmul_equals_burns_product() {
    if adapter_or_skip("the_unit_matmul_equals_burns_product") {
        unit_matmul_matches::<WgpuRuntime, u32>(&WgpuDevice::default());
    }
}

#[cfg(feature = "cuda")]
#[test]
fn the_unit_matmul_on_cuda_equals_burns_product() {
    if cuda_or_skip("the_unit_matmul_on_cuda_equals_burns_product") {
        unit_matmul_matches::<cubecl::cuda::CudaRuntime, u8>(&Default::default());
    }
}

/// On CUDA Burn's product may round to TF32, so there it is compared against NdArray only.
fn unit_matmul_matches<R: CubeRuntime, BT: BoolElement>(device: &R::Device) {
    type G<R, BT> = CubeBackend<R, f32, i32, BT>;
    let exact_reference = !super::matmul::rounds_to_tf32(&R::client(device));
    let _rng = crate::backend_rng();
    <NdArray as Backend>::seed(&Default::default(), 11);
    // A single element, [B, H]·[H, 4H] at the tutorial's H, and sizes off every tile size.
    for (m, k, n) in [(1, 1, 4), (5, 50, 200), (37, 21, 148)] {
        for (transpose_lhs, transpose_rhs) in [(false, false), (true, false), (false, true)] {
            let lhs = match transpose_lhs {
                true => random([k, m]).transpose(),
                false => random([m, k]),
            };
            let rhs = match transpose_rhs {
                true => random([n, k]).transpose(),
                false => random([k, n]),
            };
            let (gpu_lhs, gpu_rhs) = match (transpose_lhs, transpose_rhs) {
                (true, _) => (
                    on_gpu::<G<R, BT>, _>(device, &lhs.clone().transpose()).transpose(),
                    on_gpu::<G<R, BT>, _>(device, &rhs),
                ),
                (_, true) => (
                    on_gpu::<G<R, BT>, _>(device, &lhs),
                    on_gpu::<G<R, BT>, _>(device, &rhs.clone().transpose()).transpose(),
                ),
                _ => (
                    on_gpu::<G<R, BT>, _>(device, &lhs),
                    on_gpu::<G<R, BT>, _>(device, &rhs),
                ),
            };
            let label = format!("[{m}, {k}]·[{k}, {n}] transposed {transpose_lhs}/{transpose_rhs}");
            let unit: Tensor<G<R, BT>, 2> = super::from_primitive(super::matmul::unit_matmul(
                super::primitive(gpu_lhs.clone()),
                super::primitive(gpu_rhs.clone()),
            ));
            let unit = values(unit);
            if exact_reference {
                assert_close(
                    &format!("{label}, Burn's product"),
                    unit.clone(),
                    values(gpu_lhs.matmul(gpu_rhs)),
                );
            }
            assert_close(&format!("{label}, NdArray"), unit, values(lhs.matmul(rhs)));
        }
    }
}

/// The one-launch join and split equal `Tensor::cat` and `narrow` on the same device, for the
/// LSTM's four gates, the GRU's three and two directions, on vectors, matrices, a transposed
/// (non-contiguous) matrix and sequences, and split undoes join.
#[test]
fn joining_and_splitting_columns_equal_cat_and_narrow() {
    if adapter_or_skip("joining_and_splitting_columns_equal_cat_and_narrow") {
        columns_match::<WgpuRuntime, u32>(&WgpuDevice::default());
    }
}

#[cfg(feature = "cuda")]
#[test]
fn joining_and_splitting_columns_on_cuda_equal_cat_and_narrow() {
    if cuda_or_skip("joining_and_splitting_columns_on_cuda_equal_cat_and_narrow") {
        columns_match::<cubecl::cuda::CudaRuntime, u8>(&Default::default());
    }
}

fn columns_match<R: CubeRuntime, BT: BoolElement>(device: &R::Device) {
    use crate::lstm_op::LstmBackend;
    type G<R, BT> = CubeBackend<R, f32, i32, BT>;
    let _rng = crate::backend_rng();
    <NdArray as Backend>::seed(&Default::default(), 12);

    fn check<B: LstmBackend, const D: usize, const N: usize>(
        label: &str,
        parts: [Tensor<B, D>; N],
    ) {
        let joined = B::lstm_join_columns(parts.clone());
        let reference = Tensor::cat(parts.to_vec(), D - 1);
        assert_eq!(joined.dims(), reference.dims(), "{label}: shape");
        assert_close(
            &format!("{label} join"),
            values(joined.clone()),
            values(reference),
        );
        let width = joined.dims()[D - 1] / N;
        let split: [Tensor<B, D>; N] = B::lstm_split_columns(joined.clone());
        for (index, (part, original)) in split.into_iter().zip(parts).enumerate() {
            let narrowed = joined.clone().narrow(D - 1, index * width, width);
            assert_close(
                &format!("{label} split {index}"),
                values(part.clone()),
                values(narrowed),
            );
            assert_close(
                &format!("{label} round trip {index}"),
                values(part),
                values(original),
            );
        }
    }
    let gpu = |tensor: Tensor<NdArray, 2>| on_gpu::<G<R, BT>, _>(device, &tensor);
    let matrix = |rows, columns| gpu(random([rows, columns]));
    check::<G<R, BT>, 2, 4>("4 gates [3, 50]", std::array::from_fn(|_| matrix(3, 50)));
    check::<G<R, BT>, 2, 3>("3 gates [37, 37]", std::array::from_fn(|_| matrix(37, 37)));
    check::<G<R, BT>, 2, 2>("2 parts [1, 1]", std::array::from_fn(|_| matrix(1, 1)));
    check::<G<R, BT>, 2, 4>(
        "transposed [5, 3]",
        std::array::from_fn(|_| matrix(3, 5).transpose()),
    );
    let vector = || on_gpu::<G<R, BT>, _>(device, &random([7]));
    check::<G<R, BT>, 1, 4>("4 biases [7]", std::array::from_fn(|_| vector()));
    let sequences = || on_gpu::<G<R, BT>, _>(device, &random([2, 4, 3]));
    check::<G<R, BT>, 3, 2>(
        "2 directions [2, 4, 3]",
        std::array::from_fn(|_| sequences()),
    );
}
