//! Matrix products whose right-hand side is a weight matrix used at every time step.
//!
//! A general GEMM (matrixmultiply) copies both operands into its own layout on every call, so
//! the per-step product `h·W_h` repacked the whole recurrent kernel (1 MiB at H=256) a hundred
//! times per pass and thread, which dominated large hidden sizes. [`PackedMatrix`] does that copy once per
//! pass, and its product is a register-tiled loop over SIMD vectors written with `pulp`, which
//! picks AVX-512, AVX2+FMA or NEON when the program starts, in safe code.
//!
//! Each result is `sum_k a[r, k]·b[k, c]`, fused multiply-adds in `k` order from zero, then
//! stored or added to the destination: which tile or thread computes a row does not change its
//! bits.

use pulp::{Arch, Simd, WithSimd};

/// Columns per panel: two AVX-512 vectors, four AVX2 vectors, eight NEON vectors.
pub(super) const PANEL: usize = 32;

/// A row-major `[depth, columns]` matrix laid out for repeated products `a·b`: the columns cut
/// into panels of [`PANEL`], each panel's `depth` rows contiguous, the last one padded with zeros.
pub(super) struct PackedMatrix {
    depth: usize,
    columns: usize,
    /// `[columns / PANEL (rounded up)][depth][PANEL]`.
    panels: Vec<f32>,
}

impl PackedMatrix {
    /// Packs `matrix`, row-major `[depth, columns]`.
    pub(super) fn pack(matrix: &[f32], depth: usize, columns: usize) -> Self {
        assert_eq!(matrix.len(), depth * columns, "matrix is [depth, columns]");
        let mut panels = vec![0.0; columns.div_ceil(PANEL) * depth * PANEL];
        if depth > 0 {
            for (p, panel) in panels.chunks_exact_mut(depth * PANEL).enumerate() {
                let first = p * PANEL;
                let width = PANEL.min(columns - first);
                for (row, packed) in matrix
                    .chunks_exact(columns)
                    .zip(panel.chunks_exact_mut(PANEL))
                {
                    packed[..width].copy_from_slice(&row[first..first + width]);
                }
            }
        }
        Self {
            depth,
            columns,
            panels,
        }
    }

    /// Packs the transpose of `matrix`, row-major `[columns, depth]`: what [`pack`](Self::pack)
    /// makes of the transposed copy, without making that copy first.
    pub(super) fn pack_transposed(matrix: &[f32], depth: usize, columns: usize) -> Self {
        assert_eq!(matrix.len(), depth * columns, "matrix is [columns, depth]");
        let mut panels = vec![0.0; columns.div_ceil(PANEL) * depth * PANEL];
        if depth > 0 {
            for (p, panel) in panels.chunks_exact_mut(depth * PANEL).enumerate() {
                let first = p * PANEL;
                let width = PANEL.min(columns - first);
                // Row `first + j` of `matrix` is column `j` of this panel.
                for (j, row) in matrix
                    .chunks_exact(depth)
                    .skip(first)
                    .take(width)
                    .enumerate()
                {
                    for (packed, value) in panel.chunks_exact_mut(PANEL).zip(row) {
                        packed[j] = *value;
                    }
                }
            }
        }
        Self {
            depth,
            columns,
            panels,
        }
    }

    /// `out = a·b`, or `out += a·b` when `accumulate`: `a` row-major `[rows, depth]`, `out`
    /// row-major `[rows, columns]`.
    pub(super) fn multiply_into(&self, a: &[f32], out: &mut [f32], accumulate: bool) {
        let rows = out.len() / self.columns.max(1);
        assert_eq!(out.len(), rows * self.columns, "out is [rows, columns]");
        assert_eq!(a.len(), rows * self.depth, "a is [rows, depth]");
        Arch::new().dispatch(Multiply {
            packed: self,
            a,
            out,
            rows,
            accumulate,
        });
    }
}

/// The sequences' gradient `dz·W_inᵀ` over every step, `packed` being `W_inᵀ`
/// (`[4H, input]`), from `dz` in step-major processing order (`[steps·batch, 4H]`, reversed in
/// time when `reverse`), written batch-major in time order: `[batch, steps, input]`, row-major.
///
/// matrixmultiply copied all of `dz` into its own layout first, which took longer than its
/// arithmetic, and the step-major result then reached the layer below as a strided view, which
/// the next operations (the sum of two directions' gradients, the split into the layer's
/// directions) walked value by value. Here `W_inᵀ` is packed once; each thread takes a part of
/// the batch, and per step multiplies that part's rows of `dz` (read where they lie, and in cache
/// while every panel reads them) into a small buffer whose rows it copies to their places. Each
/// row is summed as [`PackedMatrix::multiply_into`] sums it, whatever the split.
pub(super) fn sequence_gradient_batch_major(
    packed: &PackedMatrix,
    dz: &[f32],
    batch: usize,
    reverse: bool,
    threads: usize,
) -> Vec<f32> {
    let (depth, columns) = (packed.depth, packed.columns);
    let steps = dz.len().checked_div(batch * depth).unwrap_or(0);
    let mut grad = super::spare::take(batch * steps * columns);
    let parts = super::threads::batch_parts(batch, threads);
    let mut jobs = Vec::with_capacity(parts.len());
    let mut rest = &mut grad[..];
    for part in parts {
        let (mine, after) = std::mem::take(&mut rest).split_at_mut(part.len() * steps * columns);
        jobs.push((part, mine));
        rest = after;
    }
    super::threads::on_threads(jobs, |(part, grad)| {
        let mut rows = vec![0.0; part.len() * columns];
        for step in 0..steps {
            let first = step * batch + part.start;
            packed.multiply_into(&dz[first * depth..][..part.len() * depth], &mut rows, false);
            let time = if reverse { steps - 1 - step } else { step };
            for (b, row) in rows.chunks_exact(columns.max(1)).enumerate() {
                grad[(b * steps + time) * columns..][..columns].copy_from_slice(row);
            }
        }
    });
    grad
}

