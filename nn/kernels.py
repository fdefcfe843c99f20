"""Numba kernels: the loops over pixels that NumPy cannot express without copies.

Everything here is a plain serial loop nest compiled by Numba, with inner
loops that walk memory in order so the compiler can vectorise them. Each
kernel releases the GIL (``nogil``) and works on whatever slice of the batch
it is given: nn's worker threads run it on one slice each (nn/parallel.py), so
writes never collide and no thread pool but nn's own is ever started.

Numba compiles each kernel on its first call (once per argument types);
``cache=True`` stores the machine code next to this file, so only the first
process on a machine pays the compile time (see docs/results.md).

Shapes: N batch, C channels, H x W input, Ho x Wo output, P = Ho * Wo,
kh x kw kernel, s stride, (pt, pl) zero padding at the top and left. Padding at
the bottom and right is implied by Ho and Wo.
"""

import numpy as np
from numba import njit

_jit = {"cache": True, "nogil": True, "fastmath": False}


# --------------------------------------------------------------------------- im2col


# Numba lesson learned here: a loop ``for t in range(n): a[t] = b[t]`` over
# slice views compiles to vector moves, while ``a[t + k]`` with an offset index
# keeps a negative-index check per element and runs 2-4x slower. So the kernels
# below slice first and then copy with 0-based loops.


@njit(**_jit)
def _valid_range(j, s, pad, size, out):
    """The output positions o in [lo, hi) whose input o*s + j - pad lies inside 0..size-1."""
    lo = 0
    while lo < out and lo * s + j - pad < 0:
        lo += 1
    hi = out
    while hi > lo and (hi - 1) * s + j - pad >= size:
        hi -= 1
    return lo, hi


@njit(**_jit)
def im2col(x, kh, kw, s, pt, pl, Ho, Wo, cols):
    """Unfold every receptive field of ``x`` into a column.

    x    (N, C, H, W)
    cols (C * kh * kw, N * Ho * Wo)

        cols[(c, i, j), (n, oh, ow)] = x[n, c, oh*s + i - pt, ow*s + j - pl]

    Out-of-range reads are the zero padding. Each row r = (c, i, j) is written
    along contiguous memory.
    """
    N, C, H, W = x.shape
    P = Ho * Wo
    for r in range(C * kh * kw):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        ow_lo, ow_hi = _valid_range(j, s, pl, W, Wo)
        oh_lo, oh_hi = _valid_range(i, s, pt, H, Ho)
        iw_lo = ow_lo * s + j - pl
        iw_end = iw_lo + (ow_hi - ow_lo - 1) * s + 1
        for n in range(N):
            out = cols[r, n * P:(n + 1) * P].reshape((Ho, Wo))
            out[:oh_lo, :] = 0                     # the padding rows and columns
            out[oh_hi:, :] = 0
            out[:, :ow_lo] = 0
            out[:, ow_hi:] = 0
            for oh in range(oh_lo, oh_hi):
                dst = out[oh, ow_lo:ow_hi]
                src = x[n, c, oh * s + i - pt, iw_lo:iw_end:s]
                for t in range(dst.size):
                    dst[t] = src[t]


@njit(**_jit)
def col2im(dcols, kh, kw, s, pt, pl, Ho, Wo, dx):
    """The adjoint of :func:`im2col`: add every column entry back to its pixel.

    dcols (C * kh * kw, N * Ho * Wo)
    dx    (N, C, H, W)   overwritten with  sum over all (i, j, oh, ow) that read pixel (h, w)
    """
    N, C, H, W = dx.shape
    P = Ho * Wo
    for nc in range(N * C):
        n = nc // C
        c = nc % C
        plane = dx[n, c]
        plane[:, :] = 0
        for i in range(kh):
            oh_lo, oh_hi = _valid_range(i, s, pt, H, Ho)
            for j in range(kw):
                ow_lo, ow_hi = _valid_range(j, s, pl, W, Wo)
                iw_lo = ow_lo * s + j - pl
                iw_end = iw_lo + (ow_hi - ow_lo - 1) * s + 1
                grad = dcols[(c * kh + i) * kw + j, n * P:(n + 1) * P].reshape((Ho, Wo))
                for oh in range(oh_lo, oh_hi):
                    src = grad[oh, ow_lo:ow_hi]
                    dst = plane[oh * s + i - pt, iw_lo:iw_end:s]
                    for t in range(src.size):
                        dst[t] += src[t]


# The same two maps for the common case stride 1 with (Ho, Wo) == (H, W) ("same" padding).
# Then output pixel t = oh*W + ow reads input pixel t + shift with one constant
# shift = (i - pt)*W + (j - pl) for the whole plane: one long contiguous copy
# instead of Ho short ones. The positions whose read fell outside the image
# (or wrapped around a row edge) are the padding; they depend only on (i, j),
# so they are listed once (padding_positions) and zeroed one by one: for the
# small images deep in a network (4 x 4 pixels) one copy and a few stores per
# (row, image) instead of ~10 tiny slice operations, 3-4x faster.


