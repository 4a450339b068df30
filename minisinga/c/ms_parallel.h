/* ms_parallel.h -- when a C kernel's loop runs on several threads: the one
 * threshold and the one idiom every kernel loop uses, and how the library stops
 * waiting for threads that a busy machine does not run.  Not part of the Python
 * interface (that is minisinga.h alone).  (The GEMM and the whole-convolution
 * kernels share work between threads differently, in `omp parallel` regions
 * with dynamic scheduling, and are explained where they are written.) */
#ifndef MS_PARALLEL_H
#define MS_PARALLEL_H

#ifdef _OPENMP
#include <omp.h>
#endif

/* Threads on a busy machine (core.c has the rule and why).  A parallel loop asks
 * ms_par_threads() how many threads to use: the number set by
 * device.set_num_threads (OpenMP's default: one per CPU), or 1 for a while after
 * a region in which a thread spent over a quarter of the time waiting for the
 * others -- the sign that another program holds their cores.  Each parallel
 * region tells ms_par_note how long it took and the longest any of its threads
 * waited. */
int ms_par_threads(void);
void ms_par_note(double seconds, double waited);

static inline double ms_clock(void)
{
#ifdef _OPENMP
    return omp_get_wtime();
#else
    return 0.0;
#endif
}

/* `#pragma omp barrier`, adding to *waited how long this thread waited there
 * (called inside a parallel region by every thread of the team). */
static inline void ms_barrier_timed(double *waited)
{
#ifdef _OPENMP
    double t = omp_get_wtime();
#pragma omp barrier
    *waited += omp_get_wtime() - t;
#else
    (void)waited;
#endif
}

/* A thread has done its share of a region, after waiting `waited` seconds at
 * its barriers.  It will wait again at the region's closing barrier, until the
 * region ends at `end`: waited + (end - now) in all.  *latest keeps the largest
 * waited - now of the team, so that the longest wait is end + *latest. */
static inline void ms_team_done(double *latest, double waited)
{
    double mine = waited - ms_clock();
#pragma omp critical(ms_team_done)
    if (mine > *latest)
        *latest = mine;
}

/* A region that shares out its own loop -- `omp for schedule(dynamic, 1) nowait`
 * inside `omp parallel`, as the convolution and pooling do, to give each thread
 * buffers of its own -- reports its waits to ms_par_note the same way:
 *
 *     ms_team team = ms_team_start();
 *     #pragma omp parallel if (...)
 *     {
 *         T *buf = malloc(...);
 *         #pragma omp for schedule(dynamic, 1) nowait
 *         for (int64_t n = 0; n < N; n++) ...
 *         ms_team_member_done(&team);
 *         free(buf);
 *     }
 *     ms_team_note(&team, N);   (N: the pieces the loop was cut into) */
typedef struct {
    double start;  /* when the region began */
    double latest; /* the team's largest waited - now, see ms_team_done */
    int threads;   /* the team's size */
} ms_team;

static inline ms_team ms_team_start(void)
{
    /* The region's `omp parallel` takes OpenMP's thread count, which a back-off set
     * to 1; asking ms_par_threads() first sets it back when the back-off is over
     * (without it a program of convolutions alone stayed on one thread). */
    (void)ms_par_threads();
    ms_team team = {ms_clock(), -1e300, 1};
    return team;
}

static inline void ms_team_member_done(ms_team *team)
{
#ifdef _OPENMP
    if (omp_get_thread_num() == 0)
        team->threads = omp_get_num_threads();
#endif
    ms_team_done(&team->latest, 0);
}

/* After the region: how long its threads waited for each other, when the loop
 * had at least four pieces a thread (with fewer, they wait by construction).
 * Even with all threads running, one may wait for the last piece another took:
 * up to one piece, seconds * threads / pieces (a quarter of the region with
 * eight pieces on two threads, as the convolution's dw has).  That much of the
 * wait is not counted: it sent LeNet's training step to one thread now and then
 * on a quiet machine. */
static inline void ms_team_note(const ms_team *team, int64_t pieces)
{
    if (team->threads > 1 && pieces >= 4 * (int64_t)team->threads) {
        const double end = ms_clock(), seconds = end - team->start;
        ms_par_note(seconds, end + team->latest - seconds * team->threads / (double)pieces);
    }
}

/* Below MS_PAR_MIN elements (or multiply-adds) a loop runs on one thread:
 * waking the threads costs more than such a loop itself. */
#define MS_PAR_MIN 32768

/* for (i = 0; i < n; i++) body, on every thread when n > MS_PAR_MIN.
 * Below the threshold it is a plain loop, not `#pragma omp parallel for if (...)`:
 * with its condition false OpenMP still sets up a one-thread team, about 0.4 us a
 * call, which is more than a small loop itself (a tiny MLP's training step makes
 * 20 kernel calls).  Used as  MS_PARALLEL_FOR(i, n, y[i] = relu_forward_one(x[i]));
 * The loop is cut into 16 chunks that the threads take one at a time
 * (schedule(dynamic)), not into one fixed share per thread: a thread whose core
 * another program holds then does fewer chunks instead of making the others wait
 * for its share.  These loops follow the busy-machine rule (ms_par_threads) but do
 * not report their waits to it: since round 6 only the GEMM and the regions of
 * ms_team (convolution, pooling) do, and the busy-machine benchmarks of rounds 6
 * and 7 were measured that way. */
#define MS_PARALLEL_FOR(i, n, ...) MS_PARALLEL_FOR_WORK(i, n, n, __VA_ARGS__)

/* The same when the loop's work is not n: a loop over M rows of N elements
 * is threaded when work = M * N > MS_PAR_MIN.  The body may be a { block }. */
#define MS_PARALLEL_FOR_WORK(i, n, work, ...)                                  \
    do {                                                                       \
        if ((work) <= MS_PAR_MIN || ms_par_threads() == 1) {                   \
            for (int64_t i = 0; i < (n); i++)                                  \
                __VA_ARGS__;                                                   \
        } else {                                                               \
            const int64_t ms_chunk_ = (n) / 16 + 1;                            \
            _Pragma("omp parallel")                                            \
            {                                                                  \
                _Pragma("omp for schedule(dynamic, ms_chunk_) nowait")         \
                for (int64_t i = 0; i < (n); i++)                              \
                    __VA_ARGS__;                                               \
            }                                                                  \
        }                                                                      \
    } while (0)

#endif /* MS_PARALLEL_H */
