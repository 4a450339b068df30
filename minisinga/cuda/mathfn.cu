/* mathfn.cu -- the CUDA twins of minisinga/c/mathfn.c: sign and rounding, erf,
 * n-ary max / min, prelu, the trigonometric and hyperbolic functions, cosine
 * similarity, the ranking loss and reduce_max / reduce_min.  Typed (f32, f64).
 *
 * Elementwise kernels: one thread per element (grid-stride); the maths in
 * double, rounded once to T, as in C (CUDA's sin, erf, ... may differ from
 * glibc's in the last bit).  Row kernels (cossim, reduce_max / reduce_min over
 * contiguous rows): one block per row, reducing with ms_block_reduce; the
 * ranking loss: block partial sums and one finishing block, as in loss.cu.
 * Backward kernels WRITE dx. */
#include "ms_cuda.h"
#include "pointwise.h"

/* ------------------------------------------------- sign and rounding */

__global__ void FN(sign_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = sign_forward_one(x[i]);
}
extern "C" void FN(sign_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sign_forward_kernel), n, y, x, n);
}

__global__ void FN(ceil_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = ceil_forward_one(x[i]);
}
extern "C" void FN(ceil_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(ceil_forward_kernel), n, y, x, n);
}

__global__ void FN(floor_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = floor_forward_one(x[i]);
}
extern "C" void FN(floor_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(floor_forward_kernel), n, y, x, n);
}

__global__ void FN(round_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = round_forward_one(x[i]);
}
extern "C" void FN(round_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(round_forward_kernel), n, y, x, n);
}

__global__ void FN(rounde_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = rounde_forward_one(x[i]);
}
extern "C" void FN(rounde_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(rounde_forward_kernel), n, y, x, n);
}

/* ------------------------------------------------------------------ erf */

__global__ void FN(erf_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = erf_forward_one(x[i]);
}
extern "C" void FN(erf_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(erf_forward_kernel), n, y, x, n);
}

__global__ void FN(erf_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = erf_backward_one(dy[i], x[i]);
}
extern "C" void FN(erf_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(erf_backward_kernel), n, dx, dy, x, n);
}

/* --------------------------------------------------------- n-ary max / min
 * A running update per further input; the strict comparison keeps the FIRST
 * input on a tie. */

__global__ void FN(max_update_kernel)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
    MS_FOR_EACH(i, n)
        if (max_update_takes_one(x[i], y[i])) {
            y[i] = x[i];
            arg[i] = k;
        }
}
extern "C" void FN(max_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
    MS_EW_LAUNCH(FN(max_update_kernel), n, y, arg, x, k, n);
}

__global__ void FN(min_update_kernel)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
    MS_FOR_EACH(i, n)
        if (min_update_takes_one(x[i], y[i])) {
            y[i] = x[i];
            arg[i] = k;
        }
}
extern "C" void FN(min_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n)
{
    MS_EW_LAUNCH(FN(min_update_kernel), n, y, arg, x, k, n);
}

__global__ void FN(argselect_backward_kernel)(T *dx, const T *dy, const int32_t *arg,
                                              int32_t k, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = argselect_backward_one(dy[i], arg[i], k);
}
extern "C" void FN(argselect_backward)(T *dx, const T *dy, const int32_t *arg, int32_t k,
                                       int64_t n)
{
    MS_EW_LAUNCH(FN(argselect_backward_kernel), n, dx, dy, arg, k, n);
}

/* ---------------------------------------------------------------- prelu */

__global__ void FN(prelu_forward_kernel)(T *y, const T *x, const T *slope, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = prelu_forward_one(x[i], slope[i]);
}
extern "C" void FN(prelu_forward)(T *y, const T *x, const T *slope, int64_t n)
{
    MS_EW_LAUNCH(FN(prelu_forward_kernel), n, y, x, slope, n);
}

