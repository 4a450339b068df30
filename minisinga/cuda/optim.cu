/* optim.cu -- the CUDA twins of minisinga/c/optim.c: the optimizers' update
 * rules and the learning-rate schedule.  Typed (f32, f64).
 *
 * One thread per element (grid-stride), updating p and its state buffers in
 * place; g is only read.  The rule for one element is minisinga/c/optim_rules.h,
 * the same the C kernels run.  lr and step are one-element double tensors in
 * device memory, read by every thread: a replayed graph (minisinga/graph.py)
 * launches the same kernel each step and must see THIS step's values. */
#include "ms_cuda.h"
#include "optim_rules.h"

/* p, buf, g: (n,)   buf may be NULL when momentum == 0. */
__global__ void FN(sgd_update_kernel)(T *p, T *buf, const T *g, const double *lr, T momentum,
                                      T dampening, T weight_decay, int nesterov, int64_t n)
{
    const T rate = (T)lr[0];
    MS_FOR_EACH(i, n)
        sgd_update_one(&p[i], momentum != 0 ? &buf[i] : NULL, g[i], rate, momentum,
                       dampening, weight_decay, nesterov);
}
extern "C" void FN(sgd_update)(T *p, T *buf, const T *g, const double *lr, T momentum,
                               T dampening, T weight_decay, int nesterov, int64_t n)
{
    MS_EW_LAUNCH(FN(sgd_update_kernel), n, p, buf, g, lr, momentum, dampening, weight_decay,
                 nesterov, n);
}

/* p, m, v, g: (n,) */
__global__ void FN(adam_update_kernel)(T *p, T *m, T *v, const T *g, const double *lr,
                                       const double *step, T beta1, T beta2, T eps,
                                       T weight_decay, int64_t n)
{
    const double t = step[0] + 1.0;
    const T rate = (T)lr[0];
    const T c1 = adam_correction(beta1, t), c2 = adam_correction(beta2, t);
    MS_FOR_EACH(i, n)
        adam_update_one(&p[i], &m[i], &v[i], g[i], rate, c1, c2, beta1, beta2, eps,
                        weight_decay);
}
extern "C" void FN(adam_update)(T *p, T *m, T *v, const T *g, const double *lr,
                                const double *step, T beta1, T beta2, T eps, T weight_decay,
                                int64_t n)
{
    MS_EW_LAUNCH(FN(adam_update_kernel), n, p, m, v, g, lr, step, beta1, beta2, eps,
                 weight_decay, n);
}

/* p, r, g: (n,) */
__global__ void FN(rmsprop_update_kernel)(T *p, T *r, const T *g, const double *lr, T rho,
                                          T eps, T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_FOR_EACH(i, n)
        rmsprop_update_one(&p[i], &r[i], g[i], rate, rho, eps, weight_decay);
}
extern "C" void FN(rmsprop_update)(T *p, T *r, const T *g, const double *lr, T rho, T eps,
                                   T weight_decay, int64_t n)
{
    MS_EW_LAUNCH(FN(rmsprop_update_kernel), n, p, r, g, lr, rho, eps, weight_decay, n);
}

/* p, h, g: (n,) */
__global__ void FN(adagrad_update_kernel)(T *p, T *h, const T *g, const double *lr, T eps,
                                          T weight_decay, int64_t n)
{
    const T rate = (T)lr[0];
    MS_FOR_EACH(i, n)
        adagrad_update_one(&p[i], &h[i], g[i], rate, eps, weight_decay);
}
extern "C" void FN(adagrad_update)(T *p, T *h, const T *g, const double *lr, T eps,
                                   T weight_decay, int64_t n)
{
    MS_EW_LAUNCH(FN(adagrad_update_kernel), n, p, h, g, lr, eps, weight_decay, n);
}

/* value, step: (1,);  one thread */
__global__ void FN(exponential_decay_kernel)(T *value, const T *step, T init, T decay_steps,
                                             T rate, int staircase)
{
    value[0] = exponential_decay_one(step[0], init, decay_steps, rate, staircase);
}
extern "C" void FN(exponential_decay)(T *value, const T *step, T init, T decay_steps, T rate,
                                      int staircase)
{
    MS_LAUNCH(FN(exponential_decay_kernel), 1, 1, value, step, init, decay_steps, rate,
              staircase);
}
