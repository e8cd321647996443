//! The CubeCL kernels on wgpu against the tensor-op version on wgpu and the CPU kernel on
//! NdArray (itself checked against `nn::Lstm`), forward and backward. On a machine without a
//! GPU this runs on Mesa's software Vulkan driver, as CI does.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn_ndarray::NdArray;
use burn_wgpu::{Wgpu, WgpuDevice};

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

fn on_gpu<const D: usize>(tensor: &Tensor<NdArray, D>) -> Tensor<Wgpu, D> {
    Tensor::from_data(tensor.to_data(), &WgpuDevice::default())
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
    if !adapter_or_skip("cubecl_kernels_equal_the_tensor_op_version_and_the_cpu_kernel") {
        return;
    }
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
                    input: on_gpu(&kernels.input),
                    recurrent: on_gpu(&kernels.recurrent),
                    bias: on_gpu(&kernels.bias),
                };
                let sequences = random([batch, steps, input]);

                let (ours, our_trace) = forward(
                    on_gpu(&sequences),
                    gpu_kernels.clone(),
                    activations,
                    reverse,
                    true,
                );
                let (tensor_op, tensor_op_trace) = tensor_ops::forward(
                    on_gpu(&sequences),
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
                            OutputGrad::EveryStep(on_gpu(grad)),
                        ),
                        OutputGrad::FinalStep(grad) => (
                            format!("{label} final step"),
                            OutputGrad::FinalStep(on_gpu(grad)),
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
