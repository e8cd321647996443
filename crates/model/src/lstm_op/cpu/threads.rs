//! How the kernel spreads its work: how many threads a pass is worth, the batch cut into
//! contiguous parts, the pool of threads kept between calls, and the SIMD dispatch.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use pulp::WithSimd;
use std::ops::Range;
use std::sync::OnceLock;

pub(super) fn view(values: &[f32], rows: usize, columns: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, columns), values).expect("buffer sizes follow the shapes")
}

fn view_mut(values: &mut [f32], rows: usize, columns: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape((rows, columns), values).expect("buffer sizes follow the shapes")
}

/// `c = a·b`, `c` row-major `[a.rows, b.columns]`, on `threads` threads: each computes a block of
/// `c`'s rows (or of its columns, when `c` is wider than tall), so no two write the same value
/// and each value is summed in the same order whatever the thread count.
pub(super) fn gemm_on_threads(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    c: &mut [f32],
    threads: usize,
) {
    let (rows, columns) = (a.nrows(), b.ncols());
    let mut c = view_mut(c, rows, columns);
    let by_rows = rows >= columns;
    let axis = if by_rows { Axis(0) } else { Axis(1) };
    let block = c.len_of(axis).div_ceil(threads.max(1)).max(1);
    let c_blocks = c.axis_chunks_iter_mut(axis, block);
    let jobs: Vec<_> = if by_rows {
        a.axis_chunks_iter(Axis(0), block)
            .zip(std::iter::repeat(b))
            .zip(c_blocks)
            .collect()
    } else {
        std::iter::repeat(a)
            .zip(b.axis_chunks_iter(Axis(1), block))
            .zip(c_blocks)
            .collect()
    };
    on_threads(jobs, |((a, b), mut c)| {
        general_mat_mul(1.0, &a, &b, 0.0, &mut c)
    });
}

/// Below this many floating-point operations per thread, handing work to another thread costs
/// more than it saves: the tutorial's model (13 MFLOP per backward pass) runs faster on one
/// thread than on two, even with the kept pool ([`helpers`]).
const MIN_FLOPS_PER_THREAD: f64 = 16e6;
/// Each thread's rows in the per-step products: fewer than this leave the GEMM's 8-row tiles
/// mostly empty.
const MIN_ROWS_PER_THREAD: usize = 8;

/// The cores this process may use (cgroup quotas and `taskset` included), looked up once.
fn available_threads() -> usize {
    static AVAILABLE: OnceLock<usize> = OnceLock::new();
    *AVAILABLE.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// How many threads share work of `flops` spread over `rows` independent rows.
pub(super) fn threads_for(rows: usize, flops: f64) -> usize {
    let by_work = (flops / MIN_FLOPS_PER_THREAD) as usize;
    let by_rows = rows / MIN_ROWS_PER_THREAD;
    available_threads().min(by_work).min(by_rows).max(1)
}

/// Splits `0..batch` into `threads` contiguous ranges of nearly equal length.
pub(super) fn batch_parts(batch: usize, threads: usize) -> Vec<Range<usize>> {
    let threads = threads.clamp(1, batch.max(1));
    (0..threads)
        .map(|t| batch * t / threads..batch * (t + 1) / threads)
        .collect()
}

/// Cuts a step-major buffer (`[steps][batch][width]`) into each part's rows of every step:
/// `result[part][step]` is that part's `[rows, width]` block of that step.
pub(super) fn rows_of_every_step<'a>(
    buffer: &'a mut [f32],
    batch: usize,
    width: usize,
    parts: &[Range<usize>],
) -> Vec<Vec<&'a mut [f32]>> {
    let mut blocks: Vec<Vec<&mut [f32]>> = parts.iter().map(|_| Vec::new()).collect();
    for step in buffer.chunks_exact_mut(batch * width) {
        let mut rest = step;
        for (part, rows) in blocks.iter_mut().zip(parts) {
            let (block, after) = rest.split_at_mut(rows.len() * width);
            part.push(block);
            rest = after;
        }
    }
    blocks
}

/// Runs `job` once per item, the last on this thread and the others on [`helpers`]' threads.
pub(super) fn on_threads<T: Send>(mut items: Vec<T>, job: impl Fn(T) + Sync) {
    let own = items.pop();
    let job = &job;
    helpers().in_place_scope(|scope| {
        for item in items {
            scope.spawn(move |_| job(item));
        }
        if let Some(item) = own {
            job(item);
        }
    });
}

/// Threads kept between calls, one fewer than [`available_threads`] since the calling thread
/// takes a share too (idle pool threads spin a while before they sleep, and a spare one took
/// time from the two that work). A thread started per call, as `std::thread::scope` does, cost
/// tens of microseconds and a cold allocator heap, three times per training batch.
fn helpers() -> &'static rayon::ThreadPool {
    static HELPERS: OnceLock<rayon::ThreadPool> = OnceLock::new();
    HELPERS.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(available_threads().saturating_sub(1).max(1))
            .thread_name(|index| format!("lstm-kernel-{index}"))
            .build()
            .expect("a thread pool starts")
    })
}

/// Runs `job` compiled for the widest SIMD instructions this CPU has (AVX-512, AVX2+FMA, ...,
/// picked at run time by `pulp`). The build targets baseline x86-64, whose SSE2 is all the
/// compiler may use elsewhere: the gate passes ran four lanes at a time. The arithmetic is the
/// same operations in the same order (Rust does not contract `a * b + c` into an FMA), only
/// wider.
pub(super) fn widest_simd(job: impl WithSimd<Output = ()>) {
    pulp::Arch::new().dispatch(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_parts_cover_the_batch_in_order() {
        for batch in [1, 2, 7, 64] {
            for threads in [1, 2, 3, 100] {
                let parts = batch_parts(batch, threads);
                assert_eq!(parts.len(), threads.min(batch));
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts.last().map(|p| p.end), Some(batch));
                assert!(parts
                    .windows(2)
                    .all(|w| w[0].end == w[1].start && !w[1].is_empty()));
            }
        }
    }
}