@njit(**_jit)
def padding_positions(kh, kw, pt, pl, H, W):
    """For each kernel offset (i, j): the output pixels that read padding, and their count.

    Returns (positions (kh*kw, H*W) int64, counts (kh*kw,) int64) for stride 1
    and an output the size of the input.
    """
    P = H * W
    positions = np.zeros((kh * kw, P), np.int64)
    counts = np.zeros(kh * kw, np.int64)
    for i in range(kh):
        for j in range(kw):
            q = i * kw + j
            for oh in range(H):
                for ow in range(W):
                    ih, iw = oh + i - pt, ow + j - pl
                    if ih < 0 or ih >= H or iw < 0 or iw >= W:
                        positions[q, counts[q]] = oh * W + ow
                        counts[q] += 1
    return positions, counts


@njit(**_jit)
def _valid_span(i, j, pt, pl, H, W):
    """[first, last): the span of output pixels from the first to the last that reads the image."""
    oh_lo, oh_hi = _valid_range(i, 1, pt, H, H)
    ow_lo, ow_hi = _valid_range(j, 1, pl, W, W)
    if oh_lo >= oh_hi or ow_lo >= ow_hi:
        return 0, 0
    return oh_lo * W + ow_lo, (oh_hi - 1) * W + ow_hi


@njit(**_jit)
def _same_row(r, kh, kw, pt, pl, H, W):
    """Row r = (c, i, j) of X_col: (c, q = i*kw + j, first, last, shift).

    Output pixels first..last-1 read input pixel t + shift of channel c.
    """
    c, q = r // (kh * kw), r % (kh * kw)
    i, j = q // kw, q % kw
    first, last = _valid_span(i, j, pt, pl, H, W)
    return c, q, first, last, (i - pt) * W + (j - pl)


@njit(**_jit)
def im2col_same(x, kh, kw, pt, pl, positions, counts, cols):
    """:func:`im2col` for stride 1 and Ho, Wo = H, W (positions, counts: padding_positions)."""
    N, C, H, W = x.shape
    P = H * W
    planes = x.reshape(N, C, P)
    for r in range(C * kh * kw):
        c, q, first, last, shift = _same_row(r, kh, kw, pt, pl, H, W)
        pad, npad = positions[q], counts[q]
        row = cols[r]
        for n in range(N):
            dst = row[n * P + first:n * P + last]
            src = planes[n, c, first + shift:last + shift]
            for t in range(last - first):
                dst[t] = src[t]
            for u in range(npad):                        # the padding reads
                row[n * P + pad[u]] = 0


@njit(**_jit)
def col2im_same(dcols, kh, kw, pt, pl, positions, counts, dx):
    """:func:`col2im` for stride 1 and Ho, Wo = H, W. Zeroes the padding entries of dcols."""
    N, C, H, W = dx.shape
    P = H * W
    planes = dx.reshape(N, C, P)
    planes[:] = 0
    for r in range(C * kh * kw):
        c, q, first, last, shift = _same_row(r, kh, kw, pt, pl, H, W)
        pad, npad = positions[q], counts[q]
        row = dcols[r]
        for n in range(N):
            for u in range(npad):                        # padding reads add nothing
                row[n * P + pad[u]] = 0
            src = row[n * P + first:n * P + last]
            dst = planes[n, c, first + shift:last + shift]
            for t in range(last - first):
                dst[t] += src[t]


# --------------------------------------------------------------------------- layout


@njit(**_jit)
def rows_to_nchw_add_bias(y2d, b, y):
    """y[n, f, p] = y2d[f, n * P + p] + b[f]

    y2d (F, N * P) is what the convolution's matrix product produces;
    y   (N, F, P) is the layer's output in N, C, H, W order.
    """
    N, F, P = y.shape
    for n in range(N):
        for f in range(F):
            src = y2d[f, n * P:(n + 1) * P]
            dst = y[n, f]
            bf = b[f]
            for p in range(P):
                dst[p] = src[p] + bf


@njit(**_jit)
def nchw_to_rows_add_sum(dy, dy2d, db):
    """dy2d[f, n * P + p] = dy[n, f, p]   and   db[f] += sum over n, p of dy[n, f, p]

    The inverse layout change of :func:`rows_to_nchw_add_bias`, fused with the
    bias gradient so dy is read once. ``db`` accumulates, so a batch can be
    processed in chunks.
    """
    N, F, P = dy.shape
    for f in range(F):
        total = 0.0
        for n in range(N):
            src = dy[n, f]
            dst = dy2d[f, n * P:(n + 1) * P]
            for p in range(P):
                dst[p] = src[p]
                total += src[p]
        db[f] += total


