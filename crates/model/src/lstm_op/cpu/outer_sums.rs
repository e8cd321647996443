//! Sums of outer products over all time steps: the weight gradients `xᵀ·dz` and `hᵀ·dz`.
//!
//! With `a` (`[n, m]`, the inputs or hidden states of every step and sequence) and `b` (`[n, w]`,
//! the gates' gradients), `aᵀ·b` is a product whose depth is every row (`n` is batch × steps).
//! Through matrixmultiply, `a` is read transposed (a strided gather into its packing) and all of
//! `b` (tens of megabytes) is copied into packed panels before any arithmetic. Here `b` is copied a
//! block of 256 rows × 32 columns at a time into a buffer that stays in L1 while every column of
//! `a` is multiplied with it, and `a` is read as it lies: the `m` values of one of its rows
//! feed `m` rows of the result.
//!
//! Each value is summed the way matrixmultiply sums it, so results keep their bits: an FMA chain
//! from zero over each block of [`BLOCK`] rows (counted from the first row), the blocks added in
//! order. The column sums (the bias gradient) are plain sums in row order.

use pulp::{Arch, Simd, WithSimd};
use std::ops::Range;

/// Rows per block: matrixmultiply's `kc` for `f32`.
const BLOCK: usize = 256;
/// Columns per block: two AVX-512 vectors, four AVX2 vectors, eight NEON vectors. Threads
/// splitting the columns best split them on multiples of it.
pub(super) use super::packed::PANEL;

/// Some columns of `aᵀ·b`, and of `b`'s column sums.
pub(super) struct ColumnBlock {
    /// Which columns.
    pub(super) columns: Range<usize>,
    /// `[m, columns]`, row-major.
    pub(super) product: Vec<f32>,
    /// `sum_r b[r, c]` for these columns, when asked for.
    pub(super) sums: Option<Vec<f32>>,
}

/// Columns `columns` of `aᵀ·b` (`a` row-major `[n, m]`, `b` row-major `[n, w]`), and of `b`'s
/// column sums when `want_sums`.
pub(super) fn outer_product_sums(
    a: &[f32],
    m: usize,
    b: &[f32],
    w: usize,
    columns: Range<usize>,
    want_sums: bool,
) -> ColumnBlock {
    let n = b.len().checked_div(w).unwrap_or(0);
    assert_eq!(b.len(), n * w, "b is [n, w]");
    assert_eq!(a.len(), n * m, "a is [n, m]");
    assert!(columns.end <= w, "columns within b");
    let mut block = ColumnBlock {
        columns: columns.clone(),
        product: vec![0.0; m * columns.len()],
        sums: want_sums.then(|| vec![0.0; columns.len()]),
    };
    Arch::new().dispatch(OuterSums {
        a,
        m,
        b,
        w,
        columns,
        block: &mut block,
    });
    block
}

/// [`outer_product_sums`]' arguments, run once the SIMD instruction set is known.
struct OuterSums<'a> {
    a: &'a [f32],
    m: usize,
    b: &'a [f32],
    w: usize,
    columns: Range<usize>,
    block: &'a mut ColumnBlock,
}

impl WithSimd for OuterSums<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        // The tile sizes of `packed.rs`, for the same reason: the sums and a panel row must fit
        // in the register file (32 vectors on AVX-512 and NEON, 16 on AVX2).
        match S::F32_LANES {
            16 => self.run::<S, 8, { PANEL / 16 }>(simd),
            8 => self.run::<S, 2, { PANEL / 8 }>(simd),
            4 => self.run::<S, 2, { PANEL / 4 }>(simd),
            _ => self.run::<S, 1, 0>(simd),
        }
    }
}

impl OuterSums<'_> {
    /// Every panel of columns, block of rows by block of rows; within a block, the result's rows
    /// in tiles of `ROWS` (then single rows), each panel row `VECTORS` SIMD vectors wide (0: one
    /// value at a time).
    #[inline(always)]
    fn run<S: Simd, const ROWS: usize, const VECTORS: usize>(self, simd: S) {
        let OuterSums {
            a,
            m,
            b,
            w,
            columns,
            block,
        } = self;
        let n = b.len().checked_div(w).unwrap_or(0);
        let out_width = columns.len();
        // One block of `b` (BLOCK rows of these columns) in panels of PANEL columns, each
        // panel's rows contiguous, the last panel zero-padded.
        let panels = out_width.div_ceil(PANEL);
        let mut packed = vec![0.0f32; panels * BLOCK * PANEL];
        // Blocks of rows outside, panels inside: a block of `a` (a few hundred kilobytes) stays in L2
        // while every panel reads it; the other way round, each panel read all of `a` again,
        // row by row at a stride, from memory.
        for start in (0..n).step_by(BLOCK) {
            let rows = BLOCK.min(n - start);
            // The block is read row by row, along memory, which the prefetcher follows; read
            // panel by panel, each 128 bytes came from another page.
            for r in 0..rows {
                let row = &b[(start + r) * w + columns.start..][..out_width];
                if let Some(sums) = &mut block.sums {
                    for (sum, value) in sums.iter_mut().zip(row) {
                        *sum += value;
                    }
                }
                for (p, part) in row.chunks(PANEL).enumerate() {
                    packed[(p * BLOCK + r) * PANEL..][..part.len()].copy_from_slice(part);
                }
            }
            for (p, panel) in packed.chunks_exact(BLOCK * PANEL).enumerate() {
                let offset = p * PANEL;
                let tile = Tile {
                    panel: &panel[..rows * PANEL],
                    a: &a[start * m..(start + rows) * m],
                    m,
                    out_width,
                    offset,
                    width: PANEL.min(out_width - offset),
                    add: start > 0,
                };
                let full = m / ROWS * ROWS;
                for i in (0..full).step_by(ROWS) {
                    tile.rows::<S, ROWS, VECTORS>(simd, &mut block.product, i);
                }
                for i in full..m {
                    tile.rows::<S, 1, VECTORS>(simd, &mut block.product, i);
                }
            }
        }
    }
}

