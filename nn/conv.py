"""2-D convolution as one matrix product (im2col).

Forward, for filter f, output pixel (oh, ow) of image n:

    y[n, f, oh, ow] = b[f] + Σ_{c,i,j} W[f, c, i, j] · x̃[n, c, oh·s + i, ow·s + j]

where x̃ is x with zero padding. Unfold every receptive field of x into one
column of a matrix X_col (C·kh·kw rows, N·Ho·Wo columns; see kernels.im2col).
Then the whole layer is a single matrix product, which BLAS runs near the
machine's peak:

    Y = W_mat · X_col + b          W_mat: (F, C·kh·kw),   Y: (F, N·Ho·Wo)

Backward, given G = ∂L/∂Y (dy rearranged to (F, N·Ho·Wo)):

    ∂L/∂W_mat = G · X_colᵀ         (F, C·kh·kw)
    ∂L/∂b     = Σ over columns of G
    ∂L/∂X_col = W_matᵀ · G         (C·kh·kw, N·Ho·Wo)
    ∂L/∂x     = col2im(∂L/∂X_col)  — every column entry added back to the pixel it came from.

Padding is an int (the same on every side) or "same": output size ceil(H / s),
and when the total padding is odd the extra row/column goes after (bottom,
right), as TensorFlow does.
"""

import math

import numpy as np

from . import kernels
from .init import get_initializer
from .layer import Layer, RngLike, as_rng, check_input


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(output size, padding before, padding after) for "same" padding along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


class Conv2D(Layer):
    """Convolution of an (N, C, H, W) batch with F filters of shape (C, kh, kw)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | str = 0,
        dtype: np.typing.DTypeLike = np.float32,
        init: str = "glorot_uniform",
        rng: RngLike = None,
    ) -> None:
        super().__init__()
        if padding != "same" and not (isinstance(padding, int) and padding >= 0):
            raise ValueError(f"padding must be a non-negative int or 'same', got {padding!r}")
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride, self.padding, self.init = stride, padding, init
        kh, kw = self.kernel_size
        shape = (out_channels, in_channels, kh, kw)
        self.add_param("W", get_initializer(init)(shape, as_rng(rng), dtype))
        self.add_param("b", np.zeros(out_channels, dtype))

    def config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": self.stride,
            "padding": self.padding,
            "dtype": str(self.dtype),
            "init": self.init,
        }

    def geometry(self, H: int, W: int) -> tuple[int, int, int, int]:
        """(Ho, Wo, pad_top, pad_left) for an H x W input."""
        (kh, kw), s = self.kernel_size, self.stride
        if self.padding == "same":
            Ho, pt, _ = same_padding(H, kh, s)
            Wo, pl, _ = same_padding(W, kw, s)
        else:
            p = self.padding
            Ho, Wo, pt, pl = (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1, p, p
        if Ho < 1 or Wo < 1:
            raise ValueError(f"{self!r}: input {H}x{W} is smaller than the kernel")
        return Ho, Wo, pt, pl

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_input(x, 4, self, f"(N, {self.in_channels}, H, W)")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects {self.in_channels} input channels, got {x.shape[1]}")
        dtype = self.dtype
        x = np.ascontiguousarray(x, dtype)
        N, C, H, W = x.shape
        F, (kh, kw), s = self.out_channels, self.kernel_size, self.stride
        Ho, Wo, pt, pl = self.geometry(H, W)
        P = Ho * Wo

        cols = self.workspace("cols", (C * kh * kw, N * P), dtype)       # (C·kh·kw, N·P)
        kernels.im2col(x, kh, kw, s, pt, pl, Ho, Wo, cols)
        y2d = self.workspace("y2d", (F, N * P), dtype)                   # (F, N·P)
        np.matmul(self.params["W"].reshape(F, -1), cols, out=y2d)
        y = np.empty((N, F, Ho, Wo), dtype)                              # (N, F, Ho, Wo)
        kernels.rows_to_nchw_add_bias(y2d, self.params["b"], y.reshape(N, F, P))
        self._cache = (x.shape, Ho, Wo, pt, pl)
        return y

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        (N, C, H, W), Ho, Wo, pt, pl = self._cache
        F, (kh, kw), s = self.out_channels, self.kernel_size, self.stride
        dtype = self.dtype
        dy = np.ascontiguousarray(dy, dtype).reshape(N, F, Ho * Wo)
        cols = self._workspace["cols"]                                   # still X_col from forward

        dy2d = self.workspace("dy2d", (F, N * Ho * Wo), dtype)           # G: (F, N·P)
        kernels.nchw_to_rows_sum(dy, dy2d, self.grads["b"])
        np.matmul(dy2d, cols.T, out=self.grads["W"].reshape(F, -1))      # G · X_colᵀ
        if not input_grad:
            return None
        dcols = self.workspace("dcols", cols.shape, dtype)               # (C·kh·kw, N·P)
        np.matmul(self.params["W"].reshape(F, -1).T, dy2d, out=dcols)    # W_matᵀ · G
        dx = np.empty((N, C, H, W), dtype)
        kernels.col2im(dcols, kh, kw, s, pt, pl, Ho, Wo, dx)
        return dx