__global__ void FN(prelu_backward_kernel)(T *dx, T *dslope, const T *dy, const T *x,
                                          const T *slope, int64_t n)
{
    MS_FOR_EACH(i, n) {
        dx[i] = prelu_backward_dx_one(dy[i], x[i], slope[i]);
        dslope[i] = prelu_backward_dslope_one(dy[i], x[i]);
    }
}
extern "C" void FN(prelu_backward)(T *dx, T *dslope, const T *dy, const T *x, const T *slope,
                                   int64_t n)
{
    MS_EW_LAUNCH(FN(prelu_backward_kernel), n, dx, dslope, dy, x, slope, n);
}

/* ------------------------------------------------ trigonometric functions */

__global__ void FN(sin_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = sin_forward_one(x[i]);
}
extern "C" void FN(sin_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sin_forward_kernel), n, y, x, n);
}

__global__ void FN(sin_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = sin_backward_one(dy[i], x[i]);
}
extern "C" void FN(sin_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sin_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(cos_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = cos_forward_one(x[i]);
}
extern "C" void FN(cos_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(cos_forward_kernel), n, y, x, n);
}

__global__ void FN(cos_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = cos_backward_one(dy[i], x[i]);
}
extern "C" void FN(cos_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(cos_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(tan_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = tan_forward_one(x[i]);
}
extern "C" void FN(tan_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(tan_forward_kernel), n, y, x, n);
}

__global__ void FN(tan_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = tan_backward_one(dy[i], x[i]);
}
extern "C" void FN(tan_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(tan_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(asin_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = asin_forward_one(x[i]);
}
extern "C" void FN(asin_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(asin_forward_kernel), n, y, x, n);
}

__global__ void FN(asin_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = asin_backward_one(dy[i], x[i]);
}
extern "C" void FN(asin_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(asin_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(acos_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = acos_forward_one(x[i]);
}
extern "C" void FN(acos_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(acos_forward_kernel), n, y, x, n);
}

__global__ void FN(acos_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = acos_backward_one(dy[i], x[i]);
}
extern "C" void FN(acos_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(acos_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(atan_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = atan_forward_one(x[i]);
}
extern "C" void FN(atan_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(atan_forward_kernel), n, y, x, n);
}

__global__ void FN(atan_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = atan_backward_one(dy[i], x[i]);
}
extern "C" void FN(atan_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(atan_backward_kernel), n, dx, dy, x, n);
}

/* --------------------------------------------------- hyperbolic functions */

__global__ void FN(sinh_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = sinh_forward_one(x[i]);
}
extern "C" void FN(sinh_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sinh_forward_kernel), n, y, x, n);
}

__global__ void FN(sinh_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = sinh_backward_one(dy[i], x[i]);
}
extern "C" void FN(sinh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(sinh_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(cosh_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = cosh_forward_one(x[i]);
}
extern "C" void FN(cosh_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(cosh_forward_kernel), n, y, x, n);
}

__global__ void FN(cosh_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = cosh_backward_one(dy[i], x[i]);
}
extern "C" void FN(cosh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(cosh_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(asinh_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = asinh_forward_one(x[i]);
}
extern "C" void FN(asinh_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(asinh_forward_kernel), n, y, x, n);
}

__global__ void FN(asinh_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = asinh_backward_one(dy[i], x[i]);
}
extern "C" void FN(asinh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(asinh_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(acosh_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = acosh_forward_one(x[i]);
}
extern "C" void FN(acosh_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(acosh_forward_kernel), n, y, x, n);
}

__global__ void FN(acosh_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = acosh_backward_one(dy[i], x[i]);
}
extern "C" void FN(acosh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(acosh_backward_kernel), n, dx, dy, x, n);
}

__global__ void FN(atanh_forward_kernel)(T *y, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        y[i] = atanh_forward_one(x[i]);
}
extern "C" void FN(atanh_forward)(T *y, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(atanh_forward_kernel), n, y, x, n);
}

__global__ void FN(atanh_backward_kernel)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_FOR_EACH(i, n)
        dx[i] = atanh_backward_one(dy[i], x[i]);
}
extern "C" void FN(atanh_backward)(T *dx, const T *dy, const T *x, int64_t n)
{
    MS_EW_LAUNCH(FN(atanh_backward_kernel), n, dx, dy, x, n);
}

/* ---------------------------------------------------- cosine similarity */

/* a, b: (N, D);  y, na, nb: (N,).  One block per row r:
 *   na[r] = |a_r|,  nb[r] = |b_r|,  y[r] = (a_r . b_r) / (na[r] nb[r])
 * Convention: a row with na nb == 0 gives y = 0.  Sums in double. */
__global__ void FN(cossim_forward_kernel)(T *y, T *na, T *nb, const T *a, const T *b,
                                          int64_t N, int64_t D)
{
    for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
        const T *ar = a + r * D, *br = b + r * D;
        double ab = 0.0, aa = 0.0, bb = 0.0;
        for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
            ab += (double)ar[j] * (double)br[j];
            aa += (double)ar[j] * (double)ar[j];
            bb += (double)br[j] * (double)br[j];
        }
        ab = ms_block_reduce<MsSum<double> >(ab);
        aa = ms_block_reduce<MsSum<double> >(aa);
        bb = ms_block_reduce<MsSum<double> >(bb);
        if (threadIdx.x == 0) {
            double den = sqrt(aa) * sqrt(bb);
            na[r] = (T)sqrt(aa);
            nb[r] = (T)sqrt(bb);
            y[r] = den > 0.0 ? (T)(ab / den) : (T)0;
        }
    }
}
extern "C" void FN(cossim_forward)(T *y, T *na, T *nb, const T *a, const T *b, int64_t N,
                                   int64_t D)
{
    if (N > 0)
        MS_LAUNCH(FN(cossim_forward_kernel), (unsigned int)(N < 65535 ? N : 65535),
                  ms_row_threads(D), y, na, nb, a, b, N, D);
}

