/* core.c -- memory, threads and the Philox generator (untyped; compiled once). */
#include <stdatomic.h>
#include <stdlib.h>
#include "minisinga.h"
#include "ms_parallel.h"
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

/* Threads on a busy machine.
 *
 * A parallel region ends at a barrier: the calling thread cannot go on before
 * every thread of the team has done its share.  When another program holds a
 * core, the thread that the operating system put there runs only now and then
 * -- it may not even have started when the others are done -- and every region
 * waits for it: with one of two cores busy, a training step on 2 threads took
 * 3 to 7 times as long as on 1 thread.  Spin-waiting makes it worse: between
 * regions OpenMP's idle threads spin (by default for a few milliseconds), so
 * they take CPU time from the calling thread's own work too.
 *
 * The rule: each region that reports (the GEMM, the convolution's and pooling's
 * loops over images and planes; MS_PARALLEL_FOR's elementwise loops only follow)
 * measures how long each of its threads waited at its barriers.  When the
 * longest wait is over a quarter of the region and over MS_WAIT_MIN, the threads
 * are not keeping up with each other, and the kernels run on one thread for a
 * while: MS_SOLO_FIRST seconds, doubling up to MS_SOLO_MAX each time the next try
 * waits again (and halving back once all threads have kept up for as long as the
 * last time on one thread), and at least ten times as long as the loop that
 * waited.  MS_WAIT_MIN is 0.2 ms: waking a sleeping thread or a loop's own uneven
 * pieces cost tens of microseconds, while a core that another program holds keeps
 * a thread waiting for a time slice of the scheduler.  (With 1 ms, the first
 * version, the CNN step beside one busy process was 1.4 to 1.65 times slower on 2
 * threads than on 1: Linux gave the waiting thread its core back within 0.2 to 1
 * ms, so loop after loop waited just under the threshold; with 0.2 ms, 0.94 to
 * 0.99 times.  And halving back after every loop that kept up, as the first
 * version did, sent the step back to 2 threads after a few milliseconds each
 * time: 1.1 to 1.2 times.)  After that a region tries all threads again, so a machine
 * that has become quiet gets them back.  omp_set_num_threads(1) makes OpenMP's own regions (the convolution's,
 * pooling's) follow too, and no region wakes the idle threads, which then stop
 * spinning and sleep.  The state is per calling thread, as OpenMP's thread
 * count is.  Only loops cut into at least four pieces per thread report: with
 * fewer, a thread waits for the others by construction (three GEMM panels on
 * two threads). */
#define MS_WAIT_MIN 0.2e-3
#define MS_SOLO_FIRST 0.01
#define MS_SOLO_MAX 1.0

static _Thread_local int threads_wanted;  /* set_num_threads's n; 0: not asked yet */
static _Thread_local double solo_until;   /* on one thread until then (0: not solo) */
static _Thread_local double solo_for = MS_SOLO_FIRST;
static _Thread_local int64_t backoffs;    /* times gone to one thread */
static _Thread_local double good_since;   /* all threads kept up since then */

int ms_get_max_threads(void)
{
#ifdef _OPENMP
    if (threads_wanted == 0)
        threads_wanted = omp_get_max_threads();
    return threads_wanted;
#else
    return 1;
#endif
}

void ms_set_num_threads(int n)
{
#ifdef _OPENMP
    if (n > 0) {
        threads_wanted = n;
        solo_until = 0;
        solo_for = MS_SOLO_FIRST;
        omp_set_num_threads(n);
    }
#else
    (void)n;
#endif
}

int ms_par_threads(void)
{
#ifdef _OPENMP
    if (omp_in_parallel()) /* called inside a region (the convolution's): no team in a team */
        return 1;
#endif
    int n = ms_get_max_threads();
#ifdef _OPENMP
    if (n > 1 && solo_until > 0) {
        if (omp_get_wtime() < solo_until)
            return 1;
        solo_until = 0; /* time to try all threads again */
        good_since = omp_get_wtime();
        omp_set_num_threads(n);
    }
#endif
    return n;
}

void ms_par_note(double seconds, double waited)
{
#ifdef _OPENMP
    const double now = omp_get_wtime();
    if (waited > MS_WAIT_MIN && 4 * waited > seconds) {
        /* at least 10 times this loop, so that tries cost under a tenth */
        solo_until = now + (solo_for > 10 * seconds ? solo_for : 10 * seconds);
        solo_for = solo_for * 2 < MS_SOLO_MAX ? solo_for * 2 : MS_SOLO_MAX;
        backoffs++;
        omp_set_num_threads(1);
    } else if (solo_for > MS_SOLO_FIRST && now - good_since > solo_for) {
        /* all threads have kept up for as long as the last time on one thread:
         * back towards the first wait */
        solo_for /= 2;
        good_since = now;
    }
#else
    (void)seconds;
    (void)waited;
#endif
}

int64_t ms_par_backoffs(void) { return backoffs; }

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
