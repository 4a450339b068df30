/* pooling.cu -- the CUDA twins of minisinga/c/pooling.c: 2-D max and average
 * pooling.  Typed (f32, f64).
 *
 * x, dx: (NC, H, W); y, dy, argmax: (NC, OH, OW).  The window of output
 * (oh, ow) covers rows h0 .. h0+KH-1 and columns w0 .. w0+KW-1 with
 * h0 = oh*SH - PT, w0 = ow*SW - PL; only the cells inside x take part.
 *
 * Forward: one thread per output, the C loop over its window.
 * Backward of the average: one thread per input cell, adding dy / count of
 * every window that contains it, in the (oh, ow) order of the C loop.
 * Backward of the max: the kernel gets no window geometry (only argmax), so
 * one thread per plane adds dy into dx[argmax] in the C loop's order.  Both
 * give the CPU's sums bit for bit, with no atomics. */
#include "ms_cuda.h"

/* The part of a window that lies inside x: rows [*hs, *he), columns [*ws, *we). */
__device__ inline void ms_pool_window(int64_t *hs, int64_t *he, int64_t *ws, int64_t *we,
                                      int64_t oh, int64_t ow, int64_t H, int64_t W,
                                      int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                      int64_t PT, int64_t PL)
{
    int64_t h0 = oh * SH - PT, w0 = ow * SW - PL;
    *hs = h0 < 0 ? 0 : h0;
    *he = h0 + KH < H ? h0 + KH : H;
    *ws = w0 < 0 ? 0 : w0;
    *we = w0 + KW < W ? w0 + KW : W;
}

/* y[p, oh, ow] = max over the window of x[p]
 * argmax[p, oh, ow] = h*W + w of that maximum within plane p.
 * Ties: the FIRST maximum in row-major window order wins.  NaN propagates. */
__global__ void FN(max_pool2d_forward_kernel)(T *y, int32_t *argmax, const T *x, int64_t NC,
                                              int64_t H, int64_t W, int64_t OH, int64_t OW,
                                              int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                              int64_t PT, int64_t PL)
{
    MS_FOR_EACH(k, NC * OH * OW) {
        const int64_t ow = k % OW, oh = (k / OW) % OH, p = k / (OH * OW);
        const T *plane = x + p * H * W;
        int64_t hs, he, ws, we;
        ms_pool_window(&hs, &he, &ws, &we, oh, ow, H, W, KH, KW, SH, SW, PT, PL);
        int64_t best_i = hs * W + ws;
        T best = plane[best_i];
        for (int64_t h = hs; h < he; h++)
            for (int64_t w = ws; w < we; w++) {
                T v = plane[h * W + w];
                if (v > best || (v != v && best == best)) {
                    best = v;
                    best_i = h * W + w;
                }
            }
        y[k] = best;
        argmax[k] = (int32_t)best_i;
    }
}
extern "C" void FN(max_pool2d_forward)(T *y, int32_t *argmax, const T *x, int64_t NC, int64_t H,
                                       int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                       int64_t SH, int64_t SW, int64_t PT, int64_t PL)
{
    if (NC * OH * OW > 0)
        MS_LAUNCH(FN(max_pool2d_forward_kernel), ms_blocks(NC * OH * OW), MS_THREADS, y, argmax,
                  x, NC, H, W, OH, OW, KH, KW, SH, SW, PT, PL);
}

/* dx[p, argmax[p, oh, ow]] += dy[p, oh, ow]   (dx zeroed first: it is written)
 * Overlapping windows may share an argmax, and adding in the order of o keeps
 * the sum the C kernel's, so ONE thread adds a plane's outputs in order.
 *
 * Small planes (the usual case): one block per plane.  The block copies the
 * plane's argmax and dy into shared memory (coalesced) and zeroes a shared
 * copy of dx; thread 0 adds in order there (shared-memory latency, not global);
 * the block writes dx back.  Larger planes: one thread per plane, in global
 * memory (slow: each add waits for its loads). */
#define MS_POOL_SHARED 2048 /* the most cells of a plane (and of its outputs) kept in shared memory */

__global__ void FN(max_pool2d_backward_shared_kernel)(T *dx, const T *dy, const int32_t *argmax,
                                                      int64_t NC, int64_t HW, int64_t OHW)
{
    __shared__ T plane[MS_POOL_SHARED];
    __shared__ T g[MS_POOL_SHARED];
    __shared__ int32_t idx[MS_POOL_SHARED];
    for (int64_t p = blockIdx.x; p < NC; p += gridDim.x) {
        for (int64_t e = threadIdx.x; e < HW; e += blockDim.x)
            plane[e] = (T)0;
        for (int64_t o = threadIdx.x; o < OHW; o += blockDim.x) {
            g[o] = dy[p * OHW + o];
            idx[o] = argmax[p * OHW + o];
        }
        __syncthreads();
        if (threadIdx.x == 0)
            for (int64_t o = 0; o < OHW; o++)
                plane[idx[o]] += g[o];
        __syncthreads();
        for (int64_t e = threadIdx.x; e < HW; e += blockDim.x)
            dx[p * HW + e] = plane[e];
        __syncthreads(); /* the shared arrays are refilled for the next plane */
    }
}

