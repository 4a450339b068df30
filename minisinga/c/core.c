/* core.c -- memory, threads and the Philox generator (untyped; compiled once). */
#include <stdlib.h>
#include "minisinga.h"
#ifdef _OPENMP
#include <omp.h>
#endif

void *ms_alloc(int64_t nbytes)
{
    /* aligned_alloc wants a size that is a multiple of the alignment; a
     * zero-size tensor still gets a real (unused) 64-byte block. */
    if (nbytes < 0)
        return NULL;
    size_t size = (size_t)((nbytes + 63) / 64) * 64;
    if (size == 0)
        size = 64;
    return aligned_alloc(64, size);
}

void ms_free(void *p) { free(p); }

int ms_get_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void ms_set_num_threads(int n)
{
#ifdef _OPENMP
    if (n > 0)
        omp_set_num_threads(n);
#else
    (void)n;
#endif
}

int ms_has_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int ms_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}

/* --8<-- [start:ms_philox4x32] */
/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11).  Ten rounds of: two 32x32->64 multiplies, xor with the key, swap;
 * the key is bumped by the Weyl constants between rounds. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void ms_philox4x32(uint32_t out[4], uint64_t counter, uint64_t seed)
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}
/* --8<-- [end:ms_philox4x32] */
