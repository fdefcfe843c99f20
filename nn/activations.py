"""ReLU: y = max(x, 0).

Backward: the derivative is 1 where x > 0 and 0 where x < 0 (at x = 0 we take 0,
as every framework does), so ∂L/∂x = ∂L/∂y · [y > 0]. Only the output is kept
for the backward pass: y > 0 exactly where x > 0.
"""

import numpy as np

from . import kernels, parallel
from .layer import Layer


class ReLU(Layer):
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(x)
        y = np.empty_like(x)
        flat_x, flat_y = x.reshape(-1), y.reshape(-1)
        parallel.over_batch(x.size, x.size,
                            lambda a, b: kernels.relu_forward(flat_x[a:b], flat_y[a:b]))
        self._y = y
        return y

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray:
        dy = np.ascontiguousarray(dy, self._y.dtype)
        dx = np.empty_like(dy)
        flat_dy, flat_y, flat_dx = dy.reshape(-1), self._y.reshape(-1), dx.reshape(-1)
        parallel.over_batch(dy.size, dy.size, lambda a, b: kernels.relu_backward(
            flat_dy[a:b], flat_y[a:b], flat_dx[a:b]))
        return dx