/* dy, y, na, nb: (N,);  da, db, a, b: (N, D);  one thread per element (r, j):
 *   da_r = dy_r (b_r / (na nb) - y_r a_r / na^2)     term 1: the dot product, term 2: |a|
 *   db_r = dy_r (a_r / (na nb) - y_r b_r / nb^2)
 * (0 for a row with na nb == 0, the forward's convention) */
__global__ void FN(cossim_backward_kernel)(T *da, T *db, const T *dy, const T *y, const T *na,
                                           const T *nb, const T *a, const T *b, int64_t N,
                                           int64_t D)
{
    MS_FOR_EACH(i, N * D) {
        int64_t r = i / D;
        double A = (double)na[r], B = (double)nb[r];
        if (A * B == 0.0) {
            da[i] = db[i] = (T)0;
            continue;
        }
        double g = (double)dy[r], yr = (double)y[r];
        da[i] = (T)(g * ((double)b[i] / (A * B) - yr * (double)a[i] / (A * A)));
        db[i] = (T)(g * ((double)a[i] / (A * B) - yr * (double)b[i] / (B * B)));
    }
}
extern "C" void FN(cossim_backward)(T *da, T *db, const T *dy, const T *y, const T *na,
                                    const T *nb, const T *a, const T *b, int64_t N, int64_t D)
{
    MS_EW_LAUNCH(FN(cossim_backward_kernel), N * D, da, db, dy, y, na, nb, a, b, N, D);
}

/* ---------------------------------------------------------- ranking loss
 * loss = 1/N sum_i max(0, M - pos_i + neg_i) in two deterministic passes, as
 * the losses of loss.cu: blocks write partial sums, one block adds them. */
static __device__ double ms_partials[MS_PARTIALS];

/* ms_partials[block] = sum over this block's share of max(0, M - pos_i + neg_i) */
__global__ void FN(ranking_loss_forward_kernel)(const T *pos, const T *neg, T M, int64_t n)
{
    double acc = 0.0;
    MS_FOR_EACH(i, n) {
        double h = (double)M - (double)pos[i] + (double)neg[i];
        acc += h > 0.0 ? h : 0.0;
    }
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        ms_partials[blockIdx.x] = acc;
}