# --------------------------------------------------------------------------- max pooling


@njit(**_jit)
def maxpool_forward(x, k, s, y, argmax):
    """y[n, c, oh, ow] = max over the k x k window at (oh*s, ow*s).

    x (N, C, H, W);  y, argmax (N, C, Ho, Wo).  argmax stores the window offset
    i*k + j of the first maximum (row-major), so ties send the gradient to one
    place only, as the backward pass promises.
    """
    N, C, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    for nc in range(N * C):
        n = nc // C
        c = nc % C
        for oh in range(Ho):
            for ow in range(Wo):
                h0 = oh * s
                w0 = ow * s
                best = x[n, c, h0, w0]
                where = 0
                for i in range(k):
                    for j in range(k):
                        v = x[n, c, h0 + i, w0 + j]
                        if v > best:
                            best = v
                            where = i * k + j
                y[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = where


@njit(**_jit)
def maxpool_backward(dy, argmax, k, s, dx):
    """dx[n, c, oh*s + i, ow*s + j] += dy[n, c, oh, ow] where (i, j) is the window's arg-max.

    dx (N, C, H, W) is overwritten. ``+=`` because overlapping windows
    (stride < kernel) can pick the same pixel.
    """
    N, C = dy.shape[0], dy.shape[1]
    Ho, Wo = dy.shape[2], dy.shape[3]
    for nc in range(N * C):
        n = nc // C
        c = nc % C
        dx[n, c, :, :] = 0
        for oh in range(Ho):
            for ow in range(Wo):
                where = argmax[n, c, oh, ow]
                dx[n, c, oh * s + where // k, ow * s + where % k] += dy[n, c, oh, ow]


# The 2 x 2 window with stride 2, by far the most used, gets kernels of its
# own: with the window's four reads written out, instead of loops over i < k
# and j < k whose bounds are known only at run time, the compiler vectorises
# along the row (on 32 x 28 x 140 inputs several times faster forward,
# python bench/layer_profile.py; docs/results.md). Same
# results, ties included: a later input wins only if strictly larger, so the
# first maximum in row-major order keeps the gradient.


@njit(**_jit)
def maxpool2x2_forward(x, y, argmax):
    """maxpool_forward for k = s = 2: y = the largest of each 2 x 2 block."""
    N, C = x.shape[0], x.shape[1]
    Ho, Wo = y.shape[2], y.shape[3]
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                top, bottom = x[n, c, 2 * oh], x[n, c, 2 * oh + 1]
                out, where = y[n, c, oh], argmax[n, c, oh]
                for ow in range(Wo):
                    best, at = top[2 * ow], 0
                    v = top[2 * ow + 1]
                    if v > best:
                        best, at = v, 1
                    v = bottom[2 * ow]
                    if v > best:
                        best, at = v, 2
                    v = bottom[2 * ow + 1]
                    if v > best:
                        best, at = v, 3
                    out[ow] = best
                    where[ow] = at


@njit(**_jit)
def maxpool2x2_backward(dy, argmax, dx):
    """maxpool_backward for k = s = 2. The blocks do not overlap, so every pixel
    of dx is written once: dy where it won its block, else 0 (a last odd row or
    column, which no window covers, is 0)."""
    N, C, H, W = dx.shape
    Ho, Wo = dy.shape[2], dy.shape[3]
    for n in range(N):
        for c in range(C):
            if 2 * Ho < H:
                dx[n, c, H - 1, :] = 0
            if 2 * Wo < W:
                dx[n, c, :, W - 1] = 0
            for oh in range(Ho):
                top, bottom = dx[n, c, 2 * oh], dx[n, c, 2 * oh + 1]
                grad, where = dy[n, c, oh], argmax[n, c, oh]
                for ow in range(Wo):
                    g, at = grad[ow], where[ow]
                    top[2 * ow] = g if at == 0 else 0
                    top[2 * ow + 1] = g if at == 1 else 0
                    bottom[2 * ow] = g if at == 2 else 0
                    bottom[2 * ow + 1] = g if at == 3 else 0


# --------------------------------------------------------------------------- ReLU


@njit(**_jit)
def relu_forward(x, y):
    """y = max(x, 0), on flat contiguous arrays."""
    for t in range(x.size):
        v = x[t]
        y[t] = v if v > 0 else 0


@njit(**_jit)
def relu_backward(dy, y, dx):
    """dx = dy where the output was positive, else 0 (flat contiguous arrays)."""
    for t in range(dy.size):
        dx[t] = dy[t] if y[t] > 0 else 0

