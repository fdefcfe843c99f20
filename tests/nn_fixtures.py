"""Small networks the whole-model tests build: every layer type, in float64 for
gradient checks (tests/test_nn_models.py, tests/test_nn_serialize.py)."""

import numpy as np

import nn


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