/// [`PackedMatrix::multiply_into`]'s arguments, run once the SIMD instruction set is known.
struct Multiply<'a> {
    packed: &'a PackedMatrix,
    a: &'a [f32],
    out: &'a mut [f32],
    rows: usize,
    accumulate: bool,
}

impl WithSimd for Multiply<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        // Tiles of rows × PANEL sums kept in vector registers, the rest of the register file
        // holding a panel row and the broadcast `a` value: 16 of AVX-512's (and NEON's) 32
        // registers, 8 of AVX2's 16. (Four AVX2 rows, 16 sums, do not fit beside the panel row:
        // the sums spill to the stack and the product runs at half speed.)
        match S::F32_LANES {
            16 => self.panels::<S, 8, { PANEL / 16 }>(simd),
            8 => self.panels::<S, 2, { PANEL / 8 }>(simd),
            4 => self.panels::<S, 2, { PANEL / 4 }>(simd),
            _ => self.panels::<S, 1, 0>(simd),
        }
    }
}

impl Multiply<'_> {
    /// Every panel, in tiles of `ROWS` rows (then single rows), each panel row `VECTORS` SIMD
    /// vectors wide (0: one value at a time).
    #[inline(always)]
    fn panels<S: Simd, const ROWS: usize, const VECTORS: usize>(self, simd: S) {
        let Multiply {
            packed,
            a,
            out,
            rows,
            accumulate,
        } = self;
        let PackedMatrix {
            depth,
            columns,
            ref panels,
        } = *packed;
        if depth == 0 {
            if !accumulate {
                out.fill(0.0);
            }
            return;
        }
        let full = rows / ROWS * ROWS;
        for (p, panel) in panels.chunks_exact(depth * PANEL).enumerate() {
            let tile = Tile {
                panel,
                depth,
                columns,
                first: p * PANEL,
                accumulate,
            };
            for row in (0..full).step_by(ROWS) {
                tile.rows::<S, ROWS, VECTORS>(simd, a, out, row);
            }
            for row in full..rows {
                tile.rows::<S, 1, VECTORS>(simd, a, out, row);
            }
        }
    }
}

/// One panel's product with some rows of `a`.
struct Tile<'a> {
    panel: &'a [f32],
    depth: usize,
    columns: usize,
    /// The panel's first column.
    first: usize,
    accumulate: bool,
}

impl Tile<'_> {
    /// Rows `row..row + ROWS` of the result, this panel's columns.
    #[inline(always)]
    fn rows<S: Simd, const ROWS: usize, const VECTORS: usize>(
        &self,
        simd: S,
        a: &[f32],
        out: &mut [f32],
        row: usize,
    ) {
        let Tile {
            panel,
            depth,
            columns,
            first,
            accumulate,
        } = *self;
        if VECTORS == 0 || VECTORS * S::F32_LANES != PANEL {
            return self.rows_scalar(a, out, row, ROWS);
        }
        // The sums stay in registers only if every loop below has a length known at compile
        // time and every index is provably in bounds (else LLVM keeps them on the stack), and
        // only while they stay in this function: moved into a helper through `&mut`, or viewed
        // through a helper's returned array, they were stored after every multiply-add, which
        // halves the product's speed.
        let mut sums = [[simd.splat_f32s(0.0); VECTORS]; ROWS];
        let a_rows: [&[f32]; ROWS] = std::array::from_fn(|r| &a[(row + r) * depth..][..depth]);
        let (panel_rows, _) = S::as_simd_f32s(panel).0.as_chunks::<VECTORS>();
        let panel_rows = &panel_rows[..depth];
        for (k, b) in panel_rows.iter().enumerate() {
            for r in 0..ROWS {
                let x = simd.splat_f32s(a_rows[r][k]);
                for v in 0..VECTORS {
                    sums[r][v] = simd.mul_add_f32s(x, b[v], sums[r][v]);
                }
            }
        }
        let width = PANEL.min(columns - first);
        for (r, sums) in sums.iter().enumerate() {
            let values: &[f32] = bytemuck::cast_slice(sums);
            let target = &mut out[(row + r) * columns + first..][..width];
            store(target, &values[..width], accumulate);
        }
    }

    /// [`rows`](Self::rows) one value at a time, for vectors narrower than four lanes.
    fn rows_scalar(&self, a: &[f32], out: &mut [f32], row: usize, count: usize) {
        let width = PANEL.min(self.columns - self.first);
        for r in row..row + count {
            let mut sums = [0.0f32; PANEL];
            let a_row = &a[r * self.depth..][..self.depth];
            for (x, b) in a_row.iter().zip(self.panel.chunks_exact(PANEL)) {
                for (sum, b) in sums.iter_mut().zip(b) {
                    *sum = x.mul_add(*b, *sum);
                }
            }
            let target = &mut out[r * self.columns + self.first..][..width];
            store(target, &sums[..width], self.accumulate);
        }
    }
}