/* loss[0] = (partials[0] + ... + partials[nparts - 1]) / N */
__global__ void FN(ranking_loss_finish_kernel)(T *loss, int nparts, double N)
{
    double acc = 0.0;
    for (int b = threadIdx.x; b < nparts; b += blockDim.x)
        acc += ms_partials[b];
    acc = ms_block_reduce<MsSum<double> >(acc);
    if (threadIdx.x == 0)
        loss[0] = (T)(acc / N);
}

extern "C" void FN(ranking_loss_forward)(T *loss, const T *pos, const T *neg, T M, int64_t n,
                                         int64_t N)
{
    int64_t blocks = (n + MS_THREADS - 1) / MS_THREADS;
    if (blocks > MS_PARTIALS)
        blocks = MS_PARTIALS;
    if (n > 0)
        MS_LAUNCH(FN(ranking_loss_forward_kernel), (unsigned int)blocks, MS_THREADS,
                  pos, neg, M, n);
    /* n == 0: no partials, the loss is 0 / N as in C */
    MS_LAUNCH(FN(ranking_loss_finish_kernel), 1, MS_THREADS, loss, (int)(n > 0 ? blocks : 0),
              (double)N);
}

/* h_i = [M - pos_i + neg_i > 0]  (0 at the hinge itself)
 *   dpos_i = -dy h_i / N ;  dneg_i = dy h_i / N   (dy read on the device) */
__global__ void FN(ranking_loss_backward_kernel)(T *dpos, T *dneg, const T *dy, const T *pos,
                                                 const T *neg, T M, int64_t n, int64_t N)
{
    double g = (double)dy[0] / (double)N;
    MS_FOR_EACH(i, n) {
        bool active = (double)M - (double)pos[i] + (double)neg[i] > 0.0;
        dpos[i] = active ? (T)(-g) : (T)0;
        dneg[i] = active ? (T)g : (T)0;
    }
}
extern "C" void FN(ranking_loss_backward)(T *dpos, T *dneg, const T *dy, const T *pos,
                                          const T *neg, T M, int64_t n, int64_t N)
{
    MS_EW_LAUNCH(FN(ranking_loss_backward_kernel), n, dpos, dneg, dy, pos, neg, M, n, N);
}

/* ---------------------------------------------------- reduce_max / reduce_min
 * x: (outer, mid, inner), mid >= 1;  y, arg: (outer, inner).
 * arg[o, i] is the FIRST m attaining the maximum (minimum) of x[o, :, i], as
 * the C loop `if (x[m] > best)` from best = x[0] finds it; y = x[o, arg, i].
 *
 * inner == 1 (contiguous rows, what reduce.py launches): one block per row.
 * Each thread runs the C loop over its strided share of the row (from x[0]),
 * which gives the first position of its own best; the block then takes the
 * best value (ms_block_reduce with max / min) and the smallest position among
 * the threads holding it.  That is the C kernel's answer: a NaN never wins
 * (`NaN > best` is false), except x[0] = NaN, which nothing replaces.
 * inner > 1: one thread per output (o, i), the C loop itself. */

/* the strict comparison of the running loop: max wants v > best, min v < best */
template <bool IS_MAX> __device__ inline bool ms_better(double v, double best)
{
    return IS_MAX ? v > best : v < best;
}

template <bool IS_MAX, typename V>
__device__ void ms_first_best_rows(V *y, int32_t *arg, const V *x, int64_t outer, int64_t mid)
{
    for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
        const V *xr = x + o * mid;
        V best = xr[0];
        int32_t at = 0;
        for (int64_t m = 1 + threadIdx.x; m < mid; m += blockDim.x)
            if (ms_better<IS_MAX>((double)xr[m], (double)best)) {
                best = xr[m];
                at = (int32_t)m;
            }
        V top = IS_MAX ? ms_block_reduce<MsMax<V> >(best) : ms_block_reduce<MsMin<V> >(best);
        int32_t first = ms_block_reduce<MsMin<int32_t> >(best == top ? at : INT32_MAX);
        if (threadIdx.x == 0) {
            if (xr[0] != xr[0]) /* x[0] is NaN: nothing replaced it */
                first = 0;
            y[o] = xr[first];
            arg[o] = first;
        }
    }
}

