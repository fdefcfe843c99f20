"""nn — a small convolutional-network library in NumPy and Numba.

Every layer has ``forward(x, training=False)`` and ``backward(dy)``; parameters
and their gradients live in ``layer.params`` / ``layer.grads``. See docs/nn.md
for the mathematics of each layer and why the kernels are fast.
"""

from . import init, kernels, schedules
from .activations import ReLU
from .batchnorm import BatchNorm1D, BatchNorm2D
from .conv import Conv2D
from .dense import Dense, Flatten
from .dropout import Dropout
from .gradcheck import gradcheck, numerical_gradient, relative_error
from .layer import Layer
from .losses import SoftmaxCrossEntropy
from .models import Model, MultiHead, Sequential
from .optim import SGD, Adam, Optimizer
from .pool import MaxPool2D
from .schedules import Constant, ExponentialDecay, StepDecay, WarmupCosine
from .serialize import ModelFileError, load, save

__all__ = [
    "Adam", "BatchNorm1D", "BatchNorm2D", "Constant", "Conv2D", "Dense", "Dropout",
    "ExponentialDecay", "Flatten", "Layer", "MaxPool2D", "Model", "ModelFileError",
    "MultiHead", "Optimizer", "ReLU", "SGD", "Sequential", "SoftmaxCrossEntropy", "StepDecay",
    "WarmupCosine", "gradcheck", "init", "kernels", "load", "numerical_gradient",
    "relative_error", "save", "schedules",
]
