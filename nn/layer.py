"""The contract every layer keeps.

A layer is a function y = f(x; θ) that can also run backwards:

    y  = layer.forward(x, training=False)   # remembers what backward needs
    dx = layer.backward(dy)                 # dy = ∂L/∂y  →  dx = ∂L/∂x, and fills layer.grads

``layer.params`` and ``layer.grads`` are dicts with the same keys and shapes:
``grads[k]`` holds ∂L/∂params[k] after ``backward``. Their arrays are updated
in place; only ``astype`` replaces them (the optimizers look them up by layer
and key at every step, so they follow). Non-trainable
state that must be saved with the model (BatchNorm's running averages) lives in
``layer.buffers``.

A layer with parameters computes in their dtype and casts its input to it;
a layer without (ReLU, pooling, dropout, Flatten) keeps its input's dtype.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np

RngLike = np.random.Generator | int | None


def as_rng(rng: RngLike) -> np.random.Generator:
    """A ``np.random.Generator`` from a seed, a Generator, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


class Layer:
    """Base class: parameters, their gradients, and the forward/backward contract."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._workspace: dict[str, np.ndarray] = {}

    # -- the contract ---------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Return ∂L/∂x and fill ``self.grads``.

        ``input_grad=False`` says nobody needs ∂L/∂x (the first layer of a
        network); layers for which it is expensive skip it and return None.
        """
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON values, that rebuild this layer."""
        return {}

    # -- helpers shared by all layers ---------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        for p in self.params.values():
            return p.dtype
        return getattr(self, "_dtype", np.dtype(np.float32))

    def add_param(self, name: str, value: np.ndarray) -> None:
        """Register a trainable array and a zeroed gradient of the same shape."""
        if value.dtype not in (np.float32, np.float64):
            raise ValueError(f"{type(self).__name__} computes in float32 or float64, "
                             f"not {value.dtype}")
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, "Layer", str]]:
        """Yield (qualified name, layer, key) for every trainable array."""
        for key in self.params:
            yield prefix + key, self, key

    def named_arrays(self, prefix: str = "") -> Iterator[tuple[str, dict[str, np.ndarray], str]]:
        """Yield (qualified name, dict, key) for every array a saved model must hold."""
        for key in self.params:
            yield prefix + key, self.params, key
        for key in self.buffers:
            yield prefix + key, self.buffers, key

    def astype(self, dtype: np.typing.DTypeLike) -> "Layer":
        """Convert parameters, gradients and buffers to ``dtype`` in place; return self."""
        for store in (self.params, self.grads, self.buffers):
            for key, value in store.items():
                if np.issubdtype(value.dtype, np.floating):
                    store[key] = value.astype(dtype)
        self._dtype = np.dtype(dtype)
        self._workspace.clear()
        return self

    def workspace(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A scratch array kept between calls.

        Large temporaries (a convolution's X_col chunks, a few MB per worker)
        are reused rather than allocated every step: a fresh allocation of that
        size is a fresh mmap, and touching it page-faults one 4 KiB page at a
        time. The contents are undefined on return; what a forward pass writes
        there for its backward pass (MaxPool2D's argmax) stays until the next
        forward pass asks for the same name.
        """
        buf = self._workspace.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.empty(shape, dtype)
            self._workspace[name] = buf
        return buf

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def check_input(x: np.ndarray, ndim: int, layer: Layer, what: str) -> None:
    """Raise a ValueError that names the layer when ``x`` has the wrong number of axes."""
    if x.ndim != ndim:
        raise ValueError(f"{layer!r} expects {what}, got an array of shape {x.shape}")
