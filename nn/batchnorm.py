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

from .layer import Layer


class _BatchNorm(Layer):
    axes: tuple[int, ...]      # axes reduced over
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

    def _shape(self, v: np.ndarray) -> np.ndarray:
        """Reshape a per-feature vector so it broadcasts against the input."""
        return v.reshape((1, -1) + (1,) * (self.ndim - 2))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != self.ndim or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} got an input of shape {x.shape}")
        x = np.asarray(x, self.dtype)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            m = x.size // self.num_features
            mean = x.mean(axis=self.axes)
            centred = x - self._shape(mean)
            var = np.mean(centred * centred, axis=self.axes)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            x_hat = centred * self._shape(inv_std)
            mom = self.momentum
            self.buffers["running_mean"] *= 1 - mom
            self.buffers["running_mean"] += mom * mean
            self.buffers["running_var"] *= 1 - mom
            self.buffers["running_var"] += mom * var * (m / max(m - 1, 1))
        else:
            inv_std = 1.0 / np.sqrt(self.buffers["running_var"] + self.eps)
            x_hat = (x - self._shape(self.buffers["running_mean"])) * self._shape(inv_std)
        self._cache = (x_hat, inv_std.astype(self.dtype), training)
        return x_hat * self._shape(gamma) + self._shape(beta)

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray:
        x_hat, inv_std, training = self._cache
        dy = np.asarray(dy, self.dtype)
        dbeta = dy.sum(axis=self.axes)
        dgamma = (dy * x_hat).sum(axis=self.axes)
        self.grads["beta"][...] = dbeta
        self.grads["gamma"][...] = dgamma
        scale = self._shape(self.params["gamma"] * inv_std)
        if not training:
            return dy * scale
        m = dy.size // self.num_features
        return scale / m * (m * dy - self._shape(dbeta) - x_hat * self._shape(dgamma))


class BatchNorm1D(_BatchNorm):
    """Batch norm over the batch axis of an (N, D) input."""
    axes, ndim = (0,), 2


class BatchNorm2D(_BatchNorm):
    """Batch norm per channel of an (N, C, H, W) input, over N, H and W."""
    axes, ndim = (0, 2, 3), 4
