/* core.cu -- devices, memory, copies and the error slot (untyped; compiled once).
 *
 * Every CUDA call is checked.  The first failure is kept (per host thread)
 * as "<call> failed: <CUDA's message>" until Python takes it with
 * ms_cuda_take_error and raises RuntimeError with that text. */
#include <stdio.h>
#include <string.h>
#include "ms_cuda.h"

/* ----------------------------------------------------------------- errors */
static thread_local int ms_err_code = 0;
static thread_local char ms_err_msg[256];
static int ms_blocking = 0;

void ms_cuda_check(int status, const char *what)
{
    if (status == cudaSuccess)
        return;
    /* The runtime also remembers a failure as its "last error"; reset it, or
     * the next launch's cudaGetLastError would report this failure again as
     * its own (a failed cudaMalloc is not sticky; a kernel fault is, and
     * stays whatever we do). */
    cudaGetLastError();
    if (ms_err_code != 0)
        return; /* keep the first failure: later ones are usually its echo */
    ms_err_code = status;
    snprintf(ms_err_msg, sizeof ms_err_msg, "%s failed: %s (%s)", what,
             cudaGetErrorString((cudaError_t)status),
             cudaGetErrorName((cudaError_t)status));
}

/* A launch reports a bad configuration at once (cudaGetLastError); a fault
 * inside the kernel surfaces at the next synchronizing call, unless blocking
 * mode synchronizes right here. */
void ms_cuda_after_launch(const char *kernel)
{
    char what[160];
    snprintf(what, sizeof what, "%s launch", kernel);
    ms_cuda_check(cudaGetLastError(), what);
    if (ms_blocking) {
        snprintf(what, sizeof what, "%s (synchronize after launch)", kernel);
        ms_cuda_check(cudaDeviceSynchronize(), what);
    }
}

extern "C" int ms_cuda_error_pending(void) { return ms_err_code != 0; }

extern "C" int ms_cuda_take_error(char *msg, int size)
{
    int code = ms_err_code;
    if (msg != NULL && size > 0) {
        strncpy(msg, code ? ms_err_msg : "", (size_t)size - 1);
        msg[size - 1] = '\0';
    }
    ms_err_code = 0;
    ms_err_msg[0] = '\0';
    return code;
}

/* ---------------------------------------------------------------- devices */
extern "C" int ms_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* "no driver" / "no device": the answer is 0 */
        return 0;
    }
    return n;
}

extern "C" void ms_cuda_set_device(int id) { ms_cuda_check(cudaSetDevice(id), "cudaSetDevice"); }

extern "C" void ms_cuda_synchronize(void)
{
    ms_cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

extern "C" void ms_cuda_set_blocking(int on) { ms_blocking = on != 0; }

extern "C" int ms_cuda_max_ndim(void) { return MS_MAX_NDIM; }

extern "C" int ms_cuda_runtime_version(void) { return CUDART_VERSION; }

/* ----------------------------------------------------------------- memory */
extern "C" void *ms_cuda_malloc(int64_t nbytes)
{
    void *p = NULL;
    if (nbytes < 0) {
        ms_cuda_check(cudaErrorInvalidValue, "cudaMalloc (negative size)");
        return NULL;
    }
    /* a zero-size tensor still gets a real (unused) block, as on the CPU */
    cudaError_t st = cudaMalloc(&p, nbytes > 0 ? (size_t)nbytes : 256);
    ms_cuda_check(st, "cudaMalloc");
    return st == cudaSuccess ? p : NULL;
}

extern "C" int ms_cuda_free(void *p, int device)
{
    int current = -1;
    cudaGetDevice(&current);
    if (current != device)
        cudaSetDevice(device);
    int st = cudaFree(p);
    if (current != device && current >= 0)
        cudaSetDevice(current);
    cudaGetLastError(); /* keep nothing: see ms_cuda.h */
    return st;
}

/* One scratch buffer per (GPU, slot); see ms_cuda.h.  Grown by half again
 * past the request, so a run of slowly growing requests reallocates rarely. */
#define MS_SCRATCH_GPUS 64
static void *scratch_buf[MS_SCRATCH_GPUS][MS_SCRATCH_SLOTS];
static size_t scratch_cap[MS_SCRATCH_GPUS][MS_SCRATCH_SLOTS];

void *ms_cuda_scratch(int slot, int64_t nbytes)
{
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= MS_SCRATCH_GPUS ||
        slot < 0 || slot >= MS_SCRATCH_SLOTS || nbytes < 0) {
        cudaGetLastError();
        return NULL;
    }
    size_t need = nbytes > 0 ? (size_t)nbytes : 1;
    if (scratch_cap[dev][slot] >= need)
        return scratch_buf[dev][slot];
    if (scratch_buf[dev][slot] != NULL)
        cudaFree(scratch_buf[dev][slot]); /* waits for the kernels still using it */
    scratch_buf[dev][slot] = NULL;
    scratch_cap[dev][slot] = 0;
    size_t cap = need + need / 2;
    if (cudaMalloc(&scratch_buf[dev][slot], cap) != cudaSuccess) {
        cudaGetLastError(); /* out of memory is an answer here, not an error */
        scratch_buf[dev][slot] = NULL;
        return NULL;
    }
    scratch_cap[dev][slot] = cap;
    return scratch_buf[dev][slot];
}

extern "C" void ms_cuda_memcpy_h2d(void *dst, const void *src, int64_t nbytes)
{
    if (nbytes > 0)
        ms_cuda_check(cudaMemcpy(dst, src, (size_t)nbytes, cudaMemcpyHostToDevice),
                      "cudaMemcpy (host to device)");
}

extern "C" void ms_cuda_memcpy_d2h(void *dst, const void *src, int64_t nbytes)
{
    if (nbytes > 0)
        ms_cuda_check(cudaMemcpy(dst, src, (size_t)nbytes, cudaMemcpyDeviceToHost),
                      "cudaMemcpy (device to host)");
}

/* cudaMemcpyDefault: the runtime finds each address's GPU (unified
 * addressing), so this also copies between two GPUs. */
extern "C" void ms_cuda_memcpy_d2d(void *dst, const void *src, int64_t nbytes)
{
    if (nbytes > 0)
        ms_cuda_check(cudaMemcpy(dst, src, (size_t)nbytes, cudaMemcpyDefault),
                      "cudaMemcpy (device to device)");
}
