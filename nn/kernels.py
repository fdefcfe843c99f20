"""Numba kernels: the loops over pixels that NumPy cannot express without copies.

Everything here is a plain loop nest compiled by Numba. The outer loop is a
``prange`` so the two cores share the work; the inner loops walk memory in
order so the compiler can vectorise them. None of these kernels calls BLAS:
matrix products happen in the layers, between kernel calls, so BLAS threads
and Numba threads never run at the same time.

``cache=True`` stores the compiled machine code next to this file, so only the
very first import on a machine pays the compile time (see docs/results.md).

Shapes: N batch, C channels, H x W input, Ho x Wo output, P = Ho * Wo,
kh x kw kernel, s stride, (pt, pl) zero padding at the top and left. Padding at
the bottom and right is implied by Ho and Wo.
"""

import os

import numba
from numba import njit, prange

# Numba's default OpenMP thread pool keeps its threads spinning after each
# parallel loop, and OpenBLAS keeps its own threads spinning after each matrix
# product. Layers alternate between the two, so on a 2-core machine each pool
# spins on the cores the other one needs: measured 20 ms instead of 8 ms for a
# kernel + sgemm pair. The "workqueue" pool sleeps between loops.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

_jit = {"cache": True, "nogil": True, "fastmath": False}


# --------------------------------------------------------------------------- im2col


@njit(parallel=True, **_jit)
def im2col(x, kh, kw, s, pt, pl, Ho, Wo, cols):
    """Unfold every receptive field of ``x`` into a column.

    x    (N, C, H, W)
    cols (C * kh * kw, N * Ho * Wo)

        cols[(c, i, j), (n, oh, ow)] = x[n, c, oh*s + i - pt, ow*s + j - pl]

    Out-of-range reads are the zero padding. Row r = (c, i, j) is filled by one
    thread, so writes never collide and run along contiguous memory.
    """
    N, C, H, W = x.shape
    P = Ho * Wo
    for r in prange(C * kh * kw):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        for n in range(N):
            base = n * P
            for oh in range(Ho):
                ih = oh * s + i - pt
                row = base + oh * Wo
                if ih < 0 or ih >= H:
                    for ow in range(Wo):
                        cols[r, row + ow] = 0
                    continue
                for ow in range(Wo):
                    iw = ow * s + j - pl
                    if 0 <= iw < W:
                        cols[r, row + ow] = x[n, c, ih, iw]
                    else:
                        cols[r, row + ow] = 0


@njit(parallel=True, **_jit)
def col2im(dcols, kh, kw, s, pt, pl, Ho, Wo, dx):
    """The adjoint of :func:`im2col`: add every column entry back to its pixel.

    dcols (C * kh * kw, N * Ho * Wo)
    dx    (N, C, H, W)   overwritten with  sum over all (i, j, oh, ow) that read pixel (h, w)

    One thread owns one (n, c) image plane, so the additions never race.
    """
    N, C, H, W = dx.shape
    P = Ho * Wo
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        plane = dx[n, c]
        plane[:, :] = 0
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for oh in range(Ho):
                    ih = oh * s + i - pt
                    if ih < 0 or ih >= H:
                        continue
                    row = n * P + oh * Wo
                    for ow in range(Wo):
                        iw = ow * s + j - pl
                        if 0 <= iw < W:
                            plane[ih, iw] += dcols[r, row + ow]


# --------------------------------------------------------------------------- layout


@njit(parallel=True, **_jit)
def rows_to_nchw_add_bias(y2d, b, y):
    """y[n, f, p] = y2d[f, n * P + p] + b[f]

    y2d (F, N * P) is what the convolution's matrix product produces;
    y   (N, F, P) is the layer's output in N, C, H, W order.
    """
    N, F, P = y.shape
    for n in prange(N):
        for f in range(F):
            bf = b[f]
            for p in range(P):
                y[n, f, p] = y2d[f, n * P + p] + bf


@njit(parallel=True, **_jit)
def nchw_to_rows_sum(dy, dy2d, db):
    """dy2d[f, n * P + p] = dy[n, f, p]   and   db[f] = sum over n, p of dy[n, f, p]

    The inverse layout change of :func:`rows_to_nchw_add_bias`, fused with the
    bias gradient so dy is read once.
    """
    N, F, P = dy.shape
    for f in prange(F):
        total = 0.0
        for n in range(N):
            for p in range(P):
                v = dy[n, f, p]
                dy2d[f, n * P + p] = v
                total += v
        db[f] = total


# --------------------------------------------------------------------------- max pooling


@njit(parallel=True, **_jit)
def maxpool_forward(x, k, s, y, argmax):
    """y[n, c, oh, ow] = max over the k x k window at (oh*s, ow*s).

    x (N, C, H, W);  y, argmax (N, C, Ho, Wo).  argmax stores the window offset
    i*k + j of the first maximum (row-major), so ties send the gradient to one
    place only, as the backward pass promises.
    """
    N, C, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    for nc in prange(N * C):
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


@njit(parallel=True, **_jit)
def maxpool_backward(dy, argmax, k, s, dx):
    """dx[n, c, oh*s + i, ow*s + j] += dy[n, c, oh, ow] where (i, j) is the window's arg-max.

    dx (N, C, H, W) is overwritten. ``+=`` because overlapping windows
    (stride < kernel) can pick the same pixel.
    """
    N, C = dy.shape[0], dy.shape[1]
    Ho, Wo = dy.shape[2], dy.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        dx[n, c, :, :] = 0
        for oh in range(Ho):
            for ow in range(Wo):
                where = argmax[n, c, oh, ow]
                dx[n, c, oh * s + where // k, ow * s + where % k] += dy[n, c, oh, ow]


# --------------------------------------------------------------------------- ReLU


@njit(parallel=True, **_jit)
def relu_forward(x, y):
    """y = max(x, 0), on flat contiguous arrays."""
    for t in prange(x.size):
        v = x[t]
        y[t] = v if v > 0 else 0


@njit(parallel=True, **_jit)
def relu_backward(dy, y, dx):
    """dx = dy where the output was positive, else 0 (flat contiguous arrays)."""
    for t in prange(dy.size):
        dx[t] = dy[t] if y[t] > 0 else 0

