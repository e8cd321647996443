//! The LSTM step's element-wise work as CubeCL kernels: one unit per `(batch row, hidden unit)`,
//! reading its four gate columns, so a step's gate arithmetic is one launch instead of Burn's
//! two dozen (a sigmoid alone is six kernels in Burn 0.21, and every column slice at a width
//! that is not a multiple of the adapter's buffer alignment is a copy).
//!
//! Every tensor is contiguous and row-major. Step-major tensors (`[steps·batch, width]`) are
//! indexed at rows `step·batch + b`; the step is a runtime argument, so one compiled kernel
//! serves every step. The activations are compile-time choices ([`SIGMOID`], ...): each
//! combination is its own kernel, compiled once.

use cubecl::prelude::*;

/// `1 / (1 + e^-x)`.
pub(super) const SIGMOID: u32 = 0;
/// `clamp(alpha·x + beta, 0, 1)`.
pub(super) const HARD_SIGMOID: u32 = 1;
/// `tanh(x)`.
pub(super) const TANH: u32 = 2;
/// `max(0, x)`.
pub(super) const RELU: u32 = 3;

/// The activation `kind` at `x`; `alpha` and `beta` are the hard sigmoid's slope and offset.
#[cube]
fn activate<F: Float>(x: F, alpha: F, beta: F, #[comptime] kind: u32) -> F {
    if kind == SIGMOID {
        F::new(1.0) / (F::new(1.0) + F::exp(-x))
    } else if kind == HARD_SIGMOID {
        F::clamp(alpha * x + beta, F::new(0.0), F::new(1.0))
    } else if kind == TANH {
        F::tanh(x)
    } else {
        F::max(x, F::new(0.0))
    }
}

/// The derivative of activation `kind` at the input that produced `y`, from `y` alone; at
/// relu's and the hard sigmoid's kinks it takes Burn's side (the tensor-op version's `slope`).
#[cube]
fn slope<F: Float>(y: F, alpha: F, #[comptime] kind: u32) -> F {
    let mut d = F::new(0.0);
    if kind == SIGMOID {
        d = y * (F::new(1.0) - y);
    } else if kind == HARD_SIGMOID {
        if y > F::new(0.0) && y < F::new(1.0) {
            d = alpha;
        }
    } else if kind == TANH {
        d = F::new(1.0) - y * y;
    } else if y > F::new(0.0) {
        d = F::new(1.0);
    }
    d
}

/// One forward step, `step` (in processing order), for every `(b, j)`:
/// `z = projected[step] + recurrent` (the recurrent term is absent at the `first` step, from the
/// zero state), gates `i, f, o = gate(z)`, candidate `g = cell(z)`,
/// `c = i·g + f·c[step-1]`, `h = o·squash(c)`; writes the activated gates, `c` and `h` at the
/// step's rows of `gates`, `cells` and `hiddens`, and `h` again into `state` (`[batch, hidden]`),
/// the next step's recurrent input.
#[allow(clippy::too_many_arguments)]
#[cube(launch)]
pub(super) fn lstm_forward_step<F: Float>(
    projected: &Tensor<F>,
    recurrent: &Tensor<F>,
    gates: &mut Tensor<F>,
    cells: &mut Tensor<F>,
    hiddens: &mut Tensor<F>,
    state: &mut Tensor<F>,
    step: u32,
    batch: u32,
    hidden: u32,
    alpha: f32,
    beta: f32,
    #[comptime] first: bool,
    #[comptime] gate_kind: u32,
    #[comptime] cell_kind: u32,
    #[comptime] squash_kind: u32,
) {
    let hidden = hidden as usize;
    let batch = batch as usize;
    if ABSOLUTE_POS >= batch * hidden {
        terminate!();
    }
    let b = ABSOLUTE_POS / hidden;
    let j = ABSOLUTE_POS % hidden;
    let row = step as usize * batch + b;
    let (alpha, beta) = (F::cast_from(alpha), F::cast_from(beta));

    let z_at = row * 4 * hidden + j;
    let mut z_i = projected[z_at];
    let mut z_f = projected[z_at + hidden];
    let mut z_o = projected[z_at + 2 * hidden];
    let mut z_g = projected[z_at + 3 * hidden];
    if !first {
        let r_at = b * 4 * hidden + j;
        z_i += recurrent[r_at];
        z_f += recurrent[r_at + hidden];
        z_o += recurrent[r_at + 2 * hidden];
        z_g += recurrent[r_at + 3 * hidden];
    }
    let i = activate::<F>(z_i, alpha, beta, gate_kind);
    let f = activate::<F>(z_f, alpha, beta, gate_kind);
    let o = activate::<F>(z_o, alpha, beta, gate_kind);
    let g = activate::<F>(z_g, alpha, beta, cell_kind);

    let mut c = i * g;
    if !first {
        c += f * cells[(row - batch) * hidden + j];
    }
    let h = o * activate::<F>(c, alpha, beta, squash_kind);

    gates[z_at] = i;
    gates[z_at + hidden] = f;
    gates[z_at + 2 * hidden] = o;
    gates[z_at + 3 * hidden] = g;
    cells[row * hidden + j] = c;
    hiddens[row * hidden + j] = h;
    state[b * hidden + j] = h;
}

