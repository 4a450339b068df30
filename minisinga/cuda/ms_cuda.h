/*
 * ms_cuda.h -- the contract between Python and the CUDA module (minisinga._cuda).
 *
 * Two parts:
 *
 * 1. The GPU housekeeping that has no CPU twin: devices, memory, copies and
 *    errors (defined in minisinga/cuda/core.cu).
 *
 * 2. The kernels.  A CUDA launcher has EXACTLY the name and C signature of the
 *    C kernel it mirrors (relu_forward_f32(T *y, const T *x, int64_t n)), only
 *    its pointers are device pointers.  So this header does not declare them
 *    again: it reads the typed half of minisinga/c/minisinga.h once per element
 *    type, as minisinga.h itself does.  Every .cu file includes this header, so
 *    nvcc rejects a launcher whose signature differs from the C kernel's
 *    (two extern "C" functions of one name cannot have two signatures).
 *
 * Errors.  A launcher returns void, like its C twin.  Every CUDA call made here
 * (cudaMalloc, cudaMemcpy, a kernel launch, ...) is checked; the first failure
 * is kept, with the name of the call, until Python takes it with
 * ms_cuda_take_error() and raises RuntimeError("cudaMalloc failed: out of
 * memory").  Python checks ms_cuda_error_pending() after every call.
 */
#ifndef MS_CUDA_H
#define MS_CUDA_H

#ifndef MS_CDEF /* cffi's parser knows these types already */
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- devices */
/* Number of usable GPUs; 0 when there is no driver, no GPU or any error
 * (that error is NOT kept: "no GPU" is an answer, not a failure). */
int ms_cuda_device_count(void);
/* Make GPU `id` current for this host thread (cudaSetDevice). */
void ms_cuda_set_device(int id);
/* Wait until every queued kernel on the current GPU has finished. */
void ms_cuda_synchronize(void);
/* 1: synchronize after every launch, so an error is reported by the kernel
 * that caused it (slow; for debugging, like CUDA_LAUNCH_BLOCKING=1). */
void ms_cuda_set_blocking(int on);
/* The most dimensions strided_copy accepts (shape and strides travel to the
 * kernel by value, in a struct of this many entries). */
int ms_cuda_max_ndim(void);
/* The CUDA runtime version this module was built with (e.g. 13000). */
int ms_cuda_runtime_version(void);

/* ----------------------------------------------------------------- memory */
/* nbytes of device memory on the current GPU (cudaMalloc; never managed
 * memory); NULL on failure, with the error kept. */
void *ms_cuda_malloc(int64_t nbytes);
/* cudaFree on GPU `device`.  Returns the CUDA status and keeps no error:
 * it runs from a garbage-collection callback, where raising is impossible. */
int ms_cuda_free(void *p, int device);
/* cudaMemcpy: host -> device, device -> host, device -> device (also across
 * GPUs: the addresses are unified). */
void ms_cuda_memcpy_h2d(void *dst, const void *src, int64_t nbytes);
void ms_cuda_memcpy_d2h(void *dst, const void *src, int64_t nbytes);
void ms_cuda_memcpy_d2d(void *dst, const void *src, int64_t nbytes);

/* ----------------------------------------------------------------- errors */
/* 1 when an error is waiting to be taken. */
int ms_cuda_error_pending(void);
/* Copy "<call> failed: <CUDA's message>" into msg (size bytes, always
 * terminated), clear it, and return its cudaError_t code (0: none). */
int ms_cuda_take_error(char *msg, int size);

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------ the kernels */
/* Read the typed declarations of minisinga.h once per element type, exactly
 * as minisinga.h does for the CPU (its MS_TYPED_PASS branch). */
#ifdef __cplusplus
extern "C" {
#endif
#define MS_TYPED_PASS

#define T float
#define FN(name) name##_f32
#define MS_IS_FLOAT 1
#include "minisinga.h"
#undef T
#undef FN
#undef MS_IS_FLOAT

#define T double
#define FN(name) name##_f64
#define MS_IS_FLOAT 1
#include "minisinga.h"
#undef T
#undef FN
#undef MS_IS_FLOAT

#define T int32_t
#define FN(name) name##_i32
#define MS_IS_FLOAT 0
#include "minisinga.h"
#undef T
#undef FN
#undef MS_IS_FLOAT

#undef MS_TYPED_PASS
#ifdef __cplusplus
}
#endif

/* ======================================================================
 * Device-side helpers, for the .cu files only (not part of the C contract:
 * neither cffi nor the C compiler ever sees this part).
 * ====================================================================== */
#if defined(__CUDACC__) || defined(MS_CUDA_EMULATE)
#ifndef MS_CUDA_DEVICE_HELPERS
#define MS_CUDA_DEVICE_HELPERS

#ifndef MS_CUDA_EMULATE
#include <cuda_runtime.h>
#endif

/* Threads per block of the one-thread-per-element kernels. */
#define MS_THREADS 256
/* Cap on blocks of a grid-stride kernel: enough to fill any current GPU
 * several times over; a larger n makes each thread loop more. */
#define MS_MAX_BLOCKS 8192
/* Blocks of partial sums a whole-tensor reduction (the losses) uses. */
#define MS_PARTIALS 1024
/* strided_copy's shape and strides travel by value, up to this many dims. */
#define MS_MAX_NDIM 8

