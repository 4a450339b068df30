/* optim_rules.h -- every optimizer's update rule, written once, for both backends.
 *
 * `sgd_update_one(&p[i], &buf[i], g[i], ...)` is sgd_update for ONE element: it
 * updates the parameter and its state in place.  The C kernel (minisinga/c/optim.c)
 * runs it in a loop over n elements; its CUDA twin (minisinga/cuda/optim.cu) runs it
 * in one thread per element.  Both include this header, so the two backends cannot
 * drift apart, and tests/test_twin.py checks that they give the same bits.
 *
 * Read once per element type T, like pointwise.h (which this header includes for
 * MS_HD, __host__ __device__ under nvcc, and for its pragma that keeps GCC from
 * fusing a*b + c into one FMA, which the emulated GPU does not do).
 *
 * Weight decay is L2 regularisation added to the gradient, g' = g + wd * p, in all
 * four rules (Adam's is the L2 form, not AdamW's decoupled decay).
 *
 * Where a rule divides by a square root, sqrt takes and returns double (C's sqrt
 * does, even for a float argument), so the step is computed in double and rounded
 * to T once, when p is written. */
#ifndef MS_OPTIM_RULES_H
#define MS_OPTIM_RULES_H

#include <float.h>
#include <math.h>
#include "pointwise.h"

/* p, buf: one element each, updated in place;  buf is unused when momentum == 0.
 *   g'  = g + wd * p
 *   buf = momentum * buf + (1 - dampening) * g'          (momentum != 0)
 *   d   = g' + momentum * buf   if nesterov
 *         buf                   else                     (d = g' when momentum == 0)
 *   p  -= lr * d
 * buf starts at zeros, so the first step moves by (1 - dampening) * g' (SINGA;
 * PyTorch instead starts buf at g').
 * A buf entry smaller in magnitude than the smallest normal number (FLT_MIN or
 * DBL_MIN) is stored as 0.  Why: where a gradient stops (a dead ReLU unit), buf
 * decays by `momentum` every step and after ~800 steps turns subnormal; the CPU
 * then computes every product with it in microcode, ~20x slower (measured: one
 * 784x256 update, 150 us with normal numbers, 2.2 ms with subnormal ones), and it
 * would stay subnormal for hundreds of steps more.  Below 1e-38 the entry moves
 * the parameter by nothing visible anyway. */
MS_HD static inline void sgd_update_one(T *p, T *buf, T g, T lr, T momentum, T dampening,
                                        T weight_decay, int nesterov)
{
    const T tiny = sizeof(T) == sizeof(float) ? (T)FLT_MIN : (T)DBL_MIN;
    T d = g + weight_decay * *p;
    if (momentum != 0) {
        T b = momentum * *buf + (1 - dampening) * d;
        b = fabs(b) < tiny ? (T)0 : b; /* flush subnormals: see above */
        *buf = b;
        d = nesterov ? d + momentum * b : b;
    }
    *p -= lr * d;
}

/* 1 - beta^t: Adam's bias correction at step t, in double, rounded once to T. */
MS_HD static inline T adam_correction(T beta, double t)
{
    return (T)(1.0 - pow((double)beta, t));
}

/* p, m, v: one element each, updated in place;  c1, c2: adam_correction of beta1
 * and beta2 at t = step + 1 (step counts the finished steps).
 *   g' = g + wd * p
 *   m  = beta1 * m + (1 - beta1) * g'
 *   v  = beta2 * v + (1 - beta2) * g'^2
 *   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps) */
MS_HD static inline void adam_update_one(T *p, T *m, T *v, T g, T lr, T c1, T c2, T beta1,
                                         T beta2, T eps, T weight_decay)
{
    T d = g + weight_decay * *p;
    *m = beta1 * *m + (1 - beta1) * d;
    *v = beta2 * *v + (1 - beta2) * d * d;
    *p = (T)((double)*p - (double)(lr * (*m / c1)) / (sqrt((double)(*v / c2)) + (double)eps));
}

/* p, r: one element each, updated in place.
 *   g' = g + wd * p
 *   r  = rho * r + (1 - rho) * g'^2     (the running average of g'^2)
 *   p -= lr * g' / sqrt(r + eps) */
MS_HD static inline void rmsprop_update_one(T *p, T *r, T g, T lr, T rho, T eps,
                                            T weight_decay)
{
    T d = g + weight_decay * *p;
    *r = rho * *r + (1 - rho) * d * d;
    *p = (T)((double)*p - (double)(lr * d) / sqrt((double)(*r + eps)));
}

/* p, h: one element each, updated in place.
 *   g' = g + wd * p
 *   h += g'^2                            (the history of squared gradients)
 *   p -= lr * g' / sqrt(h + eps) */
MS_HD static inline void adagrad_update_one(T *p, T *h, T g, T lr, T eps, T weight_decay)
{
    T d = g + weight_decay * *p;
    *h += d * d;
    *p = (T)((double)*p - (double)(lr * d) / sqrt((double)(*h + eps)));
}

/* The learning rate at `step`:
 *   e     = step / decay_steps, rounded down when staircase
 *   value = init * rate^e */
MS_HD static inline T exponential_decay_one(T step, T init, T decay_steps, T rate,
                                            int staircase)
{
    double e = (double)step / (double)decay_steps;
    if (staircase)
        e = floor(e);
    return (T)((double)init * pow((double)rate, e));
}

#endif /* MS_OPTIM_RULES_H */
