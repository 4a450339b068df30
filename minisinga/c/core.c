/* core.c -- memory, threads and the Philox generator (untyped; compiled once). */
#include <stdatomic.h>
#include <stdlib.h>
#include "minisinga.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------- memory
 *
 * Every block has a 64-byte header in front of it holding its size, so that
 * ms_free knows how big the block is:
 *
 *     base                       base + 64 = the pointer handed out
 *     | size_t size | (padding)  | size bytes, 64-byte aligned ...
 *
 * The block cache.  A training step allocates and frees the same big buffers
 * on every step: activations, their gradients, the outputs of the optimizer.
 * A big block that malloc gets fresh from the system (mmap) is mapped one
 * 4 KiB page at a time as it is first touched, and each page fault costs
 * about a microsecond: for the 3 MiB output of a conv layer that is 800
 * faults, which took a fifth of the layer's time.  glibc does keep freed
 * memory for reuse, but returns it to the system as soon as enough of it
 * collects at the top of the heap -- which is what a step that frees its
 * buffers does.  So freed blocks of MS_CACHE_MIN bytes or more are kept here
 * (at most MS_CACHE_SLOTS blocks and MS_CACHE_MAX bytes in all, and none
 * bigger than MS_CACHE_BLOCK_MAX), and handed out again for a request of the
 * same size.  A block that does not fit goes back to the system at once.
 * (PyTorch's caching allocator is the same idea, with size classes and
 * block splitting.)  ms_empty_cache() gives everything back.
 *
 * Sizes of cached blocks are rounded up to 4 KiB, so requests that differ by
 * a little share blocks.  Built with AddressSanitizer there is no cache: a
 * use after free must reach ASan's poisoned memory, not a cached block.
 *
 * Python calls these with the GIL released, possibly from several threads,
 * so the cache is guarded by a spin lock (held for a few loads and stores). */
#define MS_HEADER 64
#define MS_CACHE_MIN ((size_t)64 << 10)        /* 64 KiB */
#define MS_CACHE_BLOCK_MAX ((size_t)64 << 20)  /* 64 MiB */
#define MS_CACHE_MAX ((size_t)256 << 20)       /* 256 MiB */
#define MS_CACHE_SLOTS 64

#if defined(__SANITIZE_ADDRESS__)
#define MS_CACHE_ON 0
#else
#define MS_CACHE_ON 1
#endif

static struct {
    void *base[MS_CACHE_SLOTS]; /* NULL: an empty slot */
    size_t size[MS_CACHE_SLOTS];
    size_t bytes; /* sum of the sizes held */
} cache;
static atomic_flag cache_lock = ATOMIC_FLAG_INIT;

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&cache_lock, memory_order_acquire))
        ;
}
static void unlock(void) { atomic_flag_clear_explicit(&cache_lock, memory_order_release); }

/* A cached block of exactly `size` bytes, taken out of the cache, or NULL. */
static void *cache_take(size_t size)
{
    void *base = NULL;
    lock();
    for (int s = 0; s < MS_CACHE_SLOTS; s++)
        if (cache.base[s] != NULL && cache.size[s] == size) {
            base = cache.base[s];
            cache.base[s] = NULL;
            cache.bytes -= size;
            break;
        }
    unlock();
    return base;
}

/* Keep the block if there is room; 1 if it was kept. */
static int cache_put(void *base, size_t size)
{
    int kept = 0;
    lock();
    if (cache.bytes + size <= MS_CACHE_MAX)
        for (int s = 0; s < MS_CACHE_SLOTS; s++)
            if (cache.base[s] == NULL) {
                cache.base[s] = base;
                cache.size[s] = size;
                cache.bytes += size;
                kept = 1;
                break;
            }
    unlock();
    return kept;
}

static int cacheable(size_t size)
{
    return MS_CACHE_ON && size >= MS_CACHE_MIN && size <= MS_CACHE_BLOCK_MAX;
}

void *ms_alloc(int64_t nbytes)
{
    /* aligned_alloc wants a size that is a multiple of the alignment; a
     * zero-size tensor still gets a real (unused) 64-byte block. */
    if (nbytes < 0 || nbytes > INT64_MAX - 2 * 4096) /* rounding up must not overflow */
        return NULL;
    size_t size = (size_t)((nbytes + 63) / 64) * 64;
    if (size == 0)
        size = 64;
    if (cacheable(size))
        size = (size + 4095) / 4096 * 4096;
    void *base = cacheable(size) ? cache_take(size) : NULL;
    if (base == NULL) {
        base = aligned_alloc(64, MS_HEADER + size);
        if (base == NULL)
            return NULL;
        *(size_t *)base = size;
    }
    return (char *)base + MS_HEADER;
}

void ms_free(void *p)
{
    if (p == NULL)
        return;
    void *base = (char *)p - MS_HEADER;
    size_t size = *(size_t *)base;
    if (!cacheable(size) || !cache_put(base, size))
        free(base);
}

void ms_empty_cache(void)
{
    lock();
    for (int s = 0; s < MS_CACHE_SLOTS; s++)
        if (cache.base[s] != NULL) {
            free(cache.base[s]);
            cache.base[s] = NULL;
        }
    cache.bytes = 0;
    unlock();
}

int64_t ms_cache_bytes(void)
{
    lock();
    size_t bytes = cache.bytes;
    unlock();
    return (int64_t)bytes;
}

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

/* ------------------------------------------------------------ convolution */
/* conv.c's choice between its reference code and conv_fast.c (minisinga.h) */
int ms_conv_fast_paths = 1;

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
