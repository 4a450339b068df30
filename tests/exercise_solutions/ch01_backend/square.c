/* Reference solution of backend.4. */
#include <stdint.h>

/* y[i] = x[i]^2 */
void square_forward(double *y, const double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * x[i];
}

/* dx[i] = 2 x[i] dy[i] */
void square_backward(double *dx, const double *dy, const double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = 2.0 * x[i] * dy[i];
}
