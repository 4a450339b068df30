/* ms_parallel.h -- when a C kernel's loop runs on several threads: the one
 * threshold and the one idiom every kernel loop uses.  Not part of the Python
 * interface (that is minisinga.h alone).  (The GEMM and the whole-convolution
 * kernels share work between threads differently, in `omp parallel` regions
 * with dynamic scheduling, and are explained where they are written.) */
#ifndef MS_PARALLEL_H
#define MS_PARALLEL_H

/* Below MS_PAR_MIN elements (or multiply-adds) a loop runs on one thread:
 * waking the threads costs more than such a loop itself. */
#define MS_PAR_MIN 32768

/* for (i = 0; i < n; i++) body, on every thread when n > MS_PAR_MIN.
 * Below the threshold it is a plain loop, not `#pragma omp parallel for if (...)`:
 * with its condition false OpenMP still sets up a one-thread team, about 0.4 us a
 * call, which is more than a small loop itself (a tiny MLP's training step makes
 * 20 kernel calls).  Used as  MS_PARALLEL_FOR(i, n, y[i] = relu_forward_one(x[i])); */
#define MS_PARALLEL_FOR(i, n, ...) MS_PARALLEL_FOR_WORK(i, n, n, __VA_ARGS__)

/* The same when the loop's work is not n: a loop over M rows of N elements
 * is threaded when work = M * N > MS_PAR_MIN.  The body may be a { block }. */
#define MS_PARALLEL_FOR_WORK(i, n, work, ...)            \
    do {                                                 \
        if ((work) <= MS_PAR_MIN) {                      \
            for (int64_t i = 0; i < (n); i++)            \
                __VA_ARGS__;                             \
        } else {                                         \
            _Pragma("omp parallel for")                  \
            for (int64_t i = 0; i < (n); i++)            \
                __VA_ARGS__;                             \
        }                                                \
    } while (0)

#endif /* MS_PARALLEL_H */
