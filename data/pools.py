"""Character pools: the images a split may draw its characters from.

A *pool* is a set of 28 x 28 character images with their class labels.  Every
dataset is cut into three pools, ``train``, ``validation`` and ``test``, and
the strip generator draws the characters of a split from that split's pool
only, so an image seen in training never appears in a validation or test strip.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pool:
    """Character images and their labels.

    images: (n, 28, 28) uint8, 0 = background, 255 = full ink
    labels: (n,) uint8, class indices 0..9
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.labels.shape != self.images.shape[:1]:
            raise ValueError(
                f"pool needs images (n, h, w) and labels (n,), got {self.images.shape} "
                f"and {self.labels.shape}"
            )

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class SplitPools:
    """The three disjoint pools of one dataset."""

    train: Pool
    validation: Pool
    test: Pool
