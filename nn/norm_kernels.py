"""Numba kernels of batch normalisation (nn/batchnorm.py), one pass per sum.

Written with NumPy, a batch-norm step makes a temporary array for every term
of its formula (x - μ, its square, x̂, γ x̂, γ x̂ + β, m·dy, …): about ten trips
through memory for two or three that are needed. These kernels make the
necessary trips only: forward, one read for μ, one for σ², and one read with
one write (two when x̂ is kept for the backward pass); backward, one read for
Σ dy and Σ dy·x̂ and one read and write for ∂L/∂x. On the strip reader's first
batch norm (64 x 32 x 14 x 70) that took it from 4.41 to 1.57 ms forward and
from 4.08 to 1.21 ms backward (docs/measurements/layer-profile-readers-before-
kernels-2026-11-24.txt against layer-profile-2026-11-24.txt).

They serve BatchNorm2D only (BatchNorm1D's arrays are small; it stays NumPy).
The input is seen as (N, C, P), P = H·W. Each call handles the channels
c0 ≤ c < c1 of the whole batch, so nn's workers (nn/parallel.py) each take a
block of channels and never write to the same place.

Sums are accumulated in float64 whatever the input's type. The kernels that
sum allow the compiler one fast-math licence, re-association (``reassoc``),
so that it adds the terms of a sum in vector lanes; the order is fixed by the
compiled code, not by thread timing, so results repeat bit for bit on the same
machine (another CPU may use vector lanes of another width). ``normalize`` has no
sums and gets no licence: re-associated, γ·((x - μ)·inv_std) became
(γ·inv_std)·(x - μ), one rounding different from the formula, and the
shipped models' outputs moved in the last bits.
"""

import numpy as np
from numba import njit

_exact = {"cache": True, "nogil": True, "fastmath": False}
_sums = {"cache": True, "nogil": True, "fastmath": {"reassoc"}}


@njit(**_sums)
def channel_mean_var(x, c0, c1, mean, var):
    """mean[c] = μ and var[c] = σ² = mean((x - μ)²) over n and p, for c0 ≤ c < c1.

    x (N, C, P);  mean, var (C,) float64. Two passes (first μ, then the squared
    deviations from it) rather than Σx² - (Σx)²/m, which loses digits when
    |μ| is large against σ.
    """
    N, _, P = x.shape
    m = N * P
    for c in range(c0, c1):
        total = 0.0
        for n in range(N):
            row = x[n, c]
            for p in range(P):
                total += row[p]
        mu = total / m
        squares = 0.0
        for n in range(N):
            row = x[n, c]
            for p in range(P):
                d = row[p] - mu
                squares += d * d
        mean[c] = mu
        var[c] = squares / m


@njit(**_exact)
def normalize(x, mean, inv_std, gamma, beta, c0, c1, x_hat, y, keep_hat):
    """x̂ = (x - μ) · inv_std and y = γ x̂ + β per channel, for c0 ≤ c < c1.

    x, x_hat, y (N, C, P); mean, inv_std, gamma, beta (C,). x̂ is written only
    with ``keep_hat`` (the backward pass needs it; inference does not).
    """
    N, _, P = x.shape
    for c in range(c0, c1):
        mu, inv, g, b = mean[c], inv_std[c], gamma[c], beta[c]
        for n in range(N):
            src, dst, hat = x[n, c], y[n, c], x_hat[n, c]
            for p in range(P):
                h = (src[p] - mu) * inv
                dst[p] = g * h + b
                if keep_hat:
                    hat[p] = h


@njit(**_sums)
def normalize_backward(dy, x_hat, scale, c0, c1, training, dx, dgamma, dbeta):
    """The gradients of ``normalize`` for c0 ≤ c < c1 (see nn/batchnorm.py):

        dbeta[c]  = Σ dy            dgamma[c] = Σ dy · x̂
        dx = scale/m · (m·dy - dbeta - x̂·dgamma)    with batch statistics (training)
        dx = scale · dy                              with running averages

    dy, x_hat, dx (N, C, P); scale (C,) = γ · inv_std; dgamma, dbeta (C,) float64.
    """
    N, _, P = dy.shape
    m = N * P
    for c in range(c0, c1):
        sum_dy = 0.0
        sum_dy_hat = 0.0
        for n in range(N):
            g, hat = dy[n, c], x_hat[n, c]
            for p in range(P):
                sum_dy += g[p]
                sum_dy_hat += g[p] * hat[p]
        dbeta[c] = sum_dy
        dgamma[c] = sum_dy_hat
        k = scale[c]
        for n in range(N):
            g, hat, out = dy[n, c], x_hat[n, c], dx[n, c]
            if training:
                for p in range(P):
                    out[p] = k / m * (m * g[p] - sum_dy - hat[p] * sum_dy_hat)
            else:
                for p in range(P):
                    out[p] = k * g[p]


def as_channels(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → the (N, C, P = H·W) view the kernels take."""
    return a.reshape(a.shape[0], a.shape[1], -1)
