"""Networks built from layers.

``Sequential`` chains layers: forward runs them in order, backward in reverse,
each passing ∂L/∂(its input) to the one before.

``MultiHead`` is a shared trunk feeding several heads — the shape of a reader
of numbers, say (one head per digit position, one for the length):

    h   = trunk(x)
    z_k = head_k(h)                  forward returns [z_1, …, z_K]

Because h feeds every head, its gradient is the sum over heads (the
multivariate chain rule):

    ∂L/∂h = Σ_k ∂L_k/∂h              backward takes [∂L/∂z_1, …, ∂L/∂z_K]
"""

from collections.abc import Iterator, Sequence

import numpy as np

from .layer import Layer


class Model:
    """What every model shares: its parts, their parameters, dtype, saving.

    A subclass lists its parts with names in ``parts()``: layers for a
    Sequential, Sequentials for a MultiHead. Parameter names are the paths to
    them ("trunk.0.W", "heads.2.1.b"), which is also how a saved file names its
    arrays.
    """

    metadata: dict

    def parts(self) -> list[tuple[str, "Layer | Model"]]:
        raise NotImplementedError

    def __call__(self, x: np.ndarray, training: bool = False):
        return self.forward(x, training)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Layer, str]]:
        for name, part in self.parts():
            yield from part.named_parameters(f"{prefix}{name}.")

    def named_arrays(self, prefix: str = "") -> Iterator[tuple[str, dict, str]]:
        for name, part in self.parts():
            yield from part.named_arrays(f"{prefix}{name}.")

    def astype(self, dtype: np.typing.DTypeLike) -> "Model":
        for _, part in self.parts():
            part.astype(dtype)
        return self

    def num_parameters(self) -> int:
        return sum(layer.params[key].size for _, layer, key in self.named_parameters())

    def save(self, path: str, metadata: dict | None = None) -> None:
        # serialize imports this module, so it is imported here, when first needed
        from .serialize import save
        save(self, path, metadata)


class Sequential(Model):
    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = list(layers)
        self.metadata = {}

    def parts(self) -> list[tuple[str, Layer]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate dy; ``input_grad=False`` lets the first layer skip ∂L/∂x."""
        for position in range(len(self.layers) - 1, -1, -1):
            dy = self.layers[position].backward(dy, input_grad=input_grad or position > 0)
        return dy

    def __repr__(self) -> str:
        inner = "".join(f"\n  {layer!r}," for layer in self.layers)
        return f"Sequential([{inner}\n])"


class MultiHead(Model):
    def __init__(self, trunk: Sequential | Sequence[Layer],
                 heads: Sequence[Sequential | Sequence[Layer]]) -> None:
        self.trunk = trunk if isinstance(trunk, Sequential) else Sequential(trunk)
        self.heads = [h if isinstance(h, Sequential) else Sequential(h) for h in heads]
        if not self.heads:
            raise ValueError("MultiHead needs at least one head")
        self.metadata = {}

    def parts(self) -> list[tuple[str, Sequential]]:
        return [("trunk", self.trunk)] + [(f"heads.{k}", h) for k, h in enumerate(self.heads)]

    def forward(self, x: np.ndarray, training: bool = False) -> list[np.ndarray]:
        h = self.trunk.forward(x, training)
        return [head.forward(h, training) for head in self.heads]

    def backward(self, dys: Sequence[np.ndarray], input_grad: bool = True) -> np.ndarray | None:
        if len(dys) != len(self.heads):
            raise ValueError(f"expected {len(self.heads)} gradients, one per head, got {len(dys)}")
        dh = self.heads[0].backward(dys[0])
        for head, dy in zip(self.heads[1:], dys[1:], strict=True):
            dh = dh + head.backward(dy)
        return self.trunk.backward(dh, input_grad)

    def __repr__(self) -> str:
        heads = "".join(f"\n  {h!r}," for h in self.heads)
        return f"MultiHead(trunk={self.trunk!r}, heads=[{heads}\n])"
