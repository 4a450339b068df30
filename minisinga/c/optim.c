/* optim.c -- the optimizers' update rules (SINGA's), one kernel per rule, and the
 * learning-rate schedule.  Typed (f32, f64).
 *
 * p (a parameter), g (its gradient) and the state buffers (buf, m, v, r, h) all
 * have the parameter's n elements.  Each kernel updates p and the state buffers
 * IN PLACE and only reads g (SINGA overwrites g; minisinga does not need to).
 *
 * lr and step are one-element double tensors on the device, read by the
 * kernel rather than passed as numbers: a recorded graph (minisinga/graph.py)
 * replays the same launch every step, and it must see the learning rate of
 * THIS step.  They are double (not T) whatever the parameter's type: one
 * counter serves float32 and float64 parameters alike, a float64 parameter
 * gets its learning rate unrounded, and the step counts exactly to 2^53
 * (SINGA keeps both in float32).
 *
 * Weight decay is L2 regularisation added to the gradient, g' = g + wd * p,
 * in all four rules (Adam's is the L2 form, not AdamW's decoupled decay).
 */
#include <float.h>
#include <math.h>
#include "minisinga.h"
#include "ms_parallel.h"

/* --8<-- [start:sgd_update] */
/* p, buf, g: (n,)   buf may be NULL when momentum == 0.
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
static inline void sgd_one(T *p, T *buf, const T *g, T rate, T momentum, T dampening,
                           T weight_decay, int nesterov, int64_t i)
{
    const T tiny = sizeof(T) == sizeof(float) ? (T)FLT_MIN : (T)DBL_MIN;
    T d = g[i] + weight_decay * p[i];
    if (momentum != 0) {
        T b = momentum * buf[i] + (1 - dampening) * d;
        b = fabs(b) < tiny ? 0 : b; /* flush subnormals: see above */
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
    }
    p[i] -= rate * d;
}

void FN(sgd_update)(T *p, T *buf, const T *g, const double *lr, T momentum,
                    T dampening, T weight_decay, int nesterov, int64_t n)
{
    const T rate = (T)lr[0];
    MS_PARALLEL_FOR(i, n, sgd_one(p, buf, g, rate, momentum, dampening, weight_decay,
                                  nesterov, i));
}
/* --8<-- [end:sgd_update] */

/* --8<-- [start:adam_update] */
/* p, m, v, g: (n,)
 *   t  = step + 1                       (step counts the finished steps)
 *   g' = g + wd * p
 *   m  = beta1 * m + (1 - beta1) * g'
 *   v  = beta2 * v + (1 - beta2) * g'^2
 *   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps) */
void FN(adam_update)(T *p, T *m, T *v, const T *g, const double *lr,
                     const double *step, T beta1, T beta2, T eps, T weight_decay,
                     int64_t n)
{
    const double t = step[0] + 1.0;
    const T rate = (T)lr[0];
    const T c1 = (T)(1.0 - pow((double)beta1, t)); /* bias corrections */
    const T c2 = (T)(1.0 - pow((double)beta2, t));
    MS_PARALLEL_FOR(i, n, {
        T d = g[i] + weight_decay * p[i];
        m[i] = beta1 * m[i] + (1 - beta1) * d;
        v[i] = beta2 * v[i] + (1 - beta2) * d * d;
        p[i] -= rate * (m[i] / c1) / (sqrt(v[i] / c2) + eps);
    });
}
/* --8<-- [end:adam_update] */

/* --8<-- [start:rmsprop_update] */
/* p, r, g: (n,)
 *   g' = g + wd * p
 *   r  = rho * r + (1 - rho) * g'^2     (the running average of g'^2)
 *   p -= lr * g' / sqrt(r + eps) */
void FN(rmsprop_update)(T *p, T *r, const T *g, const double *lr, T rho, T eps,
                        T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_PARALLEL_FOR(i, n, {
        T d = g[i] + weight_decay * p[i];
        r[i] = rho * r[i] + (1 - rho) * d * d;
        p[i] -= rate * d / sqrt(r[i] + eps);
    });
}
/* --8<-- [end:rmsprop_update] */

/* --8<-- [start:adagrad_update] */
/* p, h, g: (n,)
 *   g' = g + wd * p
 *   h += g'^2                            (the history of squared gradients)
 *   p -= lr * g' / sqrt(h + eps) */
void FN(adagrad_update)(T *p, T *h, const T *g, const double *lr, T eps,
                        T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_PARALLEL_FOR(i, n, {
        T d = g[i] + weight_decay * p[i];
        h[i] += d * d;
        p[i] -= rate * d / sqrt(h[i] + eps);
    });
}
/* --8<-- [end:adagrad_update] */

/* --8<-- [start:exponential_decay] */
/* value, step: (1,)
 *   e     = step / decay_steps, rounded down when staircase
 *   value = init * rate^e */
void FN(exponential_decay)(T *value, const T *step, T init, T decay_steps,
                           T rate, int staircase)
{
    double e = (double)step[0] / (double)decay_steps;
    if (staircase)
        e = floor(e);
    value[0] = (T)((double)init * pow((double)rate, e));
}
/* --8<-- [end:exponential_decay] */
