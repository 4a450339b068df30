/*
 * minisinga.h -- the contract between Python and C.
 *
 * Every C function that Python may call is declared here, once.  The cffi
 * declarations are produced from this file by running the C preprocessor
 * over it (see minisinga/_build.py), so the header and the binding cannot
 * drift apart.
 *
 * Conventions (the same in every kernel):
 *   - Python owns shapes.  A kernel receives compact (C-contiguous) buffers and
 *     sizes that Python has already checked; C never guesses.
 *   - Argument order: outputs, saved values, inputs, sizes.
 *   - Sizes are int64_t.
 *   - A backward kernel WRITES its gradient (it never accumulates into it);
 *     accumulation of gradients is done by the autograd engine in Python.
 *
 * Element types.  Most kernels are written once in a "typed" source file that
 * uses the element type T and the name macro FN(name).  The build compiles
 * such a file once per element type, with T = float and FN(x) = x##_f32, with
 * T = double and FN(x) = x##_f64 (and, for storage kernels, T = int32_t and
 * FN(x) = x##_i32; int32.c is built for int32 only).  The typed declarations
 * at the end of this header are read once per element type in the same way:
 * this header includes itself.
 */
#if !defined(MS_TYPED_PASS)
#ifndef MINISINGA_H
#define MINISINGA_H

#ifndef MS_CDEF /* cffi's parser knows these types already */
#include <stddef.h>
#include <stdint.h>
#endif

/* ---------------------------------------------------------------- memory */
/* A 64-byte aligned buffer of at least nbytes bytes (NULL when out of
 * memory).  Python frees it with ms_free when the last reference goes.
 * Freed blocks of 64 KiB to 64 MiB are kept in a cache (256 MiB at most) and
 * reused for requests of the same size; ms_empty_cache returns them to the
 * system, ms_cache_bytes says how many bytes the cache holds. */
void *ms_alloc(int64_t nbytes);
void ms_free(void *p);
void ms_empty_cache(void);
int64_t ms_cache_bytes(void);

/* ----------------------------------------------------------- threading */
int ms_get_max_threads(void);
void ms_set_num_threads(int n);
/* The thread count for the next parallel loop: ms_get_max_threads(), or 1 for a
 * while after a loop in which a thread waited for the others over a quarter of
 * the loop's `seconds` (another program holds their cores; core.c says more).
 * Each parallel loop reports with ms_par_note how long it took and the longest
 * wait of any of its threads. */
int ms_par_threads(void);
void ms_par_note(double seconds, double waited);
/* How many times the calling thread's loops have gone to one thread so (its
 * back-offs, for the benchmarks). */
int64_t ms_par_backoffs(void);
/* The cores' peak rate, for the benchmarks (defined in matmul.c; declared here,
 * outside matmul.c's typed section, because it has no GPU twin): the
 * micro-kernel's multiply-adds on values already in registers, iters times over,
 * shared out between the threads; writes a sum of the results to *sink (so that
 * the loop is not optimised away) and returns the number of floating-point
 * operations done (2 * MR * NR * iters). */
int64_t gemm_peak_f32(float *sink, int64_t iters);
int64_t gemm_peak_f64(double *sink, int64_t iters);
/* 1 when compiled with OpenMP */
int ms_has_openmp(void);
/* 1 when compiled with AddressSanitizer (the build switch MINISINGA_SANITIZE) */
int ms_sanitized(void);

/* --------------------------------------------------------- convolution */
/* 1 (the default): conv2d_forward and conv2d_backward take the fast code of
 * conv_fast.c where it applies and is faster (conv.c's "which code runs");
 * 2: wherever it applies, also where the reference is faster; 0: always the
 * reference code of conv.c.  (0 and 2 are for the tests that check one against
 * the other.)  Defined in core.c. */
extern int ms_conv_fast_paths;

/* ------------------------------------------------------- random numbers */
/* Philox4x32-10, a counter-based generator: block number `counter` under
 * key `seed` gives four independent 32-bit words in out[0..3].  Every random
 * kernel draws element i from block (offset + i), so the numbers do not
 * depend on the number of threads (or on the device). */
void ms_philox4x32(uint32_t out[4], uint64_t counter, uint64_t seed);

/* ---------------------------------------------------------------- typed */
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
#endif /* MINISINGA_H */

#else /* MS_TYPED_PASS: the typed declarations, read once per element type */

