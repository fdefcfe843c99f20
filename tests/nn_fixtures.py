"""Small networks the whole-model tests build: every layer type, in float64 for
gradient checks (tests/test_nn_models.py, tests/test_nn_serialize.py), and the
check of nn.gradcheck's answer that every gradient test uses."""

import numpy as np

import nn

GRAD_TOL = 1e-6     # relative error of a backward pass against central differences, float64


def assert_gradients_ok(errors: dict[str, float], params, tol: float = GRAD_TOL) -> None:
    """nn.gradcheck's ``errors`` cover the input and exactly the parameters ``params``
    (names), and every relative error is below ``tol``."""
    assert set(errors) == {"input", *params}, f"gradcheck checked {sorted(errors)}"
    bad = {name: err for name, err in errors.items() if not err < tol}   # `not <` catches NaN
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"


def small_cnn(K: int = 4, dtype=np.float64, seed: int = 0, C: int = 3) -> nn.Sequential:
    """conv → relu → pool → flatten → dense, for 1 x 7 x 7 images (7 → pool → 3)."""
    return nn.Sequential([
        nn.Conv2D(1, C, 3, padding="same", dtype=dtype, rng=seed),
        nn.ReLU(),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(C * 3 * 3, K, dtype=dtype, rng=seed + 1),
    ])


def deeper_cnn(dtype=np.float64, seed: int = 0) -> nn.Sequential:
    """Every layer type: a strided even-kernel conv, batch norm, overlapping pooling,
    dropout, two dense layers and batch norm 1-D; for 1 x 9 x 9 images."""
    return nn.Sequential([
        nn.Conv2D(1, 4, 2, stride=2, padding="same", dtype=dtype, rng=seed),    # 9 → 5
        nn.BatchNorm2D(4, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2D(2, stride=1),                                              # 5 → 4
        nn.Conv2D(4, 3, (2, 1), padding=1, dtype=dtype, rng=seed + 1),          # 4x4 → 5x6
        nn.Flatten(),
        nn.Dropout(0.3, rng=seed),
        nn.Dense(90, 6, dtype=dtype, rng=seed + 2),
        nn.BatchNorm1D(6, dtype=dtype),
        nn.ReLU(),
        nn.Dense(6, 3, dtype=dtype, rng=seed + 3),
    ])


def multihead(dtype=np.float64, seed: int = 0, sizes=(5, 3, 2)) -> nn.MultiHead:
    trunk = [nn.Conv2D(1, 3, 3, padding="same", dtype=dtype, rng=seed), nn.ReLU(),
             nn.MaxPool2D(2), nn.Flatten()]
    heads = []
    for k, K in enumerate(sizes):
        if k == 1:                                   # one head with a hidden layer of its own
            heads.append([nn.Dense(27, 4, dtype=dtype, rng=seed + 10 + k), nn.ReLU(),
                          nn.Dense(4, K, dtype=dtype, rng=seed + 20 + k)])
        else:
            heads.append(nn.Sequential([nn.Dense(27, K, dtype=dtype, rng=seed + 10 + k)]))
    return nn.MultiHead(trunk, heads)


def images(N: int, size: int, seed: int, dtype=np.float64) -> np.ndarray:
    """Pixel-like inputs in [0, 1), as the data loaders produce."""
    return np.random.default_rng(seed).random((N, 1, size, size)).astype(dtype)


def kink_margin(model: nn.Model, x: np.ndarray, training: bool = False) -> float:
    """How far the forward pass of ``x`` stays from the kinks of ReLU and max pooling.

    The smallest |z| over every ReLU input, and over every pooling window whose
    maximum is not 0 the gap between its largest and second-largest input. (Windows
    of zeros come after a ReLU that cut all of them: those stay 0 under a small
    change when the ReLU's own inputs are away from 0.) A finite difference with
    step ε moves every such value by about ε times the weights and inputs it is
    summed from, so a margin far above that means no difference crosses a kink.
    """
    margin = np.inf

    def walk(layers, h):
        nonlocal margin
        for layer in layers:
            if isinstance(layer, nn.ReLU):
                margin = min(margin, float(np.abs(h).min()))
            elif isinstance(layer, nn.MaxPool2D):
                k, s = layer.kernel_size, layer.stride
                N, C, H, W = h.shape
                for i in range(0, H - k + 1, s):
                    for j in range(0, W - k + 1, s):
                        window = np.sort(h[:, :, i:i + k, j:j + k].reshape(N, C, -1), axis=2)
                        top, second = window[..., -1], window[..., -2]
                        gaps = (top - second)[top != 0]
                        if gaps.size:
                            margin = min(margin, float(gaps.min()))
            h = layer.forward(h, training)
        return h

    if isinstance(model, nn.MultiHead):
        h = walk(model.trunk.layers, x)
        for head in model.heads:
            walk(head.layers, h)
    else:
        walk(model.layers, x)
    return margin
