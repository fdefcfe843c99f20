"""Batch normalisation (Ioffe & Szegedy 2015).

For each feature (a channel of an image batch), over the m values it takes in
the batch (m = N for BatchNorm1D, m = N·H·W for BatchNorm2D):

    μ = mean(x),  σ² = mean((x - μ)²),  x̂ = (x - μ) / sqrt(σ² + ε),  y = γ x̂ + β

Backward, with dy = ∂L/∂y (sums over the same m values):

    ∂L/∂β = Σ dy
    ∂L/∂γ = Σ dy · x̂
    ∂L/∂x = γ / (m · sqrt(σ² + ε)) · (m · dy - ∂L/∂β - x̂ · ∂L/∂γ)

The last line is the chain rule through μ and σ², which both depend on every x.

Training uses the batch statistics and updates running averages
(r ← (1 - momentum)·r + momentum·batch value, with the unbiased variance, as in
PyTorch); evaluation uses the running averages, so y is an affine function of x
and ∂L/∂x = dy · γ / sqrt(r_var + ε).
"""

import numpy as np

from . import norm_kernels, parallel
from .layer import Layer


class _BatchNorm(Layer):
    ndim: int                  # expected input rank

    def __init__(
        self,
        num_features: int,
        dtype: np.typing.DTypeLike = np.float32,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.add_param("gamma", np.ones(num_features, dtype))
        self.add_param("beta", np.zeros(num_features, dtype))
        self.buffers["running_mean"] = np.zeros(num_features, dtype)
        self.buffers["running_var"] = np.ones(num_features, dtype)

    def config(self) -> dict:
        return {"num_features": self.num_features, "dtype": str(self.dtype),
                "momentum": self.momentum, "eps": self.eps}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != self.ndim or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} got an input of shape {x.shape}")
        x = np.ascontiguousarray(x, self.dtype)
        if training:
            mean, var = self._mean_var(x)                                # (C,) float64
            m = x.size // self.num_features
            mom = self.momentum
            self.buffers["running_mean"] *= 1 - mom
            self.buffers["running_mean"] += mom * mean
            self.buffers["running_var"] *= 1 - mom
            self.buffers["running_var"] += mom * var * (m / max(m - 1, 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(self.dtype)
        mean = mean.astype(self.dtype)
        # x̂ is kept for the backward pass after a training step. Inference does
        # not write it; a backward pass after inference (gradient checks of the
        # evaluation mode) recomputes it from the cached input.
        y, x_hat = self._normalize(x, mean, inv_std, keep_hat=training)
        self._cache = (x_hat if training else x, mean, inv_std, training)
        return y

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray:
        kept, mean, inv_std, training = self._cache
        x_hat = kept if training else self._normalize(kept, mean, inv_std, keep_hat=True)[1]
        dy = np.ascontiguousarray(dy, self.dtype)
        scale = self.params["gamma"] * inv_std                           # γ / sqrt(σ² + ε)
        dx, dgamma, dbeta = self._gradients(dy, x_hat, scale, training)
        self.grads["beta"][...] = dbeta
        self.grads["gamma"][...] = dgamma
        return dx

    # The three steps, for each input layout: the statistics of a batch, the
    # normalisation (returns y and x̂; without ``keep_hat`` x̂ may be None, which
    # spares BatchNorm2D writing it), and
    # the gradients (∂L/∂x, ∂L/∂γ, ∂L/∂β) given scale = γ / sqrt(σ² + ε).

    def _mean_var(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _normalize(self, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                   keep_hat: bool) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _gradients(self, dy: np.ndarray, x_hat: np.ndarray, scale: np.ndarray,
                   training: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError


class BatchNorm1D(_BatchNorm):
    """Batch norm over the batch axis of an (N, D) input.

    Written with NumPy, line for line the formulas above: each step is a
    reduction down the columns of an (N, D) matrix, which NumPy runs along
    contiguous rows, and the arrays are small (a batch of dense-layer outputs).
    """
    ndim = 2

    def _mean_var(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = x.mean(axis=0, dtype=np.float64)
        centred = x - mean.astype(x.dtype)
        return mean, np.mean(centred * centred, axis=0, dtype=np.float64)

    def _normalize(self, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                   keep_hat: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x_hat = (x - mean) * inv_std
        return x_hat * self.params["gamma"] + self.params["beta"], x_hat

    def _gradients(self, dy: np.ndarray, x_hat: np.ndarray, scale: np.ndarray,
                   training: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dbeta = dy.sum(axis=0)
        dgamma = (dy * x_hat).sum(axis=0)
        if not training:
            return dy * scale, dgamma, dbeta
        m = len(dy)
        return scale / m * (m * dy - dbeta - x_hat * dgamma), dgamma, dbeta


class BatchNorm2D(_BatchNorm):
    """Batch norm per channel of an (N, C, H, W) input, over N, H and W.

    The sums run over N·H·W values per channel, too many for NumPy's
    temporaries to be cheap: the steps are Numba kernels (nn/norm_kernels.py)
    that read and write each array once per sum, on one block of channels per
    worker thread.
    """
    ndim = 4

    def _mean_var(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        C = self.num_features
        mean, var = np.empty(C), np.empty(C)
        xc = norm_kernels.as_channels(x)                                 # (N, C, H·W)
        self._per_channel(x.size, lambda c0, c1: norm_kernels.channel_mean_var(
            xc, c0, c1, mean, var))
        return mean, var

    def _normalize(self, x: np.ndarray, mean: np.ndarray, inv_std: np.ndarray,
                   keep_hat: bool) -> tuple[np.ndarray, np.ndarray | None]:
        y = np.empty_like(x)
        x_hat = np.empty_like(x) if keep_hat else None
        xc, yc = norm_kernels.as_channels(x), norm_kernels.as_channels(y)
        hc = yc if x_hat is None else norm_kernels.as_channels(x_hat)   # y: an unused stand-in
        gamma, beta = self.params["gamma"], self.params["beta"]
        self._per_channel(x.size, lambda c0, c1: norm_kernels.normalize(
            xc, mean, inv_std, gamma, beta, c0, c1, hc, yc, keep_hat))
        return y, x_hat

    def _gradients(self, dy: np.ndarray, x_hat: np.ndarray, scale: np.ndarray,
                   training: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        C = self.num_features
        dx = np.empty_like(dy)
        dgamma, dbeta = np.empty(C), np.empty(C)
        dyc, hc, dxc = (norm_kernels.as_channels(a) for a in (dy, x_hat, dx))
        self._per_channel(dy.size, lambda c0, c1: norm_kernels.normalize_backward(
            dyc, hc, scale, c0, c1, training, dxc, dgamma, dbeta))
        return dx, dgamma, dbeta

    def _per_channel(self, work: int, task) -> None:
        """task(c0, c1) on one block of channels per worker (nn/parallel.py), or on
        all of them on the calling thread when ``work`` (elements) is small."""
        C = self.num_features
        workers = parallel.num_threads() if work >= parallel.MIN_PARALLEL_WORK else 1
        parallel.run_workers_on(parallel.split(C, min(workers, C)),
                                lambda _w, c0, c1: task(c0, c1))