/* ====================================================== storage (all types)
 * minisinga/c/storage.c */

/* y[i] = value */
void FN(fill)(T *y, T value, int64_t n);
/* y[i] = x[i] */
void FN(copy)(T *y, const T *x, int64_t n);
/* y[i] = (T) x[i], from each element type */
void FN(cast_from_f32)(T *y, const float *x, int64_t n);
void FN(cast_from_f64)(T *y, const double *x, int64_t n);
void FN(cast_from_i32)(T *y, const int32_t *x, int64_t n);
/* Strided gather: y (compact, shape `shape`, ndim dims) takes
 * y[i0,..,ik] = x[sum_j i_j * xstrides[j]] (strides in elements, may be 0).
 * Used for transpose (permuted strides) and broadcasting (zero strides). */
void FN(strided_copy)(T *y, const T *x, const int64_t *shape,
                      const int64_t *xstrides, int ndim);
/* Block copy for concatenation / split: y viewed as (outer, ny) and x as
 * (outer, nx); y[o, offset + j] = x[o, j] for j < nx. */
void FN(copy_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx,
                    int64_t offset);
/* The inverse: y[o, j] = x[o, offset + j] for j < ny, x being (outer, nx). */
void FN(take_block)(T *y, const T *x, int64_t outer, int64_t ny, int64_t nx,
                    int64_t offset);

#if MS_IS_FLOAT
/* ====================================================== random (floats)
 * minisinga/c/random.c ; element i uses Philox block offset + i. */

/* y[i] = low + (high - low) * u,  u ~ U[0, 1) */
void FN(random_uniform)(T *y, int64_t n, T low, T high, uint64_t seed,
                        uint64_t offset);
/* y[i] = mean + std * z,  z ~ N(0, 1) by Box-Muller */
void FN(random_gaussian)(T *y, int64_t n, T mean, T std, uint64_t seed,
                         uint64_t offset);
/* y[i] = 1 if u < p else 0,  u ~ U[0, 1) */
void FN(random_bernoulli)(T *y, int64_t n, T p, uint64_t seed,
                          uint64_t offset);

/* The operation kernels, one block per source file. */

/* ====================================================== matmul.c
 * Row-major GEMM: C = alpha * op(A) @ op(B) + beta * C, where op(A) is
 * (M, K) and op(B) is (K, N); A is stored (M, K), or (K, M) when transA;
 * B is stored (K, N), or (N, K) when transB.  When beta == 0, C is not read
 * (so it may hold garbage or NaN). */
void FN(gemm)(T *C, const T *A, const T *B, int64_t M, int64_t N, int64_t K,
              int transA, int transB, T alpha, T beta);
/* The same for `batch` independent products; the operands of product b start
 * at A + b*strideA, B + b*strideB, C + b*strideC (a stride of 0 broadcasts). */
void FN(gemm_batched)(T *C, const T *A, const T *B, int64_t batch, int64_t M,
                      int64_t N, int64_t K, int transA, int transB, T alpha,
                      T beta, int64_t strideA, int64_t strideB,
                      int64_t strideC);
/* end matmul.c */

/* ====================================================== elementwise.c
 * minisinga/c/elementwise.c */
