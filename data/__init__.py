"""Datasets and synthetic number strips as NumPy arrays.

This package knows nothing about neural networks.  It finds the data folder
(``paths``), downloads and validates MNIST (``mnist``), reads notMNIST
(``notmnist``), cuts each dataset into train / validation / test character
pools (``pools``) and turns a pool into 28 x 140 number strips (``strips``).
For house numbers it reads SVHN (``svhn``: the project's 64 x 64 format-1
crops and splits; ``svhn_official``: the official .mat and format-1 files)
and draws synthetic ones (``housenumbers``, with ``glyphs``, ``render`` and
``scenery``).
Every problem with a file on disk is raised as a one-line ``DataError``.
"""

from data.download import DownloadError, fetch
from data.errors import DataError
from data.mnist import MnistData, load_mnist, mnist_splits
from data.notmnist import NotMnistData, load_notmnist, notmnist_splits
from data.paths import DATA_DIR_ENV_VAR, dataset_dir, downloads_allowed, resolve_data_dir
from data.pools import Pool, SplitPools
from data.strips import (
    BLANK,
    LAYOUTS,
    MAX_LENGTH,
    STRIP_HEIGHT,
    STRIP_WIDTH,
    StripStream,
    ink_boxes,
    make_fixed_strips,
    make_strips,
)

__all__ = [
    "BLANK",
    "DATA_DIR_ENV_VAR",
    "LAYOUTS",
    "MAX_LENGTH",
    "STRIP_HEIGHT",
    "STRIP_WIDTH",
    "DataError",
    "DownloadError",
    "MnistData",
    "NotMnistData",
    "Pool",
    "SplitPools",
    "StripStream",
    "dataset_dir",
    "fetch",
    "ink_boxes",
    "load_mnist",
    "load_notmnist",
    "make_fixed_strips",
    "make_strips",
    "mnist_splits",
    "notmnist_splits",
    "downloads_allowed",
    "resolve_data_dir",
]
