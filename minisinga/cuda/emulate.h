/*
 * emulate.h -- run the CUDA kernels of minisinga/cuda on the CPU, for testing
 * them on a machine without a GPU (tests/test_cuda.py builds them this way
 * with g++, no nvcc needed).  Not part of the real build.
 *
 * Each .cu file is compiled as C++ with this header forced in first
 * (g++ -x c++ -include emulate.h -DMS_CUDA_EMULATE).  A launch runs the grid's
 * blocks one after another; the threads of a block are cooperative fibers
 * (ucontext) that switch only at __syncthreads, so a block behaves as on a
 * GPU where it matters here:
 *   - __shared__ variables are shared by the block's threads (they are static,
 *     and blocks never overlap);
 *   - __syncthreads is a real barrier: every thread runs up to it before any
 *     goes past; a block whose threads do not all reach the same barrier is
 *     reported (on a GPU that is undefined behaviour);
 *   - __shfl_xor_sync exchanges values through a block-wide table between two
 *     barriers, which is right when every thread of the block calls it
 *     together (as ms_block_reduce does).
 * Device memory is host memory, and the arithmetic is the host's (no fused
 * multiply-add: build with -ffp-contract=off), so results can be compared
 * with the C kernels.  Races between blocks and timing are NOT emulated.
 *
 * One translation unit defines MS_EMU_IMPLEMENTATION to hold the scheduler
 * and the error slot.
 */
#ifndef MS_CUDA_EMULATE_H
#define MS_CUDA_EMULATE_H
#ifdef __cplusplus

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <functional>

/* ------------------------------------------------------------ CUDA's words */
#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __launch_bounds__(...)

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
    dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};
enum { cudaSuccess = 0, cudaErrorInvalidValue = 1 };

/* the running thread's coordinates, set by the scheduler */
extern uint3 ms_emu_thread_idx, ms_emu_block_idx;
extern dim3 ms_emu_block_dim, ms_emu_grid_dim;
#define threadIdx ms_emu_thread_idx
#define blockIdx ms_emu_block_idx
#define blockDim ms_emu_block_dim
#define gridDim ms_emu_grid_dim

void __syncthreads(void);
double ms_emu_exchange(double v, int lane_mask);

template <typename V> V __shfl_xor_sync(unsigned int mask, V v, int lane_mask)
{
    (void)mask;
    return (V)ms_emu_exchange((double)v, lane_mask);
}

/* exact arithmetic: the host's, with contraction off */
template <typename V> inline V ms_add(V a, V b) { return a + b; }
template <typename V> inline V ms_sub(V a, V b) { return a - b; }
template <typename V> inline V ms_mul(V a, V b) { return a * b; }

/* Device memory is host memory: a copy from a __device__ variable is memcpy
 * (the launches before it have all run: they are synchronous here). */
enum cudaMemcpyKind { cudaMemcpyDeviceToHost = 2 };
template <typename S>
int cudaMemcpyFromSymbol(void *dst, const S &symbol, size_t count, size_t offset = 0,
                         cudaMemcpyKind kind = cudaMemcpyDeviceToHost)
{
    (void)kind;
    memcpy(dst, (const char *)&symbol + offset, count);
    return cudaSuccess;
}

/* Device memory a launcher allocates for itself is host memory here (the
 * launchers now take theirs from ms_cuda_scratch, emulated further down). */
typedef int cudaError_t;
enum { cudaErrorMemoryAllocation = 2 };
inline cudaError_t cudaMalloc(void **p, size_t nbytes)
{
    *p = malloc(nbytes);
    return *p != NULL ? (cudaError_t)cudaSuccess : (cudaError_t)cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void *p)
{
    free(p);
    return cudaSuccess;
}

void ms_emu_launch(dim3 grid, dim3 block, const std::function<void()> &body);
#define MS_LAUNCH(kernel, grid, block, ...)                                 \
    do {                                                                    \
        ms_emu_launch(dim3(grid), dim3(block), [&]() { kernel(__VA_ARGS__); }); \
    } while (0)

#endif /* __cplusplus */
#endif /* MS_CUDA_EMULATE_H */

/* ----------------------------------------------------------- the scheduler */
/* Outside the include guard: the forced include (-include emulate.h) comes
 * first, and the implementation unit includes the header again after
 * defining MS_EMU_IMPLEMENTATION. */
#if defined(__cplusplus) && defined(MS_EMU_IMPLEMENTATION) && !defined(MS_EMU_IMPLEMENTED)
#define MS_EMU_IMPLEMENTED
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>
#include <vector>

uint3 ms_emu_thread_idx, ms_emu_block_idx;
dim3 ms_emu_block_dim, ms_emu_grid_dim;