/* compact buffers of n elements; broadcasting is done in Python */
void FN(add_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(div_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(div_backward)(T *da, T *db, const T *dy, const T *a, const T *b, int64_t n);
void FN(pow_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(pow_backward)(T *da, T *db, const T *dy, const T *a, const T *b,
                      const T *y, int64_t n);
void FN(affine_forward)(T *y, const T *x, T alpha, T beta, int64_t n);
void FN(axpy)(T *y, const T *x, T alpha, int64_t n);
void FN(reciprocal_forward)(T *y, const T *x, int64_t n);
void FN(reciprocal_backward)(T *dx, const T *dy, const T *y, int64_t n);
void FN(abs_forward)(T *y, const T *x, int64_t n);
void FN(abs_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(exp_forward)(T *y, const T *x, int64_t n);
void FN(log_forward)(T *y, const T *x, int64_t n);
void FN(sqrt_forward)(T *y, const T *x, int64_t n);
void FN(sqrt_backward)(T *dx, const T *dy, const T *y, int64_t n);
void FN(clip_forward)(T *y, const T *x, T lo, T hi, int64_t n);
void FN(clip_backward)(T *dx, const T *dy, const T *x, T lo, T hi, int64_t n);
void FN(dropout_forward)(T *y, const T *x, const T *mask, T scale, int64_t n);
void FN(add_bias_forward)(T *y, const T *x, const T *b, int64_t M, int64_t N, int axis);
/* end elementwise.c */

/* ====================================================== activation.c
 * minisinga/c/activation.c */
void FN(relu_forward)(T *y, const T *x, int64_t n);
void FN(relu_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(leakyrelu_forward)(T *y, const T *x, T a, int64_t n);
void FN(leakyrelu_backward)(T *dx, const T *dy, const T *x, T a, int64_t n);
void FN(elu_forward)(T *y, const T *x, T alpha, T gamma, int64_t n);
void FN(elu_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma, int64_t n);
void FN(sigmoid_forward)(T *y, const T *x, int64_t n);
void FN(sigmoid_backward)(T *dx, const T *dy, const T *y, int64_t n);
void FN(hardsigmoid_forward)(T *y, const T *x, T alpha, T gamma, int64_t n);
void FN(hardsigmoid_backward)(T *dx, const T *dy, const T *x, T alpha, T gamma,
                              int64_t n);
void FN(tanh_forward)(T *y, const T *x, int64_t n);
void FN(tanh_backward)(T *dx, const T *dy, const T *y, int64_t n);
void FN(softplus_forward)(T *y, const T *x, int64_t n);
void FN(softplus_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(softsign_forward)(T *y, const T *x, int64_t n);
void FN(softsign_backward)(T *dx, const T *dy, const T *x, int64_t n);
/* x, y: (outer, mid, inner), softmax over mid */
void FN(softmax_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner);
void FN(softmax_backward)(T *dx, const T *dy, const T *y, int64_t outer, int64_t mid,
                          int64_t inner);
/* end activation.c */

/* ====================================================== loss.c
 * minisinga/c/loss.c */
/* a loss is one element: the mean over the batch of N rows; dy: the one-element
 * upstream gradient, read on the device */
void FN(softmax_cross_entropy_index_forward)(T *loss, T *p, const T *x, const int32_t *t,
                                             int64_t N, int64_t C);
void FN(softmax_cross_entropy_index_backward)(T *dx, const T *dy, const T *p, const int32_t *t,
                                              int64_t N, int64_t C);
void FN(softmax_cross_entropy_dense_forward)(T *loss, T *p, T *q, const T *x, const T *t,
                                             int64_t N, int64_t C);
void FN(softmax_cross_entropy_dense_backward)(T *dx, const T *dy, const T *p, const T *q,
                                              int64_t N, int64_t C);
void FN(cross_entropy_forward)(T *loss, const T *x, const T *t, int64_t N, int64_t C);
void FN(cross_entropy_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t N, int64_t C);
void FN(binary_cross_entropy_forward)(T *loss, const T *x, const T *t, int64_t n, int64_t N);
void FN(binary_cross_entropy_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t n,
                                       int64_t N);
void FN(mse_loss_forward)(T *loss, const T *x, const T *t, int64_t n);
void FN(mse_loss_backward)(T *dx, const T *dy, const T *x, const T *t, int64_t n);
/* end loss.c */

/* ====================================================== reduce.c
 * minisinga/c/reduce.c */
/* x: (outer, mid, inner) -> y: (outer, inner), y = scale * sum over mid */
void FN(reduce_sum_forward)(T *y, const T *x, int64_t outer, int64_t mid, int64_t inner,
                            T scale);
/* end reduce.c */

/* ====================================================== conv.c
 * minisinga/c/conv.c: convolution lowered onto gemm by im2col and col2im (the
 * reference, which the CUDA twin runs too); minisinga/c/conv_fast.c: faster CPU
 * code for the common cases, chosen in conv.c.
 *
 * The geometry of one convolution, computed and checked in Python and passed
 * by value.  Python builds it with ops.conv.conv_geom: a dict of every field
 * by name, which cffi turns into the struct at the call.
 *   x (N, C, H, W); w (O, C/G, KH, KW); y (N, O, OH, OW);
 *   input row of kernel tap i at output row oh: ih = oh*SH - PT + i*DH,
 *   input col of kernel tap j at output col ow: iw = ow*SW - PL + j*DW;
 *   taps that fall into the padding read 0.  (The bottom and right padding
 *   only enter through OH and OW.)  im2col and col2im ignore O and G. */
#ifndef MS_CONV_GEOM_DECLARED /* read once per element type: declare it once */
#define MS_CONV_GEOM_DECLARED
typedef struct {
    int64_t N, C, H, W; /* input: images, channels, rows, columns */
    int64_t O, G;       /* output channels, groups */
    int64_t KH, KW;     /* kernel rows, columns */
    int64_t SH, SW;     /* stride */
    int64_t PT, PL;     /* padding at the top, at the left */
    int64_t DH, DW;     /* dilation */
    int64_t OH, OW;     /* output rows, columns */
} ms_conv_geom;
#endif
/* x (N, C, H, W) -> col (C*KH*KW, N*OH*OW) */
void FN(im2col)(T *col, const T *x, ms_conv_geom geom);
/* dx = the adjoint of im2col applied to dcol (dx is written, not accumulated) */
void FN(col2im)(T *dx, const T *dcol, ms_conv_geom geom);
/* The whole convolution: x (N, C, H, W), w (O, C/G, KH, KW), b (O,) or NULL,
 * y/dy (N, O, OH, OW).  backward writes those of dx, dw, db that are not NULL.
 * Return 0, or -1 when out of memory. */
int FN(conv2d_forward)(T *y, const T *x, const T *w, const T *b, ms_conv_geom geom);
int FN(conv2d_backward)(T *dx, T *dw, T *db, const T *dy, const T *x, const T *w,
                        ms_conv_geom geom);
/* end conv.c */

/* ====================================================== pooling.c
 * minisinga/c/pooling.c: x, dx: (NC, H, W); y, dy, argmax: (NC, OH, OW);
 * window (oh, ow) starts at row oh*SH - PT, column ow*SW - PL; padding cells
 * never win a max and are not counted in an average. */
/* argmax: h*W + w of the first maximum in row-major window order */
void FN(max_pool2d_forward)(T *y, int32_t *argmax, const T *x, int64_t NC, int64_t H,
                            int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                            int64_t SH, int64_t SW, int64_t PT, int64_t PL);
void FN(max_pool2d_backward)(T *dx, const T *dy, const int32_t *argmax, int64_t NC,
                             int64_t H, int64_t W, int64_t OH, int64_t OW);
void FN(avg_pool2d_forward)(T *y, const T *x, int64_t NC, int64_t H, int64_t W,
                            int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                            int64_t SW, int64_t PT, int64_t PL);
void FN(avg_pool2d_backward)(T *dx, const T *dy, int64_t NC, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH,
                             int64_t SW, int64_t PT, int64_t PL);
/* end pooling.c */

/* ====================================================== batchnorm.c
 * minisinga/c/batchnorm.c: x, y, dx, dy: (N, C, HW); every other buffer (C,).
 * Training updates running_mean / running_var in place:
 * running = (1 - momentum) * running + momentum * batch (unbiased batch variance). */
void FN(batchnorm2d_forward_training)(T *y, T *mean, T *invstd, T *running_mean,
                                      T *running_var, const T *x, const T *scale,
                                      const T *bias, T momentum, T eps, int64_t N,
                                      int64_t C, int64_t HW);
void FN(batchnorm2d_forward_inference)(T *y, T *mean, T *invstd, const T *x,
                                       const T *scale, const T *bias,
                                       const T *running_mean, const T *running_var, T eps,
                                       int64_t N, int64_t C, int64_t HW);
/* training = 1: mean and invstd are batch statistics (dx has the terms through
 * them); 0: they are constants (the running statistics) */
void FN(batchnorm2d_backward)(T *dx, T *dscale, T *dbias, const T *dy, const T *x,
                              const T *scale, const T *mean, const T *invstd, int training,
                              int64_t N, int64_t C, int64_t HW);
/* end batchnorm.c */

/* ====================================================== optim.c
 * minisinga/c/optim.c: SINGA's update rules, in place on p and its state
 * buffers; g is only read.  lr and step are one-element double tensors on
 * the device (so a replayed graph reads this step's values). */
void FN(sgd_update)(T *p, T *buf, const T *g, const double *lr, T momentum,
                    T dampening, T weight_decay, int nesterov, int64_t n);
void FN(adam_update)(T *p, T *m, T *v, const T *g, const double *lr,
                     const double *step, T beta1, T beta2, T eps, T weight_decay,
                     int64_t n);
void FN(rmsprop_update)(T *p, T *r, const T *g, const double *lr, T rho, T eps,
                        T weight_decay, int64_t n);
void FN(adagrad_update)(T *p, T *h, const T *g, const double *lr, T eps,
                        T weight_decay, int64_t n);
/* value[0] = init * rate^(step[0] / decay_steps), the exponent floored when staircase */
void FN(exponential_decay)(T *value, const T *step, T init, T decay_steps,
                           T rate, int staircase);
/* end optim.c */

/* ====================================================== mathfn.c
 * minisinga/c/mathfn.c ; x, y, dx, dy: compact buffers of n elements */
void FN(sign_forward)(T *y, const T *x, int64_t n);
void FN(ceil_forward)(T *y, const T *x, int64_t n);
void FN(floor_forward)(T *y, const T *x, int64_t n);
void FN(round_forward)(T *y, const T *x, int64_t n);
void FN(rounde_forward)(T *y, const T *x, int64_t n);
void FN(erf_forward)(T *y, const T *x, int64_t n);
void FN(erf_backward)(T *dx, const T *dy, const T *x, int64_t n);
/* n-ary max / min as a running update; arg: which input gave y (first on ties) */
void FN(max_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n);
void FN(min_update)(T *y, int32_t *arg, const T *x, int32_t k, int64_t n);
void FN(argselect_backward)(T *dx, const T *dy, const int32_t *arg, int32_t k, int64_t n);
void FN(prelu_forward)(T *y, const T *x, const T *slope, int64_t n);
void FN(prelu_backward)(T *dx, T *dslope, const T *dy, const T *x, const T *slope,
                        int64_t n);
void FN(sin_forward)(T *y, const T *x, int64_t n);
void FN(sin_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(cos_forward)(T *y, const T *x, int64_t n);
void FN(cos_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(tan_forward)(T *y, const T *x, int64_t n);
void FN(tan_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(asin_forward)(T *y, const T *x, int64_t n);
void FN(asin_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(acos_forward)(T *y, const T *x, int64_t n);
void FN(acos_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(atan_forward)(T *y, const T *x, int64_t n);
void FN(atan_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(sinh_forward)(T *y, const T *x, int64_t n);
void FN(sinh_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(cosh_forward)(T *y, const T *x, int64_t n);
void FN(cosh_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(asinh_forward)(T *y, const T *x, int64_t n);
void FN(asinh_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(acosh_forward)(T *y, const T *x, int64_t n);
void FN(acosh_backward)(T *dx, const T *dy, const T *x, int64_t n);
void FN(atanh_forward)(T *y, const T *x, int64_t n);
void FN(atanh_backward)(T *dx, const T *dy, const T *x, int64_t n);
/* a, b: (N, D); y, na, nb: (N,) */
void FN(cossim_forward)(T *y, T *na, T *nb, const T *a, const T *b, int64_t N, int64_t D);
void FN(cossim_backward)(T *da, T *db, const T *dy, const T *y, const T *na, const T *nb,
                         const T *a, const T *b, int64_t N, int64_t D);
/* pos, neg: n elements, N the batch size; loss: one element */
void FN(ranking_loss_forward)(T *loss, const T *pos, const T *neg, T M, int64_t n, int64_t N);
void FN(ranking_loss_backward)(T *dpos, T *dneg, const T *dy, const T *pos, const T *neg, T M,
                               int64_t n, int64_t N);
/* x: (outer, mid, inner) -> y, arg: (outer, inner); arg: the first max / min */
void FN(reduce_max_forward)(T *y, int32_t *arg, const T *x, int64_t outer, int64_t mid,
                            int64_t inner);
void FN(reduce_min_forward)(T *y, int32_t *arg, const T *x, int64_t outer, int64_t mid,
                            int64_t inner);
void FN(reduce_arg_backward)(T *dx, const T *dy, const int32_t *arg, int64_t outer,
                             int64_t mid, int64_t inner);
/* end mathfn.c */

/* ====================================================== logic.c
 * minisinga/c/logic.c ; outputs are 1 (true) or 0 (false) in type T */
void FN(less_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(greater_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(equal_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(and_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(or_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(xor_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(not_forward)(T *y, const T *x, int64_t n);
void FN(where_forward)(T *y, const T *c, const T *a, const T *b, int64_t n);
void FN(where_backward)(T *da, T *db, const T *dy, const T *c, int64_t n);
/* end logic.c */

/* ====================================================== indexing.c
 * minisinga/c/indexing.c ; idx: scatter_elements' int32 index map (scatter_targets) */
void FN(gather_index)(T *y, const T *x, const int32_t *idx, T fill, int64_t n);
void FN(scatter_index)(T *y, const T *u, const int32_t *idx, int64_t n);
void FN(fill_index)(T *y, T value, const int32_t *idx, int64_t n);
/* x: (n,) indices into the rows of w: (vocab, dim); y: (n, dim) */
void FN(embedding_forward)(T *y, const T *w, const int32_t *x, int64_t n, int64_t dim);
void FN(embedding_backward)(T *dw, const T *dy, const int32_t *x, int64_t n, int64_t vocab,
                            int64_t dim);
/* ind: (outer, inner); y: (outer, depth, inner) */
void FN(onehot_forward)(T *y, const int32_t *ind, T off, T on, int64_t outer, int64_t depth,
                        int64_t inner);
/* slice and pad (window_copy), and their backwards; gather along one axis.
 * shape: y's; xdim, xstrides: x's; start, step: per axis, in positions of x;
 * mode: pad's (0 constant, 1 edge, 2 reflect) */
void FN(window_copy)(T *y, const T *x, const int64_t *shape, const int64_t *xdim,
                     const int64_t *xstrides, const int64_t *start, const int64_t *step,
                     int mode, T fill, int ndim);
void FN(slice_backward)(T *dx, const T *dy, const int64_t *shape, const int64_t *xstrides,
                        const int64_t *start, const int64_t *step, int ndim, int64_t nx);
void FN(pad_backward)(T *dx, const T *dy, int64_t outer, int64_t dim, int64_t ydim,
                      int64_t inner, int64_t begin, int mode);
/* x: (outer, dim, inner); ind: n int32 in [-dim, dim); y: (outer, n, inner) */
void FN(gather_forward)(T *y, const T *x, const int32_t *ind, int64_t outer, int64_t dim,
                        int64_t n, int64_t inner);
void FN(gather_backward)(T *dx, const T *dy, const int32_t *ind, int64_t outer, int64_t dim,
                         int64_t n, int64_t inner);
/* the number of x[i] that cannot be cast to int32 (whole: also not a whole number) */
int64_t FN(count_not_int32)(const T *x, int64_t n, int whole);
int64_t FN(nonzero_count)(const T *x, int64_t n);
void FN(nonzero_forward)(int32_t *idx, const T *x, const int64_t *shape, int ndim, int64_t n,
                         int64_t count);
/* end indexing.c */

/* ====================================================== dist.c
 * minisinga/c/dist.c ; data-parallel training (DistOpt): float16 bits as
 * uint16_t, sparse gradients as int32 indices + values */
void FN(to_half)(uint16_t *h, const T *x, T clip, int64_t n);
void FN(add_half)(T *y, const uint16_t *h, int64_t n);
int64_t FN(sparse_select)(int32_t *idx, T *val, T *x, T *scratch, T threshold, int64_t k,
                          int corr, int64_t n);
void FN(sparse_add)(T *y, const int32_t *idx, const T *val, int64_t m);
/* end dist.c */

#endif /* MS_IS_FLOAT */

#if !MS_IS_FLOAT
/* ====================================================== int32.c
 * minisinga/c/int32.c ; int32 arithmetic and comparisons (built for int32
 * only: add_forward_i32, ...).  Compact buffers of n elements, broadcast by
 * Python.  +, -, * wrap modulo 2^32; comparisons and logical operators write
 * 1 / 0 as int32. */
void FN(add_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(sub_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(mul_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(less_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(greater_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(equal_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(and_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(or_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(xor_forward)(T *y, const T *a, const T *b, int64_t n);
void FN(not_forward)(T *y, const T *x, int64_t n);
/* the number of idx[i] outside [lo, hi) (index checks: one number back) */
int64_t FN(count_out_of_range)(const T *idx, int64_t n, int64_t lo, int64_t hi);
/* scatter_elements: the flat target of each update, and the number of repeated targets
 * (seen: m zeros, written) */
void FN(scatter_targets)(T *idx, const T *ind, const int64_t *shape, const int64_t *xstrides,
                         int axis, int ndim, int64_t dim);
int64_t FN(count_repeats)(const T *idx, int64_t n, T *seen, int64_t m);
/* end int32.c */
#endif /* !MS_IS_FLOAT */
#endif /* MS_TYPED_PASS */