/// One block of rows of one panel, multiplied into some rows of the result.
struct Tile<'a> {
    /// `[rows][PANEL]`.
    panel: &'a [f32],
    /// The same rows of `a`, `[rows][m]`.
    a: &'a [f32],
    m: usize,
    /// The result's row length.
    out_width: usize,
    /// The panel's first column in the result, and how many of its columns are real.
    offset: usize,
    width: usize,
    /// Add to the result (a later block) rather than store (the first).
    add: bool,
}

impl Tile<'_> {
    /// The result's rows `i..i + ROWS` (columns `i..` of `a`), this panel's columns.
    #[inline(always)]
    fn rows<S: Simd, const ROWS: usize, const VECTORS: usize>(
        &self,
        simd: S,
        out: &mut [f32],
        i: usize,
    ) {
        if VECTORS == 0 || VECTORS * S::F32_LANES != PANEL {
            return self.rows_scalar(out, i, ROWS);
        }
        // As in `packed.rs`: fixed loop lengths and provable indices keep the sums in registers.
        let mut sums = [[simd.splat_f32s(0.0); VECTORS]; ROWS];
        let (panel_rows, _) = S::as_simd_f32s(self.panel).0.as_chunks::<VECTORS>();
        for (b, a_row) in panel_rows.iter().zip(self.a.chunks_exact(self.m)) {
            let a_values: &[f32; ROWS] = a_row[i..][..ROWS]
                .try_into()
                .expect("the slice has ROWS values");
            for r in 0..ROWS {
                let x = simd.splat_f32s(a_values[r]);
                for v in 0..VECTORS {
                    sums[r][v] = simd.mul_add_f32s(x, b[v], sums[r][v]);
                }
            }
        }
        for (r, sums) in sums.iter().enumerate() {
            let values: &[f32] = bytemuck::cast_slice(sums);
            self.store(out, i + r, &values[..self.width]);
        }
    }

    /// [`rows`](Self::rows) one value at a time, for vectors narrower than four lanes.
    fn rows_scalar(&self, out: &mut [f32], i: usize, count: usize) {
        for i in i..i + count {
            let mut sums = [0.0f32; PANEL];
            for (b, a_row) in self
                .panel
                .chunks_exact(PANEL)
                .zip(self.a.chunks_exact(self.m))
            {
                let x = a_row[i];
                for (sum, b) in sums.iter_mut().zip(b) {
                    *sum = x.mul_add(*b, *sum);
                }
            }
            self.store(out, i, &sums[..self.width]);
        }
    }

    #[inline(always)]
    fn store(&self, out: &mut [f32], row: usize, values: &[f32]) {
        let target = &mut out[row * self.out_width + self.offset..][..self.width];
        if self.add {
            for (t, v) in target.iter_mut().zip(values) {
                *t += v;
            }
        } else {
            target.copy_from_slice(values);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::linalg::general_mat_mul;
    use ndarray::{Array2, ArrayView2};

    /// Deterministic values in [-0.5, 0.5) without an RNG.
    fn values(count: usize, salt: usize) -> Vec<f32> {
        (0..count)
            .map(|i| ((i * 7919 + salt * 104_729) % 1000) as f32 / 1000.0 - 0.5)
            .collect()
    }

    /// The kernel's weight gradients were `general_mat_mul(aᵀ, b)` (matrixmultiply) and a
    /// row-order sum: these equal them to the bit, so training histories are unchanged. Depths
    /// past one block, columns off the panel width, widths off the tile heights.
    #[test]
    fn equal_matrixmultiply_and_row_order_sums_bit_for_bit() {
        for (n, m, w) in [
            (1, 1, 1),
            (7, 3, 5),
            (320, 50, 200),
            (700, 9, 70),
            (513, 17, 33),
        ] {
            let a = values(n * m, 1);
            let b = values(n * w, 2);
            let a_view = ArrayView2::from_shape((n, m), &a[..]).expect("shape");
            let b_view = ArrayView2::from_shape((n, w), &b[..]).expect("shape");
            let mut expected = Array2::<f32>::zeros((m, w));
            general_mat_mul(1.0, &a_view.t(), &b_view, 0.0, &mut expected);
            let mut expected_sums = vec![0.0f32; w];
            for row in b.chunks_exact(w) {
                for (sum, value) in expected_sums.iter_mut().zip(row) {
                    *sum += value;
                }
            }
            // All columns at once, and in two uneven parts (how threads split them).
            let split = w / 3;
            let whole: Vec<Range<usize>> = std::iter::once(0..w).collect();
            for parts in [whole, vec![0..split, split..w]] {
                for part in parts {
                    let block = outer_product_sums(&a, m, &b, w, part.clone(), true);
                    assert_eq!(block.columns, part);
                    for i in 0..m {
                        let got = &block.product[i * part.len()..][..part.len()];
                        let want = expected.row(i);
                        assert_eq!(
                            got,
                            &want.as_slice().expect("standard layout")[part.clone()],
                            "n {n}, m {m}, w {w}, columns {part:?}, row {i}"
                        );
                    }
                    let sums = block.sums.expect("asked for");
                    assert_eq!(sums, &expected_sums[part.clone()], "sums, columns {part:?}");
                }
            }
        }
    }

    #[test]
    fn no_rows_sum_to_zero() {
        let block = outer_product_sums(&[], 2, &[], 3, 0..3, true);
        assert_eq!(block.product, vec![0.0; 6]);
        assert_eq!(block.sums, Some(vec![0.0; 3]));
    }
}
