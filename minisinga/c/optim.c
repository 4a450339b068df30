/* optim.c -- the optimizers' update rules (SINGA's), one kernel per rule, and the
 * learning-rate schedule.  Typed (f32, f64).
 *
 * p (a parameter), g (its gradient) and the state buffers (buf, m, v, r, h) all
 * have the parameter's n elements.  Each kernel updates p and the state buffers
 * IN PLACE and only reads g (SINGA overwrites g; minisinga does not need to).
 * The rule for one element is in optim_rules.h, shared with the CUDA twins
 * (minisinga/cuda/optim.cu); a kernel here is the loop over the elements.
 *
 * lr and step are one-element double tensors on the device, read by the
 * kernel rather than passed as numbers: a recorded graph (minisinga/graph.py)
 * replays the same launch every step, and it must see the learning rate of
 * THIS step.  They are double (not T) whatever the parameter's type: one
 * counter serves float32 and float64 parameters alike, a float64 parameter
 * gets its learning rate unrounded, and the step counts exactly to 2^53
 * (SINGA keeps both in float32).
 */
#include "minisinga.h"
#include "ms_parallel.h"
#include "optim_rules.h"

/* p, buf, g: (n,)   buf may be NULL when momentum == 0. */
void FN(sgd_update)(T *p, T *buf, const T *g, const double *lr, T momentum,
                    T dampening, T weight_decay, int nesterov, int64_t n)
{
    const T rate = (T)lr[0];
    MS_PARALLEL_FOR(i, n, sgd_update_one(&p[i], momentum != 0 ? &buf[i] : NULL, g[i], rate,
                                         momentum, dampening, weight_decay, nesterov));
}

/* p, m, v, g: (n,) */
void FN(adam_update)(T *p, T *m, T *v, const T *g, const double *lr,
                     const double *step, T beta1, T beta2, T eps, T weight_decay,
                     int64_t n)
{
    const double t = step[0] + 1.0;
    const T rate = (T)lr[0];
    const T c1 = adam_correction(beta1, t), c2 = adam_correction(beta2, t);
    MS_PARALLEL_FOR(i, n, adam_update_one(&p[i], &m[i], &v[i], g[i], rate, c1, c2, beta1,
                                          beta2, eps, weight_decay));
}

/* p, r, g: (n,) */
void FN(rmsprop_update)(T *p, T *r, const T *g, const double *lr, T rho, T eps,
                        T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_PARALLEL_FOR(i, n, rmsprop_update_one(&p[i], &r[i], g[i], rate, rho, eps,
                                             weight_decay));
}

/* p, h, g: (n,) */
void FN(adagrad_update)(T *p, T *h, const T *g, const double *lr, T eps,
                        T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_PARALLEL_FOR(i, n, adagrad_update_one(&p[i], &h[i], g[i], rate, eps, weight_decay));
}

/* value, step: (1,) */
void FN(exponential_decay)(T *value, const T *step, T init, T decay_steps,
                           T rate, int staircase)
{
    value[0] = exponential_decay_one(step[0], init, decay_steps, rate, staircase);
}
