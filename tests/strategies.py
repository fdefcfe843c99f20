"""Hypothesis strategies for the nn tests: shapes, layer configurations and tensors.

In the spirit of minitorch's ``tensor_strategies.py``: a test asks for a *case*
(a frozen dataclass with the geometry of a layer and of its input) and builds
the tensors from the case's seed with NumPy. Drawing a seed rather than every
float keeps the examples cheap while Hypothesis still shrinks the geometry
(batch 1, one channel, the smallest image) when something fails.

Tensors for the non-smooth layers come from :func:`separated_values`: a random
permutation of distinct, well-separated, non-zero numbers, so a finite
difference step (1e-6) can neither cross a ReLU kink (|x| >= margin) nor change
which input of a pooling window is the largest (gaps >= margin).
"""

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# ------------------------------------------------------------------ scalars

seeds = st.integers(0, 2**32 - 1)
batch_sizes = st.integers(1, 3)          # 1 included: a batch of one must work too
channel_counts = st.integers(1, 3)
strides = st.integers(1, 2)
paddings = st.sampled_from([0, 1, 2, "same"])

# Finite values of moderate size: logits, projections, hand-written inputs.
moderate_floats = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, width=64)


def arrays(shape: tuple[int, ...], elements=moderate_floats) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` whose entries Hypothesis draws (and shrinks) one by one."""
    return hnp.arrays(np.float64, shape, elements=elements)


# ------------------------------------------------------------------ tensors from seeds


def normal(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> np.ndarray:
    """Standard normal float64 tensor (times ``scale``) from ``seed``."""
    return scale * np.random.default_rng(seed).standard_normal(shape)


def separated_values(shape: tuple[int, ...], seed: int, spacing: float | None = None
                     ) -> np.ndarray:
    """A random permutation of distinct non-zero multiples of ``spacing``.

    The values are k * spacing for k in {-a, ..., -1, 1, ..., b} (a + b = size),
    so every |x| >= spacing and any two entries differ by >= spacing. The
    default spacing 2 / size keeps the values within [-1, 1]; for the small
    tensors of these tests it is >= 1e-3, a thousand times the finite-difference
    step.
    """
    size = int(np.prod(shape))
    if spacing is None:
        spacing = 2.0 / max(size, 1)
    a = size // 2
    ks = np.concatenate([np.arange(-a, 0), np.arange(1, size - a + 1)]).astype(np.float64)
    return np.random.default_rng(seed).permutation(ks).reshape(shape) * spacing


def margin_of(x: np.ndarray) -> float:
    """The smallest |x| and the smallest gap between two entries (what separated_values ensures)."""
    v = np.sort(x.reshape(-1))
    gaps = np.diff(v)
    return float(min(np.abs(v).min(), gaps.min() if gaps.size else np.inf))


# ------------------------------------------------------------------ layer cases


@dataclass(frozen=True)
class ConvCase:
    N: int
    C: int
    F: int
    H: int
    W: int
    kernel: tuple[int, int]
    stride: int
    padding: int | str
    seed: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.C, self.H, self.W)

    @property
    def kernel_size(self) -> int | tuple[int, int]:
        """An int for square kernels (the usual call), the pair otherwise."""
        kh, kw = self.kernel
        return kh if kh == kw else self.kernel


@st.composite
def conv_cases(draw, max_size: int = 7, max_kernel: int = 4, square_only: bool = False
               ) -> ConvCase:
    """A Conv2D geometry whose output has at least one pixel.

    Kernel 1..max_kernel (even ones too, also with "same" padding), stride 1-2,
    padding 0, 1, 2 or "same", and H, W from the smallest that fits up to
    ``max_size`` (odd sizes included). Mostly square kernels, sometimes kh != kw.
    """
    kh = draw(st.integers(1, max_kernel))
    kw = kh if square_only else draw(st.one_of(st.just(kh), st.integers(1, max_kernel)))
    padding = draw(paddings)
    pad = 0 if padding == "same" else padding
    H = draw(st.integers(max(1, kh - 2 * pad), max(max_size, kh)))
    W = draw(st.integers(max(1, kw - 2 * pad), max(max_size, kw)))
    return ConvCase(N=draw(batch_sizes), C=draw(channel_counts), F=draw(channel_counts),
                    H=H, W=W, kernel=(kh, kw), stride=draw(strides), padding=padding,
                    seed=draw(seeds))


@dataclass(frozen=True)
class PoolCase:
    N: int
    C: int
    H: int
    W: int
    kernel: int
    stride: int | None          # None: the layer's default (stride = kernel)
    seed: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.C, self.H, self.W)

    @property
    def effective_stride(self) -> int:
        return self.kernel if self.stride is None else self.stride


@st.composite
def pool_cases(draw, max_size: int = 7, max_kernel: int = 3) -> PoolCase:
    """MaxPool2D geometry: kernel 1..3, stride default / 1..3 (overlapping windows
    and skipped pixels both occur), H, W >= kernel, odd sizes included."""
    k = draw(st.integers(1, max_kernel))
    return PoolCase(N=draw(batch_sizes), C=draw(channel_counts),
                    H=draw(st.integers(k, max_size)), W=draw(st.integers(k, max_size)),
                    kernel=k, stride=draw(st.one_of(st.none(), st.integers(1, 3))),
                    seed=draw(seeds))


@dataclass(frozen=True)
class DenseCase:
    N: int
    D_in: int
    D_out: int
    seed: int


@st.composite
def dense_cases(draw) -> DenseCase:
    return DenseCase(N=draw(st.integers(1, 4)), D_in=draw(st.integers(1, 6)),
                     D_out=draw(st.integers(1, 5)), seed=draw(seeds))


@st.composite
def image_shapes(draw, max_size: int = 5, min_values_per_channel: int = 1
                 ) -> tuple[int, int, int, int]:
    """(N, C, H, W) with at least ``min_values_per_channel`` values per channel."""
    N, C = draw(batch_sizes), draw(channel_counts)
    H, W = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    if N * H * W < min_values_per_channel:
        N = min_values_per_channel          # keeps the draw valid without filtering
    return (N, C, H, W)


@st.composite
def matrix_shapes(draw, min_rows: int = 1, max_rows: int = 5, max_cols: int = 5
                  ) -> tuple[int, int]:
    return (draw(st.integers(min_rows, max_rows)), draw(st.integers(1, max_cols)))
