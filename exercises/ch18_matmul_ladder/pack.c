/* ladder.2: packing, step 4 of the ladder (docs/performance/matmul-ladder.md).
 *
 * Copy the block A[i0 : i0 + mc, p0 : p0 + kc] of the row-major n x n matrix A
 * into panels of mr rows, each stored k-major, so that the micro-kernel reads
 * it with unit stride:
 *
 *   panel at row r (r = 0, mr, 2 mr, ...):
 *     ap[r * kc + p * mr + i] = A[i0 + r + i, p0 + p]     (0 where r + i >= mc)
 *
 *   python -m minisinga.exercises check ladder.2
 */

void pack_A(float *ap, const float *A, int n, int i0, int p0, int mc, int kc, int mr)
{
    /* TODO: not implemented yet */
    (void)ap; (void)A; (void)n; (void)i0; (void)p0; (void)mc; (void)kc; (void)mr;
}
