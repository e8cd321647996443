//! The LSTM op on CubeCL backends (`CubeBackend<R, ..>`: wgpu, and CUDA with the `cuda`
//! feature): per step one recurrent product and one fused element-wise kernel
//! ([`kernels`]), forward and backward.
//!
//! The tensor-op default spends some twenty-five launches on a forward step and forty on a
//! backward one (sigmoids of six kernels, column slices that copy, joins); here a step is a
//! product and one kernel that reads the step's rows in place and writes the gates, cell and
//! hidden states straight into the trace. What stays in tensor operations is done once per
//! sequence: the input projection for all steps as one product, the reorderings to and from
//! step-major rows, and the weight gradients (three products and a sum).

mod columns;
mod kernels;
mod matmul;
#[cfg(all(test, feature = "wgpu"))]
pub(crate) mod tests;

use burn::prelude::*;
use burn::tensor::TensorPrimitive;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::prelude::{ComputeClient, CubeCount, CubeDim};

use super::{
    batch_major, step_major, tensor_ops, LstmActivations, LstmBackend, LstmGradients, LstmKernels,
    LstmTrace, Nonlinearity, OutputGrad,
};
use matmul::lstm_matmul;

impl<R, F, I, BT> LstmBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn lstm_forward(
        sequences: Tensor<Self, 3>,
        kernels: LstmKernels<Self>,
        activations: LstmActivations,
        reverse: bool,
        keep_trace: bool,
    ) -> (Tensor<Self, 3>, Option<LstmTrace<Self>>) {
        forward::<R, F, I, BT>(sequences, kernels, activations, reverse, keep_trace)
    }

    fn lstm_backward(
        trace: LstmTrace<Self>,
        output_grad: OutputGrad<Self>,
        want_sequences: bool,
    ) -> LstmGradients<Self> {
        backward::<R, F, I, BT>(trace, output_grad, want_sequences)
    }

    fn lstm_join_columns<const D: usize, const N: usize>(
        parts: [Tensor<Self, D>; N],
    ) -> Tensor<Self, D> {
        columns::join(parts)
    }

    fn lstm_split_columns<const D: usize, const N: usize>(
        joined: Tensor<Self, D>,
    ) -> [Tensor<Self, D>; N] {
        columns::split(joined)
    }
}

/// The kernels' compile-time code for `function` and the hard sigmoid's `(alpha, beta)`
/// (unused by the others).
fn code(function: Nonlinearity) -> (u32, f32, f32) {
    match function {
        Nonlinearity::Sigmoid => (kernels::SIGMOID, 0.0, 0.0),
        Nonlinearity::HardSigmoid { alpha, beta } => {
            (kernels::HARD_SIGMOID, alpha as f32, beta as f32)
        }
        Nonlinearity::Tanh => (kernels::TANH, 0.0, 0.0),
        Nonlinearity::Relu => (kernels::RELU, 0.0, 0.0),
    }
}

/// The kernels' codes for a cell's three activations, and the gate's hard-sigmoid constants.
struct Codes {
    gate: u32,
    cell: u32,
    squash: u32,
    alpha: f32,
    beta: f32,
}

impl Codes {
    fn of(activations: LstmActivations) -> Self {
        let (gate, alpha, beta) = code(activations.gate);
        Self {
            gate,
            cell: code(activations.cell).0,
            squash: code(activations.hidden).0,
            alpha,
            beta,
        }
    }
}

fn primitive<R: CubeRuntime, B: Backend<FloatTensorPrimitive = CubeTensor<R>>, const D: usize>(
    tensor: Tensor<B, D>,
) -> CubeTensor<R> {
    tensor.into_primitive().tensor()
}

fn contiguous<R: CubeRuntime, B: Backend<FloatTensorPrimitive = CubeTensor<R>>, const D: usize>(
    tensor: Tensor<B, D>,
) -> CubeTensor<R> {
    burn_cubecl::kernel::into_contiguous(primitive(tensor))
}

fn from_primitive<
    R: CubeRuntime,
    B: Backend<FloatTensorPrimitive = CubeTensor<R>>,
    const D: usize,
>(
    tensor: CubeTensor<R>,
) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(tensor))
}

/// One unit per `(batch row, hidden unit)`.
fn launch_shape<R: CubeRuntime>(client: &ComputeClient<R>, units: usize) -> (CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(client, units);
    (
        cubecl::calculate_cube_count_elemwise(client, units, cube_dim),
        cube_dim,
    )
}

