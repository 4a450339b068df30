/* conv_fast.h -- the fast convolution code of conv_fast.c, which conv.c's
 * conv2d_forward / conv2d_backward choose where it applies (see "which code runs"
 * at the end of conv.c), and the constants both files share.  Not part of the
 * Python interface (that is minisinga.h alone); included after T and FN are
 * defined, so once per element type.  Each returns 0, or -1 when a buffer cannot
 * be allocated; each writes its output (never accumulates into it). */
#ifndef MS_CONV_FAST_H
#define MS_CONV_FAST_H

#define MS_CONV_PAR_MIN 1048576 /* multiply-adds below which one thread does it all */
#define MS_CONV_CHUNKS 8        /* dw sums the images in this many fixed chunks */

/* y = conv(x, w) + b, stride 1 (b may be NULL) */
int FN(conv2d_forward_stride1)(T *y, const T *x, const T *w, const T *b,
                               ms_conv_geom geom);
/* dx, stride 1 */
int FN(conv2d_backward_data_stride1)(T *dx, const T *dy, const T *w, ms_conv_geom geom);
/* dw, stride 1 and no column dilation (DW = 1) */
int FN(conv2d_backward_weight_stride1)(T *dw, const T *dy, const T *x, ms_conv_geom geom);
/* dw, any geometry */
int FN(conv2d_backward_weight_rows)(T *dw, const T *dy, const T *x, ms_conv_geom geom);

#endif /* MS_CONV_FAST_H */
