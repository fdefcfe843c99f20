"""Optimizers: turn gradients into parameter updates, in place.

For every parameter θ with gradient g (after L2 weight decay λ, which adds
λ·θ to g for weight matrices and kernels — arrays with 2+ axes — and leaves
biases and batch-norm scales alone):

SGD with momentum μ (PyTorch's form; μ = 0 is plain SGD):

    v ← μ v + g
    θ ← θ - lr · v                   or, with Nesterov,   θ ← θ - lr · (g + μ v)

Adam (Kingma & Ba 2015), step t = 1, 2, …:

    m ← β₁ m + (1 - β₁) g,    v ← β₂ v + (1 - β₂) g²
    θ ← θ - lr · m̂ / (sqrt(v̂) + ε),    m̂ = m / (1 - β₁ᵗ),  v̂ = v / (1 - β₂ᵗ)

``lr`` is a number or a schedule (nn.schedules); ``step_count`` counts the
updates made so far and is what the schedule sees. ``state_dict()`` returns
plain named arrays, so optimizer state can go into a checkpoint .npz.
"""

from collections.abc import Callable

import numpy as np

from .models import Model
from .schedules import Constant


class Optimizer:
    def __init__(self, model: Model, lr: float | Callable[[int], float],
                 weight_decay: float = 0.0) -> None:
        self.entries = list(model.named_parameters())     # (name, layer, key)
        self.schedule = lr if callable(lr) else Constant(float(lr))
        self.weight_decay = weight_decay
        self.step_count = 0
        self.state: dict[str, np.ndarray] = {}

    @property
    def lr(self) -> float:
        """The rate the next step will use."""
        return self.schedule(self.step_count)

    def step(self) -> None:
        lr = self.lr
        for name, layer, key in self.entries:
            param, grad = layer.params[key], layer.grads[key]
            if self.weight_decay and param.ndim > 1:
                grad = grad + self.weight_decay * param
            self.update(name, param, grad, lr)
        self.step_count += 1

    def update(self, name: str, param: np.ndarray, grad: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def slot(self, name: str, like: np.ndarray) -> np.ndarray:
        """A zero-initialised per-parameter state array (a velocity, a moment)."""
        if name not in self.state:
            self.state[name] = np.zeros_like(like)
        return self.state[name]

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {f"optimizer/{k}": v for k, v in self.state.items()}
        out["optimizer/step_count"] = np.array(self.step_count)
        return out

    def load_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        self.step_count = int(arrays["optimizer/step_count"])
        self.state = {k.removeprefix("optimizer/"): v.copy() for k, v in arrays.items()
                      if k.startswith("optimizer/") and k != "optimizer/step_count"}


class SGD(Optimizer):
    def __init__(self, model: Model, lr: float | Callable[[int], float], momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(model, lr, weight_decay)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov

    def update(self, name: str, param: np.ndarray, grad: np.ndarray, lr: float) -> None:
        if self.momentum == 0:
            param -= param.dtype.type(lr) * grad
            return
        v = self.slot(name + ".velocity", param)
        v *= self.momentum
        v += grad
        step = grad + self.momentum * v if self.nesterov else v
        param -= param.dtype.type(lr) * step


class Adam(Optimizer):
    def __init__(self, model: Model, lr: float | Callable[[int], float] = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(model, lr, weight_decay)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def update(self, name: str, param: np.ndarray, grad: np.ndarray, lr: float) -> None:
        t = self.step_count + 1
        m = self.slot(name + ".m", param)
        v = self.slot(name + ".v", param)
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        m_hat_scale = 1.0 / (1 - self.beta1 ** t)
        v_hat_scale = 1.0 / (1 - self.beta2 ** t)
        param -= (lr * m_hat_scale) * m / (np.sqrt(v * v_hat_scale) + self.eps)