/// Where a backward step finds the gradient of its own output `h[step]`.
pub(super) const NO_OUTPUT_GRAD: u32 = 0;
/// At rows `step·batch ..` of a step-major `[steps·batch, hidden]` gradient.
pub(super) const EVERY_STEP_GRAD: u32 = 1;
/// In a `[batch, hidden]` gradient of this step alone (the final step's).
pub(super) const THIS_STEP_GRAD: u32 = 2;

/// One backward step, `step` (in processing order, walked last to first), for every `(b, j)`:
/// `dh = output_grad + hidden_carry` (the later step's `dz·W_hᵀ`, absent at the last step, as
/// is `cell_carry`), `dc = dh·o·squash'(c) + cell_carry`, and the gate pre-activation
/// gradients `dz = [dc·g·gate'(i), dc·c[step-1]·gate'(f), dh·squash(c)·gate'(o), dc·i·cell'(g)]`,
/// written at the step's rows of `dz` and into `dz_step` (`[batch, 4·hidden]`, the next
/// product's input); `dc·f` goes into `next_cell_carry`.
#[allow(clippy::too_many_arguments)]
#[cube(launch)]
pub(super) fn lstm_backward_step<F: Float>(
    output_grad: &Tensor<F>,
    hidden_carry: &Tensor<F>,
    cell_carry: &Tensor<F>,
    gates: &Tensor<F>,
    cells: &Tensor<F>,
    dz: &mut Tensor<F>,
    dz_step: &mut Tensor<F>,
    next_cell_carry: &mut Tensor<F>,
    step: u32,
    batch: u32,
    hidden: u32,
    alpha: f32,
    beta: f32,
    #[comptime] output_grad_at: u32,
    #[comptime] carried: bool,
    #[comptime] gate_kind: u32,
    #[comptime] cell_kind: u32,
    #[comptime] squash_kind: u32,
) {
    let hidden = hidden as usize;
    let batch = batch as usize;
    if ABSOLUTE_POS >= batch * hidden {
        terminate!();
    }
    let b = ABSOLUTE_POS / hidden;
    let j = ABSOLUTE_POS % hidden;
    let step = step as usize;
    let row = step * batch + b;
    let (alpha, beta) = (F::cast_from(alpha), F::cast_from(beta));
    let state_at = b * hidden + j;

    let mut dh = F::new(0.0);
    if output_grad_at == EVERY_STEP_GRAD {
        dh = output_grad[row * hidden + j];
    } else if output_grad_at == THIS_STEP_GRAD {
        dh = output_grad[state_at];
    }
    if carried {
        dh += hidden_carry[state_at];
    }

    let z_at = row * 4 * hidden + j;
    let i = gates[z_at];
    let f = gates[z_at + hidden];
    let o = gates[z_at + 2 * hidden];
    let g = gates[z_at + 3 * hidden];
    let squashed = activate::<F>(cells[row * hidden + j], alpha, beta, squash_kind);

    let mut dc = dh * o * slope::<F>(squashed, alpha, squash_kind);
    if carried {
        dc += cell_carry[state_at];
    }
    let mut previous_cell = F::new(0.0);
    if step > 0 {
        previous_cell = cells[(row - batch) * hidden + j];
    }
    let dz_i = dc * g * slope::<F>(i, alpha, gate_kind);
    let dz_f = dc * previous_cell * slope::<F>(f, alpha, gate_kind);
    let dz_o = dh * squashed * slope::<F>(o, alpha, gate_kind);
    let dz_g = dc * i * slope::<F>(g, alpha, cell_kind);

    dz[z_at] = dz_i;
    dz[z_at + hidden] = dz_f;
    dz[z_at + 2 * hidden] = dz_o;
    dz[z_at + 3 * hidden] = dz_g;
    let step_at = b * 4 * hidden + j;
    dz_step[step_at] = dz_i;
    dz_step[step_at + hidden] = dz_f;
    dz_step[step_at + 2 * hidden] = dz_o;
    dz_step[step_at + 3 * hidden] = dz_g;
    next_cell_carry[state_at] = dc * f;
}
