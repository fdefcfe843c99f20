"""Check a backward pass against finite differences.

For any layer or model f, pick a fixed random tensor R of the output's shape
and the scalar L(x, θ) = Σ R ⊙ f(x; θ). Its exact gradient is what
``backward(R)`` returns (∂L/∂x) and leaves in ``grads`` (∂L/∂θ). The central
difference approximates each entry independently:

    ∂L/∂u ≈ (L(u + ε) - L(u - ε)) / 2ε         error O(ε²) for smooth f

The two are compared by relative error  ‖a - n‖ / max(‖a‖, ‖n‖, floor)  per
array, in float64, where ε = 1e-6 leaves an error near 1e-10 for smooth layers.

The floor is for gradients that are small because their terms cancel (a
weight that sees two input pixels: x₁R₁ + x₂R₂ ≈ 0). L is computed with a
rounding error of about ε_mach·‖R ⊙ f‖, so each difference quotient is good
to only δ = ε_mach·‖R ⊙ f‖/ε, however small the gradient (measured: the
differences' errors are 0.5-1 δ). An array of k entries is therefore judged
against at least  floor = √k·δ / RESOLVED: rounding noise alone then scores
about RESOLVED = 1e-7, a tenth of the usual threshold of 1e-6, while a real
mistake, far above δ, still shows. For gradients well above the noise (nearly
all) the floor changes nothing.
"""

from collections.abc import Callable

import numpy as np

from .layer import Layer
from .models import Model


def numerical_gradient(f: Callable[[], float], u: np.ndarray, eps: float = 1e-6,
                       indices: np.ndarray | None = None) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to the array ``u``, in place.

    ``u`` is perturbed in place and restored. With ``indices`` (flat positions)
    only those entries are estimated; the others are left at zero.
    """
    grad = np.zeros_like(u)
    flat_u, flat_g = u.reshape(-1), grad.reshape(-1)
    for t in range(u.size) if indices is None else indices:
        saved = flat_u[t]
        flat_u[t] = saved + eps
        up = f()
        flat_u[t] = saved - eps
        down = f()
        flat_u[t] = saved
        flat_g[t] = (up - down) / (2 * eps)
    return grad


RESOLVED = 1e-7      # rounding noise in the differences counts as an error of about this


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    """‖a - b‖ / max(‖a‖, ‖b‖, floor); 0 if all three are 0."""
    scale = max(np.linalg.norm(a), np.linalg.norm(b), floor)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def gradcheck(module: Layer | Model, x: np.ndarray, training: bool = False, eps: float = 1e-6,
              seed: int = 0, max_entries: int | None = None) -> dict[str, float]:
    """Relative error of ``module``'s backward pass, for its input and each parameter.

    Returns {"input": err, "<param name>": err, …}. The module must hold float64
    parameters (``module.astype(np.float64)``); ``x`` is cast to float64.
    ``max_entries`` checks only that many randomly chosen entries of each array
    (for large models). Layers that draw random numbers in training (Dropout)
    must be checked in evaluation mode.
    """
    named = list(module.named_parameters()) if hasattr(module, "named_parameters") else []
    for name, layer, key in named:
        if layer.params[key].dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 parameters; {name} is "
                            f"{layer.params[key].dtype} (use module.astype(np.float64))")
    # A stream of its own: were R drawn like the test's x, R = x would make L
    # nearly constant for scale-free layers (batch norm) and the check meaningless.
    rng = np.random.default_rng((seed, 0x5EED))
    x = np.array(x, dtype=np.float64)
    out = module.forward(x, training)
    outputs = out if isinstance(out, list) else [out]
    projections = [rng.standard_normal(o.shape) for o in outputs]
    size = np.sqrt(sum(float(np.sum((o * p) ** 2)) for o, p in
                       zip(outputs, projections, strict=True)))           # ‖R ⊙ f‖
    resolution = np.finfo(np.float64).eps * size / eps                  # δ of a difference

    def loss() -> float:
        result = module.forward(x, training)
        results = result if isinstance(result, list) else [result]
        return float(sum(np.sum(r * p) for r, p in zip(results, projections, strict=True)))

    loss()                                   # the forward pass backward will use
    dx = module.backward(projections if isinstance(out, list) else projections[0])
    analytic = {"input": dx} | {name: layer.grads[key].copy() for name, layer, key in named}
    arrays = {"input": x} | {name: layer.params[key] for name, layer, key in named}

    errors = {}
    for name, u in arrays.items():
        picks = None
        if max_entries is not None and u.size > max_entries:
            picks = rng.choice(u.size, size=max_entries, replace=False)
        numeric = numerical_gradient(loss, u, eps, picks)
        a = analytic[name]
        if picks is not None:
            a, numeric = a.reshape(-1)[picks], numeric.reshape(-1)[picks]
        errors[name] = relative_error(a, numeric, np.sqrt(a.size) * resolution / RESOLVED)
    return errors
