"""2-D convolution as one matrix product (im2col).

Forward, for filter f, output pixel (oh, ow) of image n:

    y[n, f, oh, ow] = b[f] + Σ_{c,i,j} W[f, c, i, j] · x̃[n, c, oh·s + i - pt, ow·s + j - pl]

where x̃ is x extended by zeros outside the image and (pt, pl) the padding at
the top and left. Unfold every receptive field of x into one
column of a matrix X_col (C·kh·kw rows, N·Ho·Wo columns; see kernels.im2col).
Then the whole layer is a single matrix product, which BLAS runs at 60–83 % of
the machine's peak for the wide layers (less for thin first layers with few
rows C·kh·kw; docs/results.md):

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

from . import kernels, parallel
from .init import get_initializer
from .layer import Layer, RngLike, as_rng, check_input

# Bytes of X_col unfolded at a time (see Conv2D.chunk_size).
CHUNK_BYTES = 4 * 2**20
# Output pixels per image from which images are unfolded one at a time (see Conv2D.chunk_size).
ONE_IMAGE_PIXELS = 2048


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

    def chunk_size(self, C: int, P: int, n: int) -> int:
        """How many images to unfold at a time so that X_col stays in cache.

        The whole batch's X_col is large (800 x 31,360 floats = 100 MB for a
        5 x 5 convolution of 32 channels over 160 images of 14 x 14), and
        writing it to memory and reading it back costs as much as the matrix
        product itself. A few
        MB per chunk stays in the L2/L3 caches while the product still has
        thousands of columns, which keeps BLAS near its peak.

        An image with many output pixels (``ONE_IMAGE_PIXELS``, the first layers
        of a network) is a chunk of its own. Its products are wide enough for
        BLAS on their own, and a one-image chunk needs no change of layout:
        its rows of W_mat · X_col, one per filter, are already that image's
        (F, Ho·Wo) block of the output, so the product is written straight
        into y, and the backward pass reads ∂L/∂y where it lies.
        """
        if P >= ONE_IMAGE_PIXELS:
            return 1
        kh, kw = self.kernel_size
        bytes_per_image = C * kh * kw * P * self.dtype.itemsize
        return max(1, min(n, CHUNK_BYTES // bytes_per_image))

    def _padding_positions(self, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
        """kernels.padding_positions for this layer and an H x W input, computed once."""
        key = (H, W)
        if getattr(self, "_padding_key", None) != key:
            kh, kw = self.kernel_size
            _, _, pt, pl = self.geometry(H, W)
            self._padding_cache = kernels.padding_positions(kh, kw, pt, pl, H, W)
            self._padding_key = key
        return self._padding_cache

    def _unfold(self, x: np.ndarray, out: np.ndarray) -> None:
        """X_col of the images in x (B, C, H, W) into out (C·kh·kw, B·P)."""
        (kh, kw), s = self.kernel_size, self.stride
        Ho, Wo, pt, pl = self.geometry(x.shape[2], x.shape[3])
        if s == 1 and (Ho, Wo) == x.shape[2:]:
            positions, counts = self._padding_positions(x.shape[2], x.shape[3])
            kernels.im2col_same(x, kh, kw, pt, pl, positions, counts, out)
        else:
            kernels.im2col(x, kh, kw, s, pt, pl, Ho, Wo, out)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_input(x, 4, self, f"(N, {self.in_channels}, H, W)")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects {self.in_channels} input channels, got {x.shape[1]}")
        dtype = self.dtype
        x = np.ascontiguousarray(x, dtype)                                # (N, C, H, W)
        N, C, H, W = x.shape
        F = self.out_channels
        Ho, Wo, _, _ = self.geometry(H, W)
        P = Ho * Wo
        W_mat = self.params["W"].reshape(F, -1)                          # (F, C·kh·kw)
        K = W_mat.shape[1]
        y = np.empty((N, F, P), dtype)                                   # (N, F, Ho·Wo)

        def work(w: int, n0: int, n1: int) -> None:
            """Images n0..n1 of the batch, a chunk at a time, by worker w."""
            B = self.chunk_size(C, P, n1 - n0)
            cols_buf = self.workspace(f"cols{w}", (K * B * P,), dtype)
            y2d_buf = self.workspace(f"y2d{w}", (F * B * P,), dtype) if B > 1 else None
            for c0 in range(n0, n1, B):
                b = min(B, n1 - c0)
                cols = cols_buf[:K * b * P].reshape(K, b * P)            # X_col of the chunk
                self._unfold(x[c0:c0 + b], cols)
                if B == 1:                                  # already in y's layout
                    np.matmul(W_mat, cols, out=y[c0])
                    y[c0] += self.params["b"][:, None]
                    continue
                y2d = y2d_buf[:F * b * P].reshape(F, b * P)
                np.matmul(W_mat, cols, out=y2d)                          # W_mat · X_col
                kernels.rows_to_nchw_add_bias(y2d, self.params["b"], y[c0:c0 + b])

        self._per_worker(N, work)
        self._x = x
        return y.reshape(N, F, Ho, Wo)

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self._x
        N, C, H, W = x.shape
        F, (kh, kw), s = self.out_channels, self.kernel_size, self.stride
        Ho, Wo, pt, pl = self.geometry(H, W)
        P = Ho * Wo
        dtype = self.dtype
        dy = np.ascontiguousarray(dy, dtype).reshape(N, F, P)
        W_mat = self.params["W"].reshape(F, -1)
        K = W_mat.shape[1]
        dx = np.empty((N, C, H, W), dtype) if input_grad else None
        same = s == 1 and (Ho, Wo) == (H, W)

        def work(w: int, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
            """∂L/∂W and ∂L/∂b from images n0..n1, and their ∂L/∂x, by worker w."""
            B = self.chunk_size(C, P, n1 - n0)
            cols_buf = self.workspace(f"cols{w}", (K * B * P,), dtype)
            dy2d_buf = self.workspace(f"dy2d{w}", (F * B * P,), dtype) if B > 1 else None
            dcols_buf = self.workspace(f"dcols{w}", (K * B * P,), dtype)
            dW_part = np.zeros((K, F), dtype)                            # (∂L/∂W_mat)ᵀ
            db_part = np.zeros(F, dtype)
            dW_chunk = self.workspace(f"dW{w}", (K, F), dtype)
            for c0 in range(n0, n1, B):
                b = min(B, n1 - c0)
                cols = cols_buf[:K * b * P].reshape(K, b * P)
                self._unfold(x[c0:c0 + b], cols)            # recomputing X_col beats storing it
                if B == 1:                                  # G is dy[c0] as it lies
                    dy2d = dy[c0]
                    db_part += dy2d.sum(axis=1, dtype=np.float64)
                else:
                    dy2d = dy2d_buf[:F * b * P].reshape(F, b * P)        # G of the chunk
                    kernels.nchw_to_rows_add_sum(dy[c0:c0 + b], dy2d, db_part)
                # (G · X_colᵀ)ᵀ = X_col · Gᵀ: the same numbers, but BLAS runs this
                # orientation 10-50% faster for these shapes (measured).
                np.matmul(cols, dy2d.T, out=dW_chunk)
                dW_part += dW_chunk
                if input_grad:
                    dcols = dcols_buf[:K * b * P].reshape(K, b * P)
                    np.matmul(W_mat.T, dy2d, out=dcols)                  # W_matᵀ · G
                    if same:
                        positions, counts = self._padding_positions(H, W)
                        kernels.col2im_same(dcols, kh, kw, pt, pl, positions, counts,
                                            dx[c0:c0 + b])
                    else:
                        kernels.col2im(dcols, kh, kw, s, pt, pl, Ho, Wo, dx[c0:c0 + b])
            return dW_part, db_part

        parts = self._per_worker(N, work)
        self.grads["W"][...] = sum(p[0] for p in parts).T.reshape(self.grads["W"].shape)
        self.grads["b"][...] = sum(p[1] for p in parts)
        return dx

    def _per_worker(self, N: int, work):
        """Run work(w, n0, n1) on one contiguous slice of the batch per worker."""
        pieces = parallel.split(N, min(parallel.num_threads(), N))
        return parallel.run_workers_on(pieces, work)
