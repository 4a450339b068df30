/* backend.4: the C kernels of Square, y = x^2 (docs/backend.md, "How to read a kernel").
 *
 * x, y, dy, dx: n doubles each, compact.
 *
 *   forward:   y[i]  = x[i] * x[i]
 *   backward:  dx[i] = 2 * x[i] * dy[i]      (writes dx, does not add to it)
 *
 * The check compiles this file with the C compiler, loads it through cffi,
 * wraps the two functions in an autograd.Operation and runs gradcheck on it:
 *
 *   python -m minisinga.exercises check backend.4
 */
#include <stdint.h>

void square_forward(double *y, const double *x, int64_t n)
{
    /* TODO: not implemented yet */
    (void)y; (void)x; (void)n;
}

void square_backward(double *dx, const double *dy, const double *x, int64_t n)
{
    /* TODO: not implemented yet */
    (void)dx; (void)dy; (void)x; (void)n;
}
