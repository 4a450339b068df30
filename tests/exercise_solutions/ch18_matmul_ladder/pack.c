/* Reference solution of ladder.2 (dev/gemm_ladder/step4_packing.c's pack_A). */

void pack_A(float *ap, const float *A, int n, int i0, int p0, int mc, int kc, int mr)
{
    for (int r = 0; r < mc; r += mr)
        for (int p = 0; p < kc; p++)
            for (int i = 0; i < mr; i++)
                ap[r * kc + p * mr + i] = (r + i < mc) ? A[(i0 + r + i) * n + p0 + p] : 0;
}
