"""The networks of the speed benchmark, built with nn and with PyTorch.

The notebook's two reference networks:

* ``mnist_tower``: the reference notebook's MNIST-strip model. A 28 x 140 strip
  is cut into five 28 x 28 tiles that all go through one shared tower, so a
  batch of B strips is a batch of 5B tiles (N, 1, 28, 28):
  conv 5x5 1→32 same, ReLU, maxpool 2, conv 5x5 32→64 same, ReLU, maxpool 2,
  flatten 3136, dropout, dense 128, ReLU, dropout, dense 11; the five
  cross-entropies are one cross-entropy over the 5B tiles.
* ``svhn_cnn``: the notebook's SVHN model on (N, 3, 32, 32): four conv 4x4 same
  (16, 32, 64, 128 filters) each with ReLU and maxpool 2, flatten 512,
  dense 256, ReLU, dense 10.

And the two readers this project ships, built as train.py builds them:

* ``strip_reader``: the whole-strip reader of models/mnist-strips.npz
  (reader.models.build_strip): convolutions with batch norm on (N, 1, 28, 140),
  a dense layer of 1024, six heads.
* ``number_reader``: the house-number reader of models/svhn-numbers.npz
  (reader.svhn_models.build_number_reader): seven convolutions, six with batch
  norm, on (N, 3, 54, 54), a dense layer of 512, eight heads.
"""

from typing import TYPE_CHECKING

import numpy as np

import nn

if TYPE_CHECKING:                   # PyTorch is needed only to run the benchmark
    import torch


def mnist_tower(rng: int = 0, dropout: float = 0.5) -> nn.Sequential:
    return nn.Sequential([
        nn.Conv2D(1, 32, 5, padding="same", rng=rng), nn.ReLU(), nn.MaxPool2D(2),
        nn.Conv2D(32, 64, 5, padding="same", rng=rng + 1), nn.ReLU(), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dropout(dropout, rng=rng + 2),
        nn.Dense(3136, 128, rng=rng + 3), nn.ReLU(), nn.Dropout(dropout, rng=rng + 4),
        nn.Dense(128, 11, rng=rng + 5),
    ])


def svhn_cnn(rng: int = 0) -> nn.Sequential:
    layers: list[nn.Layer] = []
    channels = [3, 16, 32, 64, 128]
    for i in range(4):
        layers += [nn.Conv2D(channels[i], channels[i + 1], 4, padding="same", rng=rng + i),
                   nn.ReLU(), nn.MaxPool2D(2)]
    layers += [nn.Flatten(), nn.Dense(512, 256, rng=rng + 10), nn.ReLU(),
               nn.Dense(256, 10, rng=rng + 11)]
    return nn.Sequential(layers)


def strip_reader(rng: int = 0) -> nn.MultiHead:
    from reader.models import build_strip
    return build_strip(seed=rng, second_conv=True, hidden=1024)


def number_reader(rng: int = 0) -> nn.MultiHead:
    from reader.svhn_models import build_number_reader
    return build_number_reader(seed=rng, presence=True)


def head_classes(model: nn.MultiHead) -> list[int]:
    """The number of outputs of each head (its last dense layer)."""
    return [head.layers[-1].out_features for head in model.heads]


def torch_model(model: nn.Model) -> "torch.nn.Module":
    """The same network in PyTorch, with the same initial weights. A MultiHead
    becomes a module whose forward returns the list of its heads' outputs."""
    import torch

    if isinstance(model, nn.MultiHead):
        class MultiHead(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.trunk = torch_model(model.trunk)
                self.heads = torch.nn.ModuleList(torch_model(h) for h in model.heads)

            def forward(self, x: "torch.Tensor") -> list["torch.Tensor"]:
                h = self.trunk(x)
                return [head(h) for head in self.heads]
        return MultiHead()
    layers = []
    for layer in model.layers:
        if isinstance(layer, nn.Conv2D):
            conv = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                   stride=layer.stride, padding=layer.padding)
            conv.weight.data = torch.from_numpy(layer.params["W"].copy())
            conv.bias.data = torch.from_numpy(layer.params["b"].copy())
            layers.append(conv)
        elif isinstance(layer, nn.Dense):
            dense = torch.nn.Linear(layer.in_features, layer.out_features)
            dense.weight.data = torch.from_numpy(np.ascontiguousarray(layer.params["W"].T))
            dense.bias.data = torch.from_numpy(layer.params["b"].copy())
            layers.append(dense)
        elif isinstance(layer, nn.ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(layer, nn.MaxPool2D):
            layers.append(torch.nn.MaxPool2d(layer.kernel_size, layer.stride))
        elif isinstance(layer, nn.Flatten):
            layers.append(torch.nn.Flatten())
        elif isinstance(layer, nn.Dropout):
            layers.append(torch.nn.Dropout(layer.p))
        elif isinstance(layer, (nn.BatchNorm1D, nn.BatchNorm2D)):
            twin = (torch.nn.BatchNorm2d if isinstance(layer, nn.BatchNorm2D)
                    else torch.nn.BatchNorm1d)
            norm = twin(layer.num_features, eps=layer.eps, momentum=layer.momentum)
            norm.weight.data = torch.from_numpy(layer.params["gamma"].copy())
            norm.bias.data = torch.from_numpy(layer.params["beta"].copy())
            layers.append(norm)
        else:
            raise TypeError(f"no PyTorch twin for {layer!r}")
    return torch.nn.Sequential(*layers)