__global__ void FN(max_pool2d_backward_kernel)(T *dx, const T *dy, const int32_t *argmax,
                                               int64_t NC, int64_t H, int64_t W, int64_t OH,
                                               int64_t OW)
{
    MS_FOR_EACH(p, NC) {
        T *plane = dx + p * H * W;
        const T *g = dy + p * OH * OW;
        const int32_t *idx = argmax + p * OH * OW;
        for (int64_t o = 0; o < OH * OW; o++)
            plane[idx[o]] += g[o];
    }
}

extern "C" void FN(max_pool2d_backward)(T *dx, const T *dy, const int32_t *argmax, int64_t NC,
                                        int64_t H, int64_t W, int64_t OH, int64_t OW)
{
    if (NC * H * W <= 0)
        return;
    if (H * W <= MS_POOL_SHARED && OH * OW <= MS_POOL_SHARED) {
        MS_LAUNCH(FN(max_pool2d_backward_shared_kernel), (unsigned int)(NC < 65535 ? NC : 65535),
                  128, dx, dy, argmax, NC, H * W, OH * OW);
        return;
    }
    FN(fill)(dx, (T)0, NC * H * W);
    if (NC * OH * OW > 0)
        MS_LAUNCH(FN(max_pool2d_backward_kernel), ms_blocks(NC), MS_THREADS, dx, dy, argmax, NC,
                  H, W, OH, OW);
}

/* y[p, oh, ow] = (1 / count) * sum over the window of x[p]   (sum in double),
 * count = the number of window cells inside x (padding excluded, as SINGA).
 * The C kernel's order: each window row summed from 0.0, then the row sums. */
__global__ void FN(avg_pool2d_forward_kernel)(T *y, const T *x, int64_t NC, int64_t H,
                                              int64_t W, int64_t OH, int64_t OW, int64_t KH,
                                              int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                              int64_t PL)
{
    MS_FOR_EACH(k, NC * OH * OW) {
        const int64_t ow = k % OW, oh = (k / OW) % OH, p = k / (OH * OW);
        const T *plane = x + p * H * W;
        int64_t hs, he, ws, we;
        ms_pool_window(&hs, &he, &ws, &we, oh, ow, H, W, KH, KW, SH, SW, PT, PL);
        double acc = 0.0;
        for (int64_t h = hs; h < he; h++) {
            double row = 0.0;
            for (int64_t w = ws; w < we; w++)
                row += (double)plane[h * W + w];
            acc += row;
        }
        y[k] = (T)(acc / (double)((he - hs) * (we - ws)));
    }
}
extern "C" void FN(avg_pool2d_forward)(T *y, const T *x, int64_t NC, int64_t H, int64_t W,
                                       int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                       int64_t SH, int64_t SW, int64_t PT, int64_t PL)
{
    if (NC * OH * OW > 0)
        MS_LAUNCH(FN(avg_pool2d_forward_kernel), ms_blocks(NC * OH * OW), MS_THREADS, y, x, NC,
                  H, W, OH, OW, KH, KW, SH, SW, PT, PL);
}

/* dx[p, h, w] = sum over the windows (oh, ow) containing (h, w) of dy[p, oh, ow] / count
 * Window rows oh contain h when oh*SH - PT <= h <= oh*SH - PT + KH - 1, i.e.
 * ceil((h + PT - KH + 1) / SH) <= oh <= floor((h + PT) / SH) (columns alike). */
__global__ void FN(avg_pool2d_backward_kernel)(T *dx, const T *dy, int64_t NC, int64_t H,
                                               int64_t W, int64_t OH, int64_t OW, int64_t KH,
                                               int64_t KW, int64_t SH, int64_t SW, int64_t PT,
                                               int64_t PL)
{
    MS_FOR_EACH(k, NC * H * W) {
        const int64_t w = k % W, h = (k / W) % H, p = k / (H * W);
        int64_t lo_h = h + PT - KH + 1, lo_w = w + PL - KW + 1;
        const int64_t oh0 = lo_h <= 0 ? 0 : (lo_h + SH - 1) / SH;
        const int64_t ow0 = lo_w <= 0 ? 0 : (lo_w + SW - 1) / SW;
        const int64_t oh1 = (h + PT) / SH < OH - 1 ? (h + PT) / SH : OH - 1;
        const int64_t ow1 = (w + PL) / SW < OW - 1 ? (w + PL) / SW : OW - 1;
        T acc = (T)0;
        for (int64_t oh = oh0; oh <= oh1; oh++)
            for (int64_t ow = ow0; ow <= ow1; ow++) {
                int64_t hs, he, ws, we;
                ms_pool_window(&hs, &he, &ws, &we, oh, ow, H, W, KH, KW, SH, SW, PT, PL);
                acc += dy[(p * OH + oh) * OW + ow] / (T)((he - hs) * (we - ws));
            }
        dx[k] = acc;
    }
}
extern "C" void FN(avg_pool2d_backward)(T *dx, const T *dy, int64_t NC, int64_t H, int64_t W,
                                        int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                        int64_t SH, int64_t SW, int64_t PT, int64_t PL)
{
    if (NC * H * W > 0)
        MS_LAUNCH(FN(avg_pool2d_backward_kernel), ms_blocks(NC * H * W), MS_THREADS, dx, dy, NC,
                  H, W, OH, OW, KH, KW, SH, SW, PT, PL);
}
