//! Adam with decoupled weight decay (AdamW; plain Adam at decay 0), each parameter's update
//! one backend operation.
//!
//! Burn's `AdamW` updates a parameter with a dozen tensor operations (moments, bias
//! corrections, square root, division, update), each a pass over memory and a fresh
//! allocation, on the training thread, which for small models is a large share of a step.
//! [`AdamBackend::adam_step`] is the same update; its default is Burn's sequence of
//! tensor operations, and NdArray's is three vectorised passes over the values with the same
//! arithmetic in the same order, so both give Burn's results to the bit. The optimizer keeps
//! Burn's state type ([`AdamWState`]), so saved optimizer states load either way.

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::grad_clipping::GradientClipping;
use burn::optim::{AdamWState, AdaptiveMomentumState, SimpleOptimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn_ndarray::NdArray;

use crate::ndarray_buffers::{owned, shared, slice, tensor};

/// The constants of one parameter's update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// Decay of the first moment (Burn's and Keras' default 0.9).
    pub beta_1: f32,
    /// Decay of the second moment (default 0.999).
    pub beta_2: f32,
    /// Added to the second moment's square root.
    pub epsilon: f32,
    /// Decoupled weight decay, per unit of learning rate.
    pub weight_decay: f32,
    /// The step size.
    pub learning_rate: f64,
    /// This update's number, from 1, for the bias corrections.
    pub time: usize,
}

/// A backend that can run [`adam_step`](AdamBackend::adam_step).
pub trait AdamBackend: Backend {
    /// Updates `parameter` by its gradient `grad` (same shape) and moments (`[first, second]`,
    /// same shape; `None` before the first update) and returns the updated
    /// `[parameter, first moment, second moment]`.
    fn adam_step<const D: usize>(
        parameter: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<[Tensor<Self, D>; 2]>,
        step: AdamStep,
    ) -> [Tensor<Self, D>; 3] {
        tensor_op_step(parameter, grad, moments, step)
    }
}

/// [`AdamBackend::adam_step`] in tensor operations: burn-optim 0.21's `AdamW::step` and
/// `AdaptiveMomentumW::transform`, operation for operation (the scalars converted as Burn
/// converts them).
pub(crate) fn tensor_op_step<B: Backend, const D: usize>(
    parameter: Tensor<B, D>,
    grad: Tensor<B, D>,
    moments: Option<[Tensor<B, D>; 2]>,
    step: AdamStep,
) -> [Tensor<B, D>; 3] {
    let factor_1 = 1.0 - step.beta_1;
    let factor_2 = 1.0 - step.beta_2;
    let (first, second) = match moments {
        Some([first, second]) => (
            first
                .mul_scalar(step.beta_1)
                .add(grad.clone().mul_scalar(factor_1)),
            second
                .mul_scalar(step.beta_2)
                .add(grad.square().mul_scalar(factor_2)),
        ),
        None => (
            grad.clone().mul_scalar(factor_1),
            grad.square().mul_scalar(factor_2),
        ),
    };
    let time = step.time as i32;
    let first_corrected = first.clone().div_scalar(1f32 - step.beta_1.powi(time));
    let second_corrected = second.clone().div_scalar(1f32 - step.beta_2.powi(time));
    let delta = first_corrected.div(second_corrected.sqrt().add_scalar(step.epsilon));
    let decay_rate = step.learning_rate * step.weight_decay as f64;
    let decayed = if decay_rate == 0.0 {
        parameter
    } else {
        parameter.mul_scalar(1.0 - decay_rate)
    };
    [
        decayed - delta.mul_scalar(step.learning_rate),
        first,
        second,
    ]
}

