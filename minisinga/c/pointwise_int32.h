/* pointwise_int32.h -- the int32 formulas, written once for both backends:
 * minisinga/c/int32.c runs each in a loop, its CUDA twin minisinga/cuda/int32.cu
 * in one thread per element (as pointwise.h does for the float kernels; that
 * header is written for float T, this one for int32_t alone).
 *
 * Sums, differences and products wrap modulo 2^32.  Signed overflow is undefined
 * behaviour in C and C++, so they are computed on uint32_t, where wrapping is
 * defined, and converted back (GCC, Clang and nvcc define that conversion as
 * modulo 2^32).  Comparisons and logical operators give 1 (true) or 0 (false);
 * a nonzero value is true. */
#ifndef MS_POINTWISE_INT32_H
#define MS_POINTWISE_INT32_H

#include <stdint.h>

#ifndef MS_HD
#if defined(__CUDACC__)
#define MS_HD __host__ __device__
#else
#define MS_HD
#endif
#endif

/* y = a + b, a - b, a * b   (mod 2^32) */
MS_HD static inline int32_t add_i32_one(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
MS_HD static inline int32_t sub_i32_one(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
MS_HD static inline int32_t mul_i32_one(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
/* y = [a < b], [a > b], [a == b] */
MS_HD static inline int32_t less_i32_one(int32_t a, int32_t b) { return a < b; }
MS_HD static inline int32_t greater_i32_one(int32_t a, int32_t b) { return a > b; }
MS_HD static inline int32_t equal_i32_one(int32_t a, int32_t b) { return a == b; }
/* y = [a and b], [a or b], [a xor b], [not x]   (nonzero is true) */
MS_HD static inline int32_t and_i32_one(int32_t a, int32_t b) { return a != 0 && b != 0; }
MS_HD static inline int32_t or_i32_one(int32_t a, int32_t b) { return a != 0 || b != 0; }
MS_HD static inline int32_t xor_i32_one(int32_t a, int32_t b) { return (a != 0) != (b != 0); }
MS_HD static inline int32_t not_i32_one(int32_t x) { return x == 0; }

#endif /* MS_POINTWISE_INT32_H */