template <bool IS_MAX, typename V>
__device__ void ms_first_best_columns(V *y, int32_t *arg, const V *x, int64_t outer,
                                      int64_t mid, int64_t inner)
{
    MS_FOR_EACH(k, outer * inner) {
        int64_t o = k / inner, i = k % inner;
        const V *xs = x + o * mid * inner + i;
        V best = xs[0];
        int32_t at = 0;
        for (int64_t m = 1; m < mid; m++)
            if (ms_better<IS_MAX>((double)xs[m * inner], (double)best)) {
                best = xs[m * inner];
                at = (int32_t)m;
            }
        y[k] = best;
        arg[k] = at;
    }
}

/* y[o, i] = max_m x[o, m, i],  arg[o, i] = the first m attaining it */
__global__ void FN(reduce_max_forward_kernel)(T *y, int32_t *arg, const T *x, int64_t outer,
                                              int64_t mid, int64_t inner)
{
    if (inner == 1)
        ms_first_best_rows<true>(y, arg, x, outer, mid);
    else
        ms_first_best_columns<true>(y, arg, x, outer, mid, inner);
}

/* y[o, i] = min_m x[o, m, i],  arg[o, i] = the first m attaining it */
__global__ void FN(reduce_min_forward_kernel)(T *y, int32_t *arg, const T *x, int64_t outer,
                                              int64_t mid, int64_t inner)
{
    if (inner == 1)
        ms_first_best_rows<false>(y, arg, x, outer, mid);
    else
        ms_first_best_columns<false>(y, arg, x, outer, mid, inner);
}

/* inner == 1: one block per row; else one thread per output */
static void FN(reduce_best_launch)(bool is_max, T *y, int32_t *arg, const T *x, int64_t outer,
                                   int64_t mid, int64_t inner)
{
    if (outer * inner == 0 || mid < 1)
        return;
    unsigned int blocks = inner == 1 ? (unsigned int)(outer < 65535 ? outer : 65535)
                                     : ms_blocks(outer * inner);
    int threads = inner == 1 ? ms_row_threads(mid) : MS_THREADS;
    if (is_max)
        MS_LAUNCH(FN(reduce_max_forward_kernel), blocks, threads, y, arg, x, outer, mid, inner);
    else
        MS_LAUNCH(FN(reduce_min_forward_kernel), blocks, threads, y, arg, x, outer, mid, inner);
}

extern "C" void FN(reduce_max_forward)(T *y, int32_t *arg, const T *x, int64_t outer,
                                       int64_t mid, int64_t inner)
{
    FN(reduce_best_launch)(true, y, arg, x, outer, mid, inner);
}

extern "C" void FN(reduce_min_forward)(T *y, int32_t *arg, const T *x, int64_t outer,
                                       int64_t mid, int64_t inner)
{
    FN(reduce_best_launch)(false, y, arg, x, outer, mid, inner);
}

/* dx[o, m, i] = dy[o, i] if m == arg[o, i] else 0   (backward of both) */
__global__ void FN(reduce_arg_backward_kernel)(T *dx, const T *dy, const int32_t *arg,
                                               int64_t outer, int64_t mid, int64_t inner)
{
    MS_FOR_EACH(k, outer * mid * inner) {
        int64_t i = k % inner, m = (k / inner) % mid, o = k / (mid * inner);
        dx[k] = arg[o * inner + i] == m ? dy[o * inner + i] : (T)0;
    }
}
extern "C" void FN(reduce_arg_backward)(T *dx, const T *dy, const int32_t *arg, int64_t outer,
                                        int64_t mid, int64_t inner)
{
    MS_EW_LAUNCH(FN(reduce_arg_backward_kernel), outer * mid * inner, dx, dy, arg, outer, mid,
                 inner);
}