namespace {
struct Fiber {
    ucontext_t ctx;
    uint3 idx;
    bool done;
    std::vector<char> stack;
};
ucontext_t scheduler;
std::vector<Fiber> fibers(1024);
Fiber *current = nullptr;
const std::function<void()> *running_body = nullptr;
double exchange_table[1024];
int err_code = 0;
char err_msg[256];

void fiber_main()
{
    (*running_body)();
    current->done = true;
    swapcontext(&current->ctx, &scheduler);
}

unsigned linear_tid()
{
    return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}
} // namespace

void __syncthreads(void)
{
    swapcontext(&current->ctx, &scheduler); /* the scheduler resumes us at the barrier's end */
}

double ms_emu_exchange(double v, int lane_mask)
{
    unsigned tid = linear_tid();
    exchange_table[tid] = v;
    __syncthreads();
    double other = exchange_table[tid ^ (unsigned)lane_mask];
    __syncthreads();
    return other;
}

void ms_cuda_check(int status, const char *what)
{
    if (status != 0 && err_code == 0) {
        err_code = status;
        snprintf(err_msg, sizeof err_msg, "%s failed (emulated)", what);
    }
}

void ms_cuda_after_launch(const char *kernel) { (void)kernel; }

static void emu_fail(const char *what)
{
    ms_cuda_check(cudaErrorInvalidValue, what);
}

void ms_emu_launch(dim3 grid, dim3 block, const std::function<void()> &body)
{
    unsigned n = block.x * block.y * block.z;
    /* a GPU's limits: 1024 threads a block (z at most 64), grid y and z at
     * most 65535, x at most 2^31 - 1; a launch past them fails there */
    if (n == 0 || n > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
        grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        emu_fail("launch (bad grid or block size)");
        return;
    }
    ms_emu_grid_dim = grid;
    ms_emu_block_dim = block;
    running_body = &body;
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                ms_emu_block_idx = uint3{bx, by, bz};
                for (unsigned t = 0; t < n; t++) {
                    Fiber &f = fibers[t];
                    if (f.stack.empty())
                        f.stack.resize(256 * 1024);
                    f.idx = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                    f.done = false;
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = f.stack.data();
                    f.ctx.uc_stack.ss_size = f.stack.size();
                    f.ctx.uc_link = nullptr;
                    makecontext(&f.ctx, fiber_main, 0);
                }
                /* rounds: run every thread to its next barrier (or its end) */
                for (;;) {
                    unsigned finished = 0;
                    for (unsigned t = 0; t < n; t++) {
                        Fiber &f = fibers[t];
                        if (f.done) {
                            finished++;
                            continue;
                        }
                        current = &f;
                        ms_emu_thread_idx = f.idx;
                        swapcontext(&scheduler, &f.ctx);
                        if (f.done)
                            finished++;
                    }
                    if (finished == n)
                        break;
                    if (finished != 0) {
                        /* some threads ended while others wait at a barrier */
                        fprintf(stderr, "emulate.h: __syncthreads not reached by every "
                                        "thread of a block\n");
                        abort();
                    }
                }
            }
}

extern "C" int ms_cuda_error_pending(void) { return err_code != 0; }

/* as core.cu's (the implementation unit includes ms_cuda.h first) */
extern "C" int ms_cuda_max_ndim(void) { return MS_MAX_NDIM; }

/* one emulated GPU: one buffer per slot, grown as in core.cu.  Under ASan
 * (tools/sanitize.sh) every call gets a fresh buffer of exactly the size
 * asked, so that an access past it is reported. */
void *ms_cuda_scratch(int slot, int64_t nbytes)
{
    static void *buf[MS_SCRATCH_SLOTS];
    static size_t cap[MS_SCRATCH_SLOTS];
    if (slot < 0 || slot >= MS_SCRATCH_SLOTS || nbytes < 0)
        return NULL;
    size_t need = nbytes > 0 ? (size_t)nbytes : 1;
#ifdef __SANITIZE_ADDRESS__
    free(buf[slot]);
    buf[slot] = malloc(need);
    cap[slot] = buf[slot] != NULL ? need : 0;
    return buf[slot];
#endif
    if (cap[slot] < need) {
        free(buf[slot]);
        cap[slot] = need + need / 2;
        buf[slot] = malloc(cap[slot]);
        if (buf[slot] == NULL)
            cap[slot] = 0;
    }
    return buf[slot];
}

extern "C" int ms_cuda_take_error(char *msg, int size)
{
    int code = err_code;
    if (msg && size > 0) {
        strncpy(msg, code ? err_msg : "", (size_t)size - 1);
        msg[size - 1] = '\0';
    }
    err_code = 0;
    return code;
}
#endif /* MS_EMU_IMPLEMENTATION */
