//! NumPy's legacy `RandomState`, reproduced bit for bit for the draws the tutorial uses.
//!
//! `np.random.seed(s)` seeds a Mersenne Twister (MT19937) with the classic `init_genrand(s)`;
//! `np.random.randn` then draws from the *legacy* Gaussian generator: the polar Box–Muller method,
//! which makes two values per accepted pair and caches the second for the next call. Both the
//! rejection loop and the cache must be reproduced exactly, or every later value shifts.

use rand_mt::Mt;

/// A port of `numpy.random.RandomState` limited to `seed`, `random_sample` and `randn`.
pub struct NumpyRandomState {
    twister: Mt,
    cached_gauss: Option<f64>,
}

impl NumpyRandomState {
    /// Seeds like `np.random.seed(seed)` (NumPy accepts seeds from 0 to 2³²−1).
    pub fn new(seed: u32) -> Self {
        Self {
            twister: Mt::new(seed),
            cached_gauss: None,
        }
    }

    /// A uniform draw in `[0, 1)` with 53 random bits, as NumPy's `random_sample`.
    pub fn random_sample(&mut self) -> f64 {
        let high = f64::from(self.twister.next_u32() >> 5);
        let low = f64::from(self.twister.next_u32() >> 6);
        (high * 67_108_864.0 + low) / 9_007_199_254_740_992.0
    }

    /// One standard normal draw, as NumPy's legacy `gauss` (used by `randn`).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(cached) = self.cached_gauss.take() {
            return cached;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let factor = (-2.0 * r2.ln() / r2).sqrt();
        self.cached_gauss = Some(factor * x1);
        factor * x2
    }

    /// `count` standard normal draws in order, as `np.random.randn(*shape).ravel()` for a shape
    /// holding `count` elements (C order).
    pub fn randn(&mut self, count: usize) -> Vec<f64> {
        (0..count).map(|_| self.standard_normal()).collect()
    }
}

/// Sums like NumPy's `np.add.reduce` on a contiguous run of floats: pairwise summation with eight
/// accumulators, so that `np.mean` results are reproduced to the last bit.
pub fn numpy_sum(values: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        values.iter().fold(0.0, |sum, v| sum + v)
    } else if n <= BLOCK {
        let mut partial = [0.0; 8];
        partial.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for chunk in values[8..whole].chunks_exact(8) {
            for (acc, v) in partial.iter_mut().zip(chunk) {
                *acc += v;
            }
        }
        let mut sum = ((partial[0] + partial[1]) + (partial[2] + partial[3]))
            + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
        for v in &values[whole..] {
            sum += v;
        }
        sum
    } else {
        let half = (n / 2) - (n / 2) % 8;
        numpy_sum(&values[..half]) + numpy_sum(&values[half..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twister_matches_the_reference_mt19937_output() {
        // First outputs of init_genrand(5489), from the authors' reference implementation.
        let mut twister = Mt::new(5489);
        assert_eq!(twister.next_u32(), 3_499_211_612);
        assert_eq!(twister.next_u32(), 581_869_302);
    }

    #[test]
    fn first_draws_match_numpy_seed_zero() {
        // >>> np.random.seed(0); np.random.randn(3)
        // array([1.76405235, 0.40015721, 0.97873798]); repr() of each value below.
        let mut rng = NumpyRandomState::new(0);
        assert_eq!(rng.standard_normal(), 1.764052345967664);
        assert_eq!(rng.standard_normal(), 0.4001572083672233);
        assert_eq!(rng.standard_normal(), 0.9787379841057392);
    }

    #[test]
    fn uniform_draws_match_numpy_random_sample() {
        // >>> np.random.seed(0); np.random.random_sample(2)
        let mut rng = NumpyRandomState::new(0);
        assert_eq!(rng.random_sample(), 0.5488135039273248);
        assert_eq!(rng.random_sample(), 0.7151893663724195);
    }

    #[test]
    fn pairwise_sum_groups_like_numpy() {
        // With eight accumulators the order of additions differs from a left fold; this input
        // makes the difference visible in the last bits.
        let values = [1e16, 1.0, -1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let left_fold: f64 = values.iter().sum();
        assert_eq!(left_fold, 7.0);
        assert_eq!(numpy_sum(&values), 6.0);
        assert_eq!(numpy_sum(&values[..3]), values[..3].iter().sum::<f64>());
    }
}