impl AdamBackend for NdArray {
    fn adam_step<const D: usize>(
        parameter: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<[Tensor<Self, D>; 2]>,
        step: AdamStep,
    ) -> [Tensor<Self, D>; 3] {
        let shape = parameter.dims();
        let mut parameter = owned(parameter);
        let grad = shared(grad);
        let grad = slice(&grad);
        let (mut first, mut second, started) = match moments {
            Some([first, second]) => (owned(first), owned(second), true),
            None => (vec![0.0; grad.len()], vec![0.0; grad.len()], false),
        };
        let AdamStep {
            beta_1,
            beta_2,
            epsilon,
            ..
        } = step;
        let (factor_1, factor_2) = (1.0 - beta_1, 1.0 - beta_2);
        let time = step.time as i32;
        let (correction_1, correction_2) = (1f32 - beta_1.powi(time), 1f32 - beta_2.powi(time));
        let decay_rate = step.learning_rate * step.weight_decay as f64;
        let (keep, rate) = ((1.0 - decay_rate) as f32, step.learning_rate as f32);
        if started {
            update_moments(
                &mut first,
                &mut second,
                grad,
                [beta_1, beta_2],
                [factor_1, factor_2],
            );
        } else {
            start_moments(&mut first, &mut second, grad, [factor_1, factor_2]);
        }
        update_parameter(
            &mut parameter,
            &first,
            &second,
            [correction_1, correction_2],
            epsilon,
            keep,
            rate,
        );
        [
            tensor(parameter, shape),
            tensor(first, shape),
            tensor(second, shape),
        ]
    }
}

// NdArray's update in three passes over slices passed as arguments: their references are
// `noalias` to LLVM only as function arguments, and without that it kept the loops scalar
// (with the division and square root chained, 7 ns per value: a tenth of the tutorial's
// training thread).

/// `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`.
fn update_moments(m: &mut [f32], v: &mut [f32], g: &[f32], betas: [f32; 2], factors: [f32; 2]) {
    let (m, v) = (&mut m[..g.len()], &mut v[..g.len()]);
    for i in 0..g.len() {
        m[i] = m[i] * betas[0] + g[i] * factors[0];
        v[i] = v[i] * betas[1] + (g[i] * g[i]) * factors[1];
    }
}

/// The first update's moments: `m = (1-β1)·g`, `v = (1-β2)·g²`.
fn start_moments(m: &mut [f32], v: &mut [f32], g: &[f32], factors: [f32; 2]) {
    let (m, v) = (&mut m[..g.len()], &mut v[..g.len()]);
    for i in 0..g.len() {
        m[i] = g[i] * factors[0];
        v[i] = (g[i] * g[i]) * factors[1];
    }
}

/// `p = p·keep - (m/c1) / (√(v/c2) + ε)·rate`, in that order. Without decay `keep` is exactly
/// 1, and `x·1 = x` for every float: Burn's update.
fn update_parameter(
    p: &mut [f32],
    m: &[f32],
    v: &[f32],
    corrections: [f32; 2],
    epsilon: f32,
    keep: f32,
    rate: f32,
) {
    let (m, v) = (&m[..p.len()], &v[..p.len()]);
    for i in 0..p.len() {
        let delta = (m[i] / corrections[0]) / ((v[i] / corrections[1]).sqrt() + epsilon);
        p[i] = p[i] * keep - delta * rate;
    }
}

/// AdamW whose update is [`AdamBackend::adam_step`]; Burn's `OptimizerAdaptor` around it does
/// the rest (gradient clipping, state per parameter, records).
#[derive(Clone, Debug)]
pub struct FusedAdamW {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
}

impl FusedAdamW {
    /// Betas 0.9 and 0.999 (Burn's and Keras' defaults), the given epsilon and decoupled
    /// weight decay (0: plain Adam).
    pub fn new(epsilon: f32, weight_decay: f32) -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon,
            weight_decay,
        }
    }

    /// The optimizer for module `M` on the training backend `B`, clipping gradients first when
    /// asked to.
    pub fn init<B, M>(self, clipping: Option<GradientClipping>) -> OptimizerAdaptor<Self, M, B>
    where
        B: AutodiffBackend<InnerBackend: AdamBackend>,
        M: burn::module::AutodiffModule<B>,
    {
        let optimizer = OptimizerAdaptor::from(self);
        match clipping {
            Some(clipping) => optimizer.with_grad_clipping(clipping),
            None => optimizer,
        }
    }
}

impl<B: AdamBackend> SimpleOptimizer<B> for FusedAdamW {
    type State<const D: usize> = AdamWState<B, D>;

