//! The gate functions over `f32` slices, written so that their loops vectorise: `e^x`,
//! the sigmoid and `tanh` without library calls, and each function's slope from its value.

use crate::lstm_op::Nonlinearity;

impl Nonlinearity {
    /// `slopes[j]` = the derivative at the input that produced `values[j]`, from the value
    /// alone; one vectorised pass, as [`apply_in_place`](Self::apply_in_place).
    #[inline(always)]
    pub(super) fn slopes_into(self, values: &[f32], slopes: &mut [f32]) {
        let values = &values[..slopes.len()];
        let each = slopes.iter_mut().zip(values);
        match self {
            Self::Sigmoid => each.for_each(|(s, y)| *s = y * (1.0 - y)),
            Self::HardSigmoid { alpha, .. } => {
                let alpha = alpha as f32;
                each.for_each(|(s, &y)| *s = if y > 0.0 && y < 1.0 { alpha } else { 0.0 })
            }
            Self::Tanh => each.for_each(|(s, y)| *s = 1.0 - y * y),
            Self::Relu => each.for_each(|(s, &y)| *s = if y > 0.0 { 1.0 } else { 0.0 }),
        }
    }

    /// Replaces each value by the function at it: one pass, with the choice of function made
    /// once per call, so that the compiler vectorises the loop.
    #[inline(always)]
    pub(super) fn apply_in_place(self, values: &mut [f32]) {
        match self {
            Self::Sigmoid => values.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Self::HardSigmoid { alpha, beta } => {
                let (alpha, beta) = (alpha as f32, beta as f32);
                values
                    .iter_mut()
                    .for_each(|v| *v = (alpha * *v + beta).clamp(0.0, 1.0))
            }
            Self::Tanh => values.iter_mut().for_each(|v| *v = tanh(*v)),
            Self::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        }
    }
}

/// `e^x` without a library call, so that loops over it vectorise: `x = n·ln 2 + r` with
/// `|r| <= ln 2 / 2`, `e^r` by Cephes' `expf` polynomial, `2^n` built in the exponent bits.
/// Within 8.3e-8 relative of the exact value (libm's `expf`: 6.0e-8; measured over [-87, 88] in
/// steps of 1e-4). Arguments are clamped to where `2^n` is a normal float (`e^-87` is 1.6e-38,
/// `e^88` 1.7e38), which the sigmoid and tanh saturate long before.
#[inline(always)]
fn exp(x: f32) -> f32 {
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer in the float unit itself.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5; // Cephes: 5.0000001201e-1, which is 0.5 in f32
    let e_r = p * r * r + r + 1.0;
    // 2^n from its biased exponent n + 127 (1..=254 here), read out of the float 2^23 + n + 127
    // whose low bits hold it: `as i32` would saturate and keep the loop scalar.
    // (Wrapping: an overflow check, which debug builds keep, would keep the loop scalar too.)
    let biased = (n + (127.0 + 8_388_608.0))
        .to_bits()
        .wrapping_sub(0x4B00_0000);
    e_r * f32::from_bits(biased << 23)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh` through one [`exp`]: `1 - 2/(e^2x + 1)`, which loses relative precision near zero by
/// cancellation, so small arguments take the Taylor series instead (both are computed and one
/// kept, which vectorises; the series' first omitted term is below 1e-8 relative there). Within
/// about 1e-6 relative of libm's `tanhf` everywhere; saturates to exactly ±1.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let x2 = x * x;
    let series = x
        * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0 - x2 * (62.0 / 2835.0)))));
    let closed = 1.0 - 2.0 / (exp(2.0 * x) + 1.0);
    if x.abs() < 0.25 {
        series
    } else {
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_and_sigmoid_are_within_3e_7_relative() {
        let (mut worst_exp, mut worst_sigmoid) = (0f64, 0f64);
        for i in -870_000..=880_000 {
            let x = i as f32 * 1e-4;
            let exact = (x as f64).exp();
            worst_exp = worst_exp.max(((exp(x) as f64 - exact) / exact).abs());
            let exact = 1.0 / (1.0 + (-x as f64).exp());
            worst_sigmoid = worst_sigmoid.max(((sigmoid(x) as f64 - exact) / exact).abs());
        }
        assert!(worst_exp < 3e-7, "exp: worst relative error {worst_exp}");
        assert!(
            worst_sigmoid < 3e-7,
            "sigmoid: worst relative error {worst_sigmoid}"
        );
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert!(sigmoid(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn fast_tanh_is_within_a_millionth_relative_of_libm() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let exact = (x as f64).tanh();
            let error = ((tanh(x) as f64 - exact) / exact.abs().max(1e-30)).abs();
            worst = worst.max(if x == 0.0 { 0.0 } else { error });
        }
        for x in [30.0f32, 100.0, 1e30, f32::INFINITY] {
            assert_eq!(tanh(x), 1.0);
            assert_eq!(tanh(-x), -1.0);
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
    }
}
