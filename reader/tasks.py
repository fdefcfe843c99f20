"""Tasks: which characters a reader learns, and the strips it trains and is tested on.

A task names a dataset of 28 x 28 characters, cut into three disjoint pools
(train / validation / test, ``data.SplitPools``), and the alphabet its ten
classes stand for. Strips are made from a pool by ``data.make_strips``:

* training batches are fresh every epoch and a pure function of
  (seed, epoch, step), so a resumed run sees exactly the data it would have
  seen (``TrainStrips``);
* validation and test sets are fixed, made with seeds that do not depend on
  the training seed, so every model is compared on the same strips
  (``fixed_strips``).

Layouts: ``canonical`` (the notebook's five slots), ``free`` (ink-cropped,
scaled, shifted characters anywhere in the strip) and ``mixed``: every batch is
half canonical, half free.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data import (
    StripStream,
    downloads_allowed,
    ink_boxes,
    make_fixed_strips,
    make_strips,
    mnist_splits,
    notmnist_splits,
)
from data.pools import Pool, SplitPools

TRAIN_LAYOUTS = ("canonical", "free", "mixed")
EVAL_LAYOUTS = ("canonical", "free")
VALIDATION_SEED = 1001        # fixed: validation strips do not depend on the training seed
TEST_SEED = 2002


def mnist_pools(data_dir: str | os.PathLike | None) -> SplitPools:
    """MNIST: train = first 50,000 training images, validation = last 10,000, test = test set.

    Missing files are downloaded only into the default folder (data.downloads_allowed).
    """
    return mnist_splits(data_dir, download=downloads_allowed(data_dir))


@dataclass(frozen=True)
class Task:
    name: str
    alphabet: str                                   # alphabet[c] is what class c stands for
    load: Callable[[str | os.PathLike | None], SplitPools]
    description: str


TASKS: dict[str, Task] = {
    "mnist-strips": Task("mnist-strips", "0123456789", mnist_pools,
                         "numbers of 1-5 MNIST digits"),
    "notmnist-strips": Task("notmnist-strips", "ABCDEFGHIJ", notmnist_splits,
                            "'numbers' of 1-5 notMNIST letters A-J"),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose from {', '.join(TASKS)}") from None


def load_pools(task: Task, data_dir: str | os.PathLike | None) -> SplitPools:
    """The task's three pools (raises data.DataError naming the file when data is missing)."""
    return task.load(Path(data_dir) if data_dir else None)


class MixedStream:
    """Like ``data.StripStream``, with each batch half canonical and half free.

    Batch ``step`` of ``epoch`` is drawn from ``np.random.default_rng([seed, epoch, step])``:
    the first ``batch_size // 2`` strips in the canonical layout, the rest free.
    """

    def __init__(self, pool: Pool, batch_size: int, seed: int, distort: bool = False) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.images, self.labels = pool.images, pool.labels
        self.boxes = ink_boxes(pool.images)                # (n, 4), computed once
        self.batch_size, self.seed, self.distort = batch_size, seed, distort

    def batch(self, epoch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch, step])
        half = self.batch_size // 2
        s1, l1 = make_strips(self.images, self.labels, half, rng, "canonical",
                             distort=self.distort)
        s2, l2 = make_strips(self.images, self.labels, self.batch_size - half, rng, "free",
                             self.boxes, self.distort)
        return np.concatenate([s1, s2]), np.concatenate([l1, l2])   # (B, 28, 140), (B, 5)


class TrainStrips:
    """Training batches of one layout (or ``mixed``), reproducible from (seed, epoch, step)."""

    def __init__(self, pool: Pool, layout: str, batch_size: int, steps_per_epoch: int,
                 seed: int, distort: bool = False) -> None:
        if layout not in TRAIN_LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; choose from {TRAIN_LAYOUTS}")
        if layout == "mixed":
            self.stream: StripStream | MixedStream = MixedStream(pool, batch_size, seed, distort)
        else:
            self.stream = StripStream(pool.images, pool.labels, batch_size, steps_per_epoch,
                                      seed, layout, distort)

    def batch(self, epoch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """strips (B, 28, 140) uint8 and labels (B, 5) int64 with 10 = blank."""
        return self.stream.batch(epoch, step)


Strips = tuple[np.ndarray, np.ndarray]       # (N, 28, 140) uint8 images, (N, 5) int64 labels


def fixed_strips(pool: Pool, count: int, seed: int,
                 layouts: tuple[str, ...] = EVAL_LAYOUTS) -> dict[str, Strips]:
    """A fixed evaluation set per layout: {layout: (strips (count, 28, 140), labels (count, 5))}.

    Each layout gets its own seed (``seed`` + its index), so the two sets are independent.
    """
    return {layout: make_fixed_strips(pool.images, pool.labels, count, seed + i, layout)
            for i, layout in enumerate(layouts)}
