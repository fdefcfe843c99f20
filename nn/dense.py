"""Fully connected layer and the reshape that feeds it.

Dense, for a batch x of shape (N, D_in):

    y = x · W + b                    W: (D_in, D_out),  b: (D_out,)

Backward, given dy = ∂L/∂y of shape (N, D_out):

    ∂L/∂W = xᵀ · dy                  (D_in, D_out)
    ∂L/∂b = Σ_n dy[n]                (D_out,)
    ∂L/∂x = dy · Wᵀ                  (N, D_in)

Flatten turns (N, C, H, W) into (N, C·H·W) and back; it has no parameters.
"""

import numpy as np

from . import parallel
from .init import get_initializer
from .layer import Layer, RngLike, as_rng, check_input


class Dense(Layer):
    def __init__(
        self,
        in_features: int,
        out_features: int,
        dtype: np.typing.DTypeLike = np.float32,
        init: str = "glorot_uniform",
        rng: RngLike = None,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.init = in_features, out_features, init
        shape = (in_features, out_features)
        self.add_param("W", get_initializer(init)(shape, as_rng(rng), dtype))
        self.add_param("b", np.zeros(out_features, dtype))

    def config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "dtype": str(self.dtype),
            "init": self.init,
        }

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_input(x, 2, self, f"(N, {self.in_features})")
        if x.shape[1] != self.in_features:
            raise ValueError(f"{self!r} expects {self.in_features} features, got {x.shape[1]}")
        x = np.asarray(x, self.dtype)
        self._x = x                                                   # (N, D_in)
        y = parallel.matmul(x, self.params["W"])                      # (N, D_out)
        y += self.params["b"]
        return y

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dy = np.asarray(dy, self.dtype)                               # (N, D_out)
        parallel.matmul(self._x.T, dy, out=self.grads["W"])
        np.sum(dy, axis=0, out=self.grads["b"])
        if not input_grad:
            return None
        return parallel.matmul(dy, self.params["W"].T)                # (N, D_in)


class Flatten(Layer):
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray:
        return dy.reshape(self._shape)
