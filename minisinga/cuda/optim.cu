/* optim.cu -- the CUDA twins of minisinga/c/optim.c: the optimizers' update
 * rules and the learning-rate schedule.  Typed (f32, f64).
 *
 * One thread per element (grid-stride), updating p and its state buffers in
 * place; g is only read.  lr and step are one-element double tensors in
 * device memory, read by every thread: a replayed graph (minisinga/graph.py)
 * launches the same kernel each step and must see THIS step's values.
 *
 * The arithmetic follows the C kernels exactly, including C's promotions:
 * C's sqrt takes and returns double even for a float argument, so where the
 * C code divides by sqrt(...) the quotient is computed in double and rounded
 * to T when p is written.  (CUDA's sqrt(float) would stay in float.) */
#include <float.h>
#include "ms_cuda.h"

/* --8<-- [start:sgd_update] */
/* p, buf, g: (n,)   buf may be NULL when momentum == 0.
 *   g'  = g + wd * p
 *   buf = momentum * buf + (1 - dampening) * g'          (momentum != 0)
 *   d   = g' + momentum * buf   if nesterov
 *         buf                   else                     (d = g' when momentum == 0)
 *   p  -= lr * d
 * A buf entry below the smallest normal number is stored as 0 (why: optim.c). */
__global__ void FN(sgd_update_kernel)(T *p, T *buf, const T *g, const double *lr, T momentum,
                                      T dampening, T weight_decay, int nesterov, int64_t n)
{
    const T rate = (T)lr[0];
    const T tiny = sizeof(T) == sizeof(float) ? (T)FLT_MIN : (T)DBL_MIN;
    MS_FOR_EACH(i, n) {
        T d = g[i] + weight_decay * p[i];
        if (momentum != 0) {
            T b = momentum * buf[i] + (1 - dampening) * d;
            b = fabs(b) < tiny ? T(0) : b; /* as the C kernel: subnormals stored as 0 */
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] -= rate * d;
    }
}
extern "C" void FN(sgd_update)(T *p, T *buf, const T *g, const double *lr, T momentum,
                               T dampening, T weight_decay, int nesterov, int64_t n)
{
    MS_EW_LAUNCH(FN(sgd_update_kernel), n, p, buf, g, lr, momentum, dampening, weight_decay,
                 nesterov, n);
}
/* --8<-- [end:sgd_update] */

/* --8<-- [start:adam_update] */
/* p, m, v, g: (n,)
 *   t  = step + 1                       (step counts the finished steps)
 *   g' = g + wd * p
 *   m  = beta1 * m + (1 - beta1) * g'
 *   v  = beta2 * v + (1 - beta2) * g'^2
 *   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps) */
__global__ void FN(adam_update_kernel)(T *p, T *m, T *v, const T *g, const double *lr,
                                       const double *step, T beta1, T beta2, T eps,
                                       T weight_decay, int64_t n)
{
    const double t = step[0] + 1.0;
    const T rate = (T)lr[0];
    const T c1 = (T)(1.0 - pow((double)beta1, t)); /* bias corrections */
    const T c2 = (T)(1.0 - pow((double)beta2, t));
    MS_FOR_EACH(i, n) {
        T d = g[i] + weight_decay * p[i];
        m[i] = beta1 * m[i] + (1 - beta1) * d;
        v[i] = beta2 * v[i] + (1 - beta2) * d * d;
        p[i] = (T)((double)p[i] - (double)(rate * (m[i] / c1))
                                      / (sqrt((double)(v[i] / c2)) + (double)eps));
    }
}
extern "C" void FN(adam_update)(T *p, T *m, T *v, const T *g, const double *lr,
                                const double *step, T beta1, T beta2, T eps, T weight_decay,
                                int64_t n)
{
    MS_EW_LAUNCH(FN(adam_update_kernel), n, p, m, v, g, lr, step, beta1, beta2, eps,
                 weight_decay, n);
}
/* --8<-- [end:adam_update] */

/* --8<-- [start:rmsprop_update] */
/* p, r, g: (n,)
 *   g' = g + wd * p
 *   r  = rho * r + (1 - rho) * g'^2     (the running average of g'^2)
 *   p -= lr * g' / sqrt(r + eps) */
__global__ void FN(rmsprop_update_kernel)(T *p, T *r, const T *g, const double *lr, T rho,
                                          T eps, T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_FOR_EACH(i, n) {
        T d = g[i] + weight_decay * p[i];
        r[i] = rho * r[i] + (1 - rho) * d * d;
        p[i] = (T)((double)p[i] - (double)(rate * d) / sqrt((double)(r[i] + eps)));
    }
}
extern "C" void FN(rmsprop_update)(T *p, T *r, const T *g, const double *lr, T rho, T eps,
                                   T weight_decay, int64_t n)
{
    MS_EW_LAUNCH(FN(rmsprop_update_kernel), n, p, r, g, lr, rho, eps, weight_decay, n);
}
/* --8<-- [end:rmsprop_update] */

/* --8<-- [start:adagrad_update] */
/* p, h, g: (n,)
 *   g' = g + wd * p
 *   h += g'^2                            (the history of squared gradients)
 *   p -= lr * g' / sqrt(h + eps) */
__global__ void FN(adagrad_update_kernel)(T *p, T *h, const T *g, const double *lr, T eps,
                                          T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_FOR_EACH(i, n) {
        T d = g[i] + weight_decay * p[i];
        h[i] += d * d;
        p[i] = (T)((double)p[i] - (double)(rate * d) / sqrt((double)(h[i] + eps)));
    }
}
extern "C" void FN(adagrad_update)(T *p, T *h, const T *g, const double *lr, T eps,
                                   T weight_decay, int64_t n)
{
    MS_EW_LAUNCH(FN(adagrad_update_kernel), n, p, h, g, lr, eps, weight_decay, n);
}
/* --8<-- [end:adagrad_update] */

/* --8<-- [start:exponential_decay] */
/* value, step: (1,);  one thread
 *   e     = step / decay_steps, rounded down when staircase
 *   value = init * rate^e */
__global__ void FN(exponential_decay_kernel)(T *value, const T *step, T init, T decay_steps,
                                             T rate, int staircase)
{
    double e = (double)step[0] / (double)decay_steps;
    if (staircase)
        e = floor(e);
    value[0] = (T)((double)init * pow((double)rate, e));
}
extern "C" void FN(exponential_decay)(T *value, const T *step, T init, T decay_steps, T rate,
                                      int staircase)
{
    MS_LAUNCH(FN(exponential_decay_kernel), 1, 1, value, step, init, decay_steps, rate,
              staircase);
}
/* --8<-- [end:exponential_decay] */
