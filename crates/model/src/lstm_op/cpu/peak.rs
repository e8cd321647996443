//! The machine's fp32 multiply-add rate as the CPU kernel sees it, for `bench` to print its
//! achieved GFLOP/s against: the kernel's own packed product ([`PackedMatrix`]) on a shape that
//! stays in each core's cache, so that only the arithmetic units limit it.

use std::time::Instant;

use super::packed::PackedMatrix;

/// Rows, depth and columns of each thread's product: a large model's per-step shape narrowed to 256
/// columns, so that the packed matrix (256 KiB) and the result stay in a core's L2 cache.
const SHAPE: (usize, usize, usize) = (64, 256, 256);
/// Products per thread in one timed round (about 10 ms at 100 GFLOP/s).
const PRODUCTS_PER_ROUND: usize = 120;
/// Timed rounds; the best counts, as a peak should.
const ROUNDS: usize = 5;

/// The best GFLOP/s of `threads` threads, each multiplying its own cache-resident
/// `[64, 256]·[256, 256]` with the packed kernel ([`PackedMatrix`], AVX-512 or AVX2 as the CPU
/// has), counting `2·rows·depth·columns` flops per product, over five rounds of about 10 ms.
/// Threads beyond the cores the process may use only share them.
pub fn measured_peak_gflops(threads: usize) -> f64 {
    let threads = threads.max(1);
    let (rows, depth, columns) = SHAPE;
    let values =
        |count: usize| -> Vec<f32> { (0..count).map(|i| (i % 97) as f32 / 97.0 - 0.5).collect() };
    let packed = PackedMatrix::pack(&values(depth * columns), depth, columns);
    let a = values(rows * depth);
    let flops = (2 * rows * depth * columns * PRODUCTS_PER_ROUND * threads) as f64;
    let round = || {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut out = vec![0.0; rows * columns];
                    for _ in 0..PRODUCTS_PER_ROUND {
                        packed.multiply_into(&a, &mut out, false);
                        std::hint::black_box(&mut out);
                    }
                });
            }
        });
        flops / start.elapsed().as_secs_f64() / 1e9
    };
    (0..ROUNDS).map(|_| round()).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figure is a rate, not a constant: positive, finite, and below any CPU's reach (a
    /// broken timer or flop count would give zero, infinity or absurd values).
    #[test]
    fn the_measured_peak_is_a_plausible_rate() {
        for threads in [1, 2] {
            let gflops = measured_peak_gflops(threads);
            assert!(
                gflops.is_finite() && gflops > 0.05 && gflops < 100_000.0,
                "{threads} thread(s): {gflops} GFLOP/s"
            );
        }
    }
}
