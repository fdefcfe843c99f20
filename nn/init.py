"""Weight initialisers.

A weight tensor W connects ``fan_in`` inputs to ``fan_out`` outputs (for a
convolution both include the kernel area: fan_in = C·kh·kw, fan_out = F·kh·kw).

* Glorot/Xavier uniform (Glorot & Bengio 2010): W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)),
  which keeps the variance of activations and of gradients roughly equal across
  layers for symmetric activations. This is what the reference notebook used.
* He normal (He et al. 2015): W ~ N(0, 2 / fan_in), which compensates for ReLU
  zeroing half its inputs.

Biases start at zero.
"""

import math
from collections.abc import Callable

import numpy as np


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a Dense (in, out) or Conv2D (F, C, kh, kw) weight shape."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator,
                   dtype: np.typing.DTypeLike = np.float32) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.typing.DTypeLike = np.float32) -> np.ndarray:
    fan_in, _ = fans(shape)
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
}


def get_initializer(name: str) -> Callable[..., np.ndarray]:
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown initializer {name!r}; choose from {sorted(INITIALIZERS)}") from None
