"""Max pooling.

Forward: each output is the largest input in its k x k window,

    y[n, c, oh, ow] = max_{i,j < k} x[n, c, oh·s + i, ow·s + j].

Windows that would run past the edge are dropped (Ho = (H - k) // s + 1), as in
PyTorch and TensorFlow's "valid" pooling.

Backward: max is piecewise the identity on the winning input, so

    ∂L/∂x[n, c, h, w] = Σ over windows whose arg-max is (h, w) of ∂L/∂y[n, c, oh, ow].

Ties go to one input only, the first maximum in row-major order.
"""

import numpy as np

from . import kernels, parallel
from .layer import Layer, check_input


class MaxPool2D(Layer):
    def __init__(self, kernel_size: int = 2, stride: int | None = None) -> None:
        super().__init__()
        if not 1 <= kernel_size <= 15:
            raise ValueError(f"kernel_size must be between 1 and 15, got {kernel_size}")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")

    def config(self) -> dict:
        return {"kernel_size": self.kernel_size, "stride": self.stride}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_input(x, 4, self, "(N, C, H, W)")
        x = np.ascontiguousarray(x)
        N, C, H, W = x.shape
        k, s = self.kernel_size, self.stride
        if H < k or W < k:
            raise ValueError(f"{self!r}: input {H}x{W} is smaller than the window")
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        y = np.empty((N, C, Ho, Wo), x.dtype)
        # where each window's maximum lies (i·k + j < 225), for backward; reused between
        # steps like any workspace, and held here so that it outlives astype's clearing
        argmax = self._argmax = self.workspace("argmax", (N, C, Ho, Wo), np.dtype(np.uint8))
        if k == s == 2:
            parallel.over_batch(N, x.size, lambda a, b: kernels.maxpool2x2_forward(
                x[a:b], y[a:b], argmax[a:b]))
        else:
            parallel.over_batch(N, x.size, lambda a, b: kernels.maxpool_forward(
                x[a:b], k, s, y[a:b], argmax[a:b]))
        self._input_shape = x.shape
        return y

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray:
        dy = np.ascontiguousarray(dy)
        dx = np.empty(self._input_shape, dy.dtype)
        argmax, k, s = self._argmax, self.kernel_size, self.stride
        if k == s == 2:
            parallel.over_batch(len(dx), dx.size, lambda a, b: kernels.maxpool2x2_backward(
                dy[a:b], argmax[a:b], dx[a:b]))
        else:
            parallel.over_batch(len(dx), dx.size, lambda a, b: kernels.maxpool_backward(
                dy[a:b], argmax[a:b], k, s, dx[a:b]))
        return dx