/// See [`LstmBackend::lstm_forward`].
fn forward<R, F, I, BT>(
    sequences: Tensor<CubeBackend<R, F, I, BT>, 3>,
    kernels: LstmKernels<CubeBackend<R, F, I, BT>>,
    activations: LstmActivations,
    reverse: bool,
    keep_trace: bool,
) -> (
    Tensor<CubeBackend<R, F, I, BT>, 3>,
    Option<LstmTrace<CubeBackend<R, F, I, BT>>>,
)
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let [batch, steps, _] = sequences.dims();
    let hidden = kernels.recurrent.dims()[0];
    let device = sequences.device();
    let inputs = step_major(sequences, reverse);
    let projected =
        lstm_matmul(inputs.clone(), kernels.input.clone()) + kernels.bias.clone().unsqueeze_dim(0);
    let projected = contiguous(projected);
    let client = projected.client.clone();
    let empty = |rows: usize, columns: usize| {
        primitive(Tensor::<CubeBackend<R, F, I, BT>, 2>::empty(
            [rows, columns],
            &device,
        ))
    };
    let gates = empty(steps * batch, 4 * hidden);
    let cells = empty(steps * batch, hidden);
    let hiddens = empty(steps * batch, hidden);
    let codes = Codes::of(activations);
    let (cube_count, cube_dim) = launch_shape(&client, batch * hidden);

    let mut state: Option<Tensor<CubeBackend<R, F, I, BT>, 2>> = None;
    for step in 0..steps {
        let first = state.is_none();
        let recurrent = match state.take() {
            Some(previous) => contiguous(lstm_matmul(previous, kernels.recurrent.clone())),
            // Unread at the first step (from the zero state); any tensor fills the slot.
            None => projected.clone(),
        };
        let next = empty(batch, hidden);
        kernels::lstm_forward_step::launch::<F, R>(
            &client,
            cube_count.clone(),
            cube_dim,
            projected.clone().into_tensor_arg(),
            recurrent.into_tensor_arg(),
            gates.clone().into_tensor_arg(),
            cells.clone().into_tensor_arg(),
            hiddens.clone().into_tensor_arg(),
            next.clone().into_tensor_arg(),
            step as u32,
            batch as u32,
            hidden as u32,
            codes.alpha,
            codes.beta,
            first,
            codes.gate,
            codes.cell,
            codes.squash,
        );
        state = Some(from_primitive(next));
    }

    let hiddens: Tensor<CubeBackend<R, F, I, BT>, 2> = from_primitive(hiddens);
    let outputs = batch_major(hiddens.clone(), batch, reverse);
    let trace = keep_trace.then(|| LstmTrace {
        inputs,
        kernels,
        activations,
        reverse,
        gates: from_primitive(gates),
        cells: from_primitive(cells),
        hiddens,
    });
    (outputs, trace)
}

/// See [`LstmBackend::lstm_backward`].
fn backward<R, F, I, BT>(
    trace: LstmTrace<CubeBackend<R, F, I, BT>>,
    output_grad: OutputGrad<CubeBackend<R, F, I, BT>>,
    want_sequences: bool,
) -> LstmGradients<CubeBackend<R, F, I, BT>>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let batch = output_grad.batch();
    let [rows, four_hidden] = trace.gates.dims();
    let (steps, hidden) = (rows / batch, four_hidden / 4);
    let device = trace.gates.device();
    let (output_grad, output_grad_at) = match output_grad {
        OutputGrad::EveryStep(grad) => (
            contiguous(step_major(grad, trace.reverse)),
            kernels::EVERY_STEP_GRAD,
        ),
        OutputGrad::FinalStep(grad) => (contiguous(grad), kernels::THIS_STEP_GRAD),
    };
    let gates = contiguous(trace.gates.clone());
    let cells = contiguous(trace.cells.clone());
    let client = gates.client.clone();
    let empty = |rows: usize, columns: usize| {
        primitive(Tensor::<CubeBackend<R, F, I, BT>, 2>::empty(
            [rows, columns],
            &device,
        ))
    };
    let dz = empty(steps * batch, 4 * hidden);
    let recurrent_t = trace.kernels.recurrent.clone().transpose();
    let codes = Codes::of(trace.activations);
    let (cube_count, cube_dim) = launch_shape(&client, batch * hidden);

    // The carries from step s+1 into step s: `dz(s+1)·W_hᵀ` and `dc(s+1)·f(s+1)`.
    let mut carries: Option<(CubeTensor<R>, CubeTensor<R>)> = None;
    for step in (0..steps).rev() {
        let last = step + 1 == steps;
        let at = match output_grad_at {
            kernels::THIS_STEP_GRAD if !last => kernels::NO_OUTPUT_GRAD,
            at => at,
        };
        let carried = carries.is_some();
        let (hidden_carry, cell_carry) = carries
            .take()
            // Unread at the last step; any tensors fill the slots.
            .unwrap_or_else(|| (output_grad.clone(), output_grad.clone()));
        let dz_step = empty(batch, 4 * hidden);
        let next_cell_carry = empty(batch, hidden);
        kernels::lstm_backward_step::launch::<F, R>(
            &client,
            cube_count.clone(),
            cube_dim,
            output_grad.clone().into_tensor_arg(),
            hidden_carry.into_tensor_arg(),
            cell_carry.into_tensor_arg(),
            gates.clone().into_tensor_arg(),
            cells.clone().into_tensor_arg(),
            dz.clone().into_tensor_arg(),
            dz_step.clone().into_tensor_arg(),
            next_cell_carry.clone().into_tensor_arg(),
            step as u32,
            batch as u32,
            hidden as u32,
            codes.alpha,
            codes.beta,
            at,
            carried,
            codes.gate,
            codes.cell,
            codes.squash,
        );
        if step > 0 {
            let dz_step: Tensor<CubeBackend<R, F, I, BT>, 2> = from_primitive(dz_step);
            let hidden_carry = contiguous(lstm_matmul(dz_step, recurrent_t.clone()));
            carries = Some((hidden_carry, next_cell_carry));
        }
    }
    tensor_ops::kernel_gradients(
        &trace,
        from_primitive(dz),
        batch,
        want_sequences,
        lstm_matmul,
    )
}