#[inline(always)]
fn store(target: &mut [f32], values: &[f32], accumulate: bool) {
    if accumulate {
        for (t, v) in target.iter_mut().zip(values) {
            *t += v;
        }
    } else {
        target.copy_from_slice(values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-0.5, 0.5) without an RNG.
    fn values(count: usize, salt: usize) -> Vec<f32> {
        (0..count)
            .map(|i| ((i * 7919 + salt * 104_729) % 1000) as f32 / 1000.0 - 0.5)
            .collect()
    }

    /// The same sums in f64, `k` in order.
    fn reference(a: &[f32], b: &[f32], rows: usize, depth: usize, columns: usize) -> Vec<f64> {
        (0..rows * columns)
            .map(|i| {
                let (r, c) = (i / columns, i % columns);
                (0..depth)
                    .map(|k| a[r * depth + k] as f64 * b[k * columns + c] as f64)
                    .sum()
            })
            .collect()
    }

    #[test]
    fn products_match_f64_sums_for_ragged_shapes() {
        // Rows off the tile heights, columns off the panel width, depth 1 and long.
        for (rows, depth, columns) in [
            (1, 1, 1),
            (5, 3, 7),
            (8, 50, 200),
            (17, 64, 33),
            (13, 256, 96),
            (0, 4, 8),
        ] {
            let a = values(rows * depth, 1);
            let b = values(depth * columns, 2);
            let start = values(rows * columns, 3);
            let exact = reference(&a, &b, rows, depth, columns);
            let packed = PackedMatrix::pack(&b, depth, columns);
            for accumulate in [false, true] {
                let mut out = start.clone();
                packed.multiply_into(&a, &mut out, accumulate);
                for (i, (&got, exact)) in out.iter().zip(&exact).enumerate() {
                    let want = exact + if accumulate { start[i] as f64 } else { 0.0 };
                    let scale = 1.0 + (depth as f64).sqrt();
                    assert!(
                        (got as f64 - want).abs() <= 1e-6 * scale,
                        "[{rows}, {depth}]·[{depth}, {columns}], accumulate {accumulate}, \
                         value {i}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// A row's result does not depend on which rows share its call (threads split the batch).
    #[test]
    fn a_row_is_computed_the_same_in_any_tile() {
        let (rows, depth, columns) = (19, 40, 70);
        let a = values(rows * depth, 4);
        let packed = PackedMatrix::pack(&values(depth * columns, 5), depth, columns);
        let mut whole = vec![0.0; rows * columns];
        packed.multiply_into(&a, &mut whole, false);
        for split in [1, 3, 8, 11] {
            let mut parts = vec![0.0; rows * columns];
            let (top, bottom) = parts.split_at_mut(split * columns);
            packed.multiply_into(&a[..split * depth], top, false);
            packed.multiply_into(&a[split * depth..], bottom, false);
            assert_eq!(whole, parts, "split after row {split}");
        }
    }

    #[test]
    fn packing_the_transpose_equals_packing_a_transposed_copy() {
        for (depth, columns) in [(1, 1), (5, 3), (7, 33), (64, 70)] {
            let matrix = values(columns * depth, 5);
            let mut transposed = vec![0.0; depth * columns];
            for (c, row) in matrix.chunks_exact(depth).enumerate() {
                for (k, value) in row.iter().enumerate() {
                    transposed[k * columns + c] = *value;
                }
            }
            let direct = PackedMatrix::pack_transposed(&matrix, depth, columns);
            let copied = PackedMatrix::pack(&transposed, depth, columns);
            assert_eq!(direct.panels, copied.panels, "[{depth}, {columns}]");
        }
    }

    #[test]
    fn depth_zero_is_a_zero_product() {
        let packed = PackedMatrix::pack(&[], 0, 3);
        let mut out = vec![1.0; 6];
        packed.multiply_into(&[], &mut out, true);
        assert_eq!(out, vec![1.0; 6]);
        packed.multiply_into(&[], &mut out, false);
        assert_eq!(out, vec![0.0; 6]);
    }
}
