"""Inverted dropout (Srivastava et al. 2014), with p = probability of dropping a unit.

Training: draw a mask m with m = 1/(1-p) with probability 1-p and 0 otherwise,

    y = x ⊙ m,        ∂L/∂x = ∂L/∂y ⊙ m.

E[m] = 1, so the expected activation is unchanged and evaluation needs no
rescaling: outside training the layer is the identity.
"""

import numpy as np

from .layer import Layer, RngLike, as_rng


class Dropout(Layer):
    def __init__(self, p: float = 0.5, rng: RngLike = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout p must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = as_rng(rng)

    def config(self) -> dict:
        return {"p": self.p}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.p == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self._mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self._mask

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray:
        return dy if self._mask is None else dy * self._mask