/* Every thread visits i = its global index, then steps by the whole grid,
 * so any n works with a capped grid. */
#define MS_FOR_EACH(i, n)                                                    \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (int64_t)blockDim.x * gridDim.x)

/* Blocks for a grid-stride loop over n elements (n > 0). */
static inline unsigned int ms_blocks(int64_t n)
{
    int64_t b = (n + MS_THREADS - 1) / MS_THREADS;
    return (unsigned int)(b < MS_MAX_BLOCKS ? b : MS_MAX_BLOCKS);
}

/* Kept by core.cu: check a status / the launch just made, and keep the
 * first failure as "<what> failed: <message>". */
void ms_cuda_check(int status, const char *what);
void ms_cuda_after_launch(const char *kernel);

/* Scratch memory a launcher needs between its kernels (conv2d's columns and weight partials, the
 * partial products of a split GEMM): at least nbytes on the current GPU, one
 * buffer per slot and GPU, kept and reused by later calls, grown when too
 * small.  cudaMalloc and cudaFree (which waits for the whole GPU) then run
 * only when a buffer grows, not on every call.  Reuse is safe because every
 * kernel runs on the one default stream, in order, and minisinga launches
 * from one host thread at a time.  NULL (no error kept) when the memory
 * cannot be had: the caller falls back or reports. */
enum { MS_SCRATCH_GEMM = 0, MS_SCRATCH_COL = 1, MS_SCRATCH_PART = 2, MS_SCRATCH_SLOTS = 3 };
void *ms_cuda_scratch(int slot, int64_t nbytes);

/* Launch `kernel` on grid x block and check the launch.  The two levels make
 * FN(relu_forward_kernel) expand before it is turned into the name that an
 * error message shows ("relu_forward_kernel_f32 launch failed: ..."). */
#ifndef MS_CUDA_EMULATE
#define MS_LAUNCH(kernel, grid, block, ...) MS_LAUNCH_(kernel, grid, block, __VA_ARGS__)
#define MS_LAUNCH_(kernel, grid, block, ...)                                 \
    do {                                                                     \
        kernel<<<(grid), (block)>>>(__VA_ARGS__);                            \
        ms_cuda_after_launch(#kernel);                                       \
    } while (0)
#endif

/* The launch of every one-thread-per-element kernel: enough blocks of
 * MS_THREADS threads for n elements (nothing to launch when n == 0). */
#define MS_EW_LAUNCH(kernel, n, ...)                                   \
    do {                                                               \
        if ((n) > 0)                                                   \
            MS_LAUNCH(kernel, ms_blocks(n), MS_THREADS, __VA_ARGS__);  \
    } while (0)

/* ---- reductions: a warp by shuffles, a block by warps through shared memory */
template <typename V> struct MsSum {
    __device__ static V apply(V a, V b) { return a + b; }
};
template <typename V> struct MsMax {
    __device__ static V apply(V a, V b) { return b > a ? b : a; }
};
template <typename V> struct MsMin {
    __device__ static V apply(V a, V b) { return b < a ? b : a; }
};

/* Every lane of the warp gets op over the 32 lanes' v (butterfly). */
template <typename Op, typename V> __device__ V ms_warp_reduce(V v)
{
    for (int offset = 16; offset > 0; offset >>= 1)
        v = Op::apply(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

/* Every thread of the block gets op over the block's v.  Call it from all
 * threads; blockDim.x must be a multiple of 32 (at most 1024).  The order of
 * the operations is fixed, so the result is the same on every run. */
template <typename Op, typename V> __device__ V ms_block_reduce(V v)
{
    __shared__ V warp_vals[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int nwarps = blockDim.x >> 5;
    v = ms_warp_reduce<Op>(v);
    __syncthreads(); /* warp_vals may still be read by a previous call */
    if (lane == 0)
        warp_vals[warp] = v;
    __syncthreads();
    v = warp_vals[0];
    for (int w = 1; w < nwarps; w++)
        v = Op::apply(v, warp_vals[w]);
    return v;
}

/* Threads per block for a kernel that reduces rows of `len` elements with
 * one block per row: a power of two in [32, 256], no larger than needed. */
static inline int ms_row_threads(int64_t len)
{
    int t = 32;
    while (t < 256 && t < len)
        t *= 2;
    return t;
}

/* ---- exact IEEE arithmetic, no fused multiply-add: the random kernels must
 * round exactly as the CPU does (nvcc would otherwise fuse a*b+c). */
#ifndef MS_CUDA_EMULATE
__device__ inline float ms_add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float ms_sub(float a, float b) { return __fsub_rn(a, b); }
__device__ inline float ms_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double ms_add(double a, double b) { return __dadd_rn(a, b); }
__device__ inline double ms_sub(double a, double b) { return __dsub_rn(a, b); }
__device__ inline double ms_mul(double a, double b) { return __dmul_rn(a, b); }
#endif

/* ---- Philox4x32-10, the same as ms_philox4x32 in minisinga/c/core.c */
__device__ inline void ms_philox4x32_device(uint32_t out[4], uint64_t counter, uint64_t seed)
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

#endif /* MS_CUDA_DEVICE_HELPERS */
#endif /* __CUDACC__ || MS_CUDA_EMULATE */

#endif /* MS_CUDA_H */