    fn step<const D: usize>(
        &self,
        learning_rate: f64,
        parameter: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let (moments, time) = match state {
            Some(AdamWState { momentum }) => (
                Some([momentum.moment_1, momentum.moment_2]),
                momentum.time + 1,
            ),
            None => (None, 1),
        };
        let step = AdamStep {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            learning_rate,
            time,
        };
        let [parameter, moment_1, moment_2] = B::adam_step(parameter, grad, moments, step);
        let momentum = AdaptiveMomentumState::new(time, moment_1, moment_2);
        (parameter, Some(AdamWState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        AdamWState::new(state.momentum.to_device(device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
    use burn::tensor::Distribution;
    use burn_autodiff::Autodiff;

    type Train = Autodiff<NdArray>;

    fn values<const D: usize>(tensor: Tensor<NdArray, D>) -> Vec<f32> {
        tensor.into_data().to_vec::<f32>().expect("floats")
    }

    /// NdArray's three-pass update equals the tensor-operation one exactly (what every other
    /// backend runs), on the first update and a later one, with and without weight decay.
    #[test]
    fn cpu_update_equals_the_tensor_operations_to_the_bit() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        let random =
            || Tensor::<NdArray, 2>::random([5, 7], Distribution::Normal(0.0, 1.0), &device);
        let (parameter, grad) = (random(), random());
        let second = random().abs();
        for weight_decay in [0.0, 0.01] {
            for (moments, time) in [(None, 1), (Some([random(), second.clone()]), 4)] {
                let step = AdamStep {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-7,
                    weight_decay,
                    learning_rate: 3e-3,
                    time,
                };
                let ours =
                    NdArray::adam_step(parameter.clone(), grad.clone(), moments.clone(), step);
                let reference = tensor_op_step(parameter.clone(), grad.clone(), moments, step);
                for (name, (ours, reference)) in ["parameter", "first moment", "second moment"]
                    .iter()
                    .zip(ours.into_iter().zip(reference))
                {
                    assert_eq!(
                        values(ours),
                        values(reference),
                        "{name}, decay {weight_decay}, time {time}"
                    );
                }
            }
        }
    }

    /// Three optimizer steps of [`FusedAdamW`] and of Burn's `AdamW` on the same layer with the
    /// same gradients leave the same weights, to the bit.
    #[test]
    fn fused_adamw_follows_burns_adamw() {
        let _rng = crate::backend_rng();
        let device = Default::default();
        for weight_decay in [0.0f32, 0.05] {
            let layer: Linear<Train> = LinearConfig::new(3, 2).init(&device);
            // Parameters are initialised lazily, and a clone made before would draw its own.
            let _ = (
                layer.weight.val(),
                layer.bias.as_ref().map(|bias| bias.val()),
            );
            let mut ours = FusedAdamW::new(1e-7, weight_decay).init::<Train, Linear<Train>>(None);
            let mut burns = AdamWConfig::new()
                .with_epsilon(1e-7)
                .with_weight_decay(weight_decay)
                .init::<Train, Linear<Train>>();
            let (mut our_layer, mut burn_layer) = (layer.clone(), layer);
            for _ in 0..3 {
                let inputs =
                    Tensor::<Train, 2>::random([4, 3], Distribution::Normal(0.0, 1.0), &device);
                let loss =
                    |layer: &Linear<Train>| layer.forward(inputs.clone()).powf_scalar(2.0).sum();
                let grads = GradientsParams::from_grads(loss(&our_layer).backward(), &our_layer);
                our_layer = ours.step(1e-2, our_layer, grads);
                let grads = GradientsParams::from_grads(loss(&burn_layer).backward(), &burn_layer);
                burn_layer = burns.step(1e-2, burn_layer, grads);
            }
            let weights = |layer: Linear<Train>| {
                let bias = layer
                    .bias
                    .expect("Linear has a bias by default")
                    .val()
                    .inner();
                (values(layer.weight.val().inner()), values(bias))
            };
            assert_eq!(
                weights(our_layer),
                weights(burn_layer),
                "weight decay {weight_decay}"
            );
        }
    }
}
