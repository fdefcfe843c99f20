"""Which SVHN images train, validate and test, and the batches the SVHN readers learn from.

**Protocols** (the splits are in ``svhn/splits``, see data.svhn):

* ``pooled``: train on ``train_real`` (train 1-2,000) + ``test_pool`` (the test
  images whose number is not divisible by 3), test on ``test_holdout`` (the
  4,356 whose number is), and on those of them in ``test_strict``. The
  shipped model.
* ``literature``: train on ``train_real`` (and synthetic images) with no test
  images, test on the whole test split
  (13,068 images; 26,032 digits) and on ``test_strict`` (file name certain).

People who have the official format-1 training archive can put it at
``svhn/official/train.tar.gz``: it then replaces ``train_real`` (all 33,402
training images instead of the first 2,000; data.svhn_official.load_format1).

Either way every tenth training image (in file order) is held out for
validation, which is what every choice is made on; the test images are for
final figures only.

**Batches.** Batch (epoch, step) is a pure function of (seed, epoch, step),
so a resumed run sees the same data. Real and synthetic images are mixed in a
fixed share, ``train.py --synthetic-share`` (default 1/2), however many of
each there are: the synthetic ones outnumber the real ones many times (the
digit classifier's 4,002 real training digits are 2.6 % of its digits beside
60,000 synthetic numbers), and the test
images are real. ``alike`` gives every image the same chance instead, as the
digit classifier did before 2026-11-25.
A house-number batch mixes

* real crops and synthetic ones (data.housenumbers), each a random 54 x 54
  window of the 64 x 64 image (Goodfellow et al.'s augmentation; the test
  images use the centre window), digit boxes moved with it;
* synthetic *scenes*: a number somewhere in a larger picture, squashed to
  54 x 54, for the box head to learn where numbers are. Scenes teach only
  the boxes (their reading weight is 0): a number 8 px wide is not readable;
* with ``train.py --negatives SHARE``, windows with *no number*: pieces of
  the whole training PNGs away from every digit box (``empty_windows``), for
  the presence head. They teach neither reading nor boxes. ``--hard-negatives
  FILE`` adds the views with no whole number (empty, or cutting the number)
  that a trained reader's search read surely (reader.hard_negatives,
  ``load_hard_negatives``).
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.errors import DataError
from data.paths import dataset_dir
from data.strips import BLANK
from data.svhn import NumberImages, load_number_crops, split_names
from nn.serialize import ModelFileError, read_npz
from reader.svhn_models import NUMBER_INPUT

PROTOCOLS = ("pooled", "literature")
VALIDATION_EVERY = 10          # every 10th training image is held out for validation
WINDOW = NUMBER_INPUT          # the number reader's input: 54 x 54 windows of 64 x 64 crops
SCENE_SHARE = 1 / 8            # of a batch, when scenes are made
ALIKE = "alike"                # --synthetic-share: every real and synthetic image the same chance
WHOLE_PNGS = ("format1_subset_png.tar", "format1_more_png.tar")
EMPTY_MIN_SIDE = 24            # windows with no number are cut at least this big


@dataclass
class SvhnSplits:
    train: NumberImages
    validation: NumberImages
    tests: dict[str, NumberImages]    # {"holdout", "holdout_strict"} or {"test", "strict"}


def load_splits(protocol: str, data_dir: str | os.PathLike | None = None) -> SvhnSplits:
    """The real images of a protocol (data.DataError naming the file when one is missing)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
    official = official_file("train.tar.gz", data_dir)
    if official is not None:
        from data.svhn_official import load_format1
        train_real = load_format1(official)
    else:
        train_real = load_number_crops("train", data_dir, split_names("train_real", data_dir))
    test = load_number_crops("test", data_dir)
    by_name = {name.split("/", 1)[1]: i for i, name in enumerate(test.names)}

    def pick(split: str) -> NumberImages:
        return test.subset([by_name[n] for n in split_names(split, data_dir) if n in by_name])

    if protocol == "pooled":
        real = NumberImages.concat([train_real, pick("test_pool")])
        holdout, strict = pick("test_holdout"), set(split_names("test_strict", data_dir))
        certain = [i for i, name in enumerate(holdout.names) if name.split("/", 1)[1] in strict]
        tests = {"holdout": holdout, "holdout_strict": holdout.subset(certain)}
    else:
        real = train_real
        tests = {"test": test, "strict": pick("test_strict")}
    held = np.arange(len(real)) % VALIDATION_EVERY == 0
    return SvhnSplits(real.subset(np.flatnonzero(~held)), real.subset(np.flatnonzero(held)),
                      tests)


def official_file(name: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """``svhn/official/<name>`` if the user has put that official SVHN file there."""
    path = dataset_dir("svhn", data_dir) / "official" / name
    return path if path.is_file() else None


def make_synthetic(count: int, seed: int, data_dir: str | os.PathLike | None = None,
                   scenes: bool = True) -> tuple[NumberImages, NumberImages | None]:
    """``count`` synthetic 64 x 64 number crops and ``count // 3`` 54 x 54 scenes
    (None with ``scenes=False``: the numbers are the same either way).

    Backgrounds are cut from the real *training* images only. The same
    (count, seed) always gives the same images.
    """
    from data.housenumbers import HouseNumberGenerator, train_backgrounds
    rng = np.random.default_rng([seed, 77])
    generator = HouseNumberGenerator(train_backgrounds(data_dir, rng=rng))
    numbers = generator.numbers(count, rng)
    if not scenes:
        return numbers, None
    return numbers, generator.scenes(max(1, count // 3), rng, size=WINDOW)


def whole_training_pngs(protocol: str, data_dir: str | os.PathLike | None = None
                        ) -> Iterator[tuple[np.ndarray, list]]:
    """(image (H, W, 3) uint8, [(digit, [left, top, width, height]), ...]) of every whole
    PNG ``protocol`` may train on: the shared data's PNG tars hold whole images of the
    train split (all usable) and of the test split (only ``test_pool`` ones, and only
    for the pooled protocol)."""
    from data.svhn_official import annotated_photos
    folder = dataset_dir("svhn", data_dir)
    allowed: list[tuple[str, set[str] | None]] = [("train", None)]
    if protocol == "pooled":
        allowed.append(("test", set(split_names("test_pool", data_dir))))
    for split, wanted in allowed:
        for tar in WHOLE_PNGS:
            for _, image, digits in annotated_photos(folder / tar, folder / "annotations.csv",
                                                     split, wanted):
                yield image, digits


def empty_windows(protocol: str, per_image: int, seed: int,
                  data_dir: str | os.PathLike | None = None, scenes: int = 3000) -> np.ndarray:
    """54 x 54 windows with no number: (K, 54, 54, 3) uint8, the same for the same seed.

    Rectangles at least ``EMPTY_MIN_SIDE`` px that touch no digit box
    (data.housenumbers.background_patches), up to ``per_image`` per image, from

    * the whole PNGs a protocol may train on (``whole_training_pngs``). These
      are small street images, so their empty windows are mostly blurred walls;
    * ``scenes`` synthetic scenes (data.housenumbers, 192 x 192): sharper
      walls, bricks, siding, door and window frames, the straight edges a
      reader without a presence head reads as a "1".
    """
    from data.housenumbers import HouseNumberGenerator, background_patches, train_backgrounds
    rng = np.random.default_rng([seed, 88])
    windows = []
    for image, digits in whole_training_pngs(protocol, data_dir):
        boxes = np.array([box for _, box in digits])
        windows.append(background_patches([(image, boxes)], WINDOW, per_image, rng,
                                          EMPTY_MIN_SIDE))
    if scenes:
        drawn = HouseNumberGenerator(train_backgrounds(data_dir, rng=rng)).scenes(scenes, rng,
                                                                                 size=192)
        for image, boxes, length in zip(drawn.images, drawn.boxes, drawn.lengths(), strict=True):
            windows.append(background_patches([(image, boxes[:length])], WINDOW, per_image, rng,
                                              EMPTY_MIN_SIDE))
    return np.concatenate(windows)


def load_hard_negatives(path: str | os.PathLike, protocol: str) -> np.ndarray:
    """The windows of a file from reader.hard_negatives, checked: (K, 54, 54, 3) uint8.

    Raises data.DataError naming the file when it is missing, damaged, not
    such a file, or was mined for another protocol (a literature run must not
    learn from windows of test images).
    """
    try:
        arrays = read_npz(path)             # the model files' reader: the same safe npz
    except ModelFileError:
        if not Path(path).is_file():
            raise DataError(f"{path}: no such file") from None
        raise DataError(f"{path}: not a hard-negatives file (make one with "
                        "python -m reader.hard_negatives)") from None
    try:
        windows, made_for = arrays["windows"], json.loads(str(arrays["metadata"]))["protocol"]
    except (KeyError, ValueError, TypeError):
        raise DataError(f"{path}: not a hard-negatives file (make one with "
                             "python -m reader.hard_negatives)") from None
    if windows.dtype != np.uint8 or windows.shape[1:] != (WINDOW, WINDOW, 3):
        raise DataError(f"{path}: windows are {windows.dtype} {windows.shape}; "
                             f"expected uint8 (K, {WINDOW}, {WINDOW}, 3)")
    if made_for != protocol:
        raise DataError(f"{path}: mined for the {made_for} protocol, not {protocol}")
    if len(windows) == 0:
        raise DataError(f"{path}: holds no windows (mine with a lower --min-confidence)")
    return windows


def window(numbers: NumberImages, offsets: np.ndarray, size: int = WINDOW
           ) -> tuple[np.ndarray, np.ndarray]:
    """size x size windows of the images at (x, y) ``offsets`` (N, 2), boxes moved with them.

    Returns (images (N, size, size, 3) uint8, boxes (N, 5, 4) float32).
    """
    images = np.stack([im[y:y + size, x:x + size]
                       for im, (x, y) in zip(numbers.images, offsets, strict=True)])
    boxes = numbers.boxes.copy()
    boxes[..., 0] -= offsets[:, None, 0]
    boxes[..., 1] -= offsets[:, None, 1]
    return images, boxes


def centre_window(numbers: NumberImages, size: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """The centre size x size window of every image (what the reader is tested on)."""
    margin = (numbers.images.shape[1] - size) // 2
    return window(numbers, np.full((len(numbers), 2), margin), size)


@dataclass
class NumberBatch:
    images: np.ndarray          # (B, 54, 54, 3) uint8
    labels: np.ndarray          # (B, 5) int64, BLANK after the length
    boxes: np.ndarray           # (B, 5, 4) float32 digit boxes in window pixels
    read_weight: np.ndarray     # (B,) 1 = learn to read it, 0 = only where it is
    present: np.ndarray         # (B,) bool: False for windows with no number


class NumberBatches:
    """Training batches for the house-number reader, reproducible from (seed, epoch, step)."""

    def __init__(self, real: NumberImages, synthetic: NumberImages | None,
                 scenes: NumberImages | None, batch_size: int, seed: int,
                 empty: np.ndarray | None = None, empty_share: float = 0.0,
                 synthetic_share: float | str = 0.5) -> None:
        self.real, self.synthetic, self.scenes, self.empty = real, synthetic, scenes, empty
        self.batch_size, self.seed = batch_size, seed
        n_empty = round(batch_size * empty_share) if empty is not None and len(empty) else 0
        n_scenes = round(batch_size * SCENE_SHARE) if scenes is not None and len(scenes) else 0
        rest = batch_size - n_scenes - n_empty
        n_synth = 0
        if synthetic is not None and len(synthetic):
            n_synth = round(rest * mixing_share(synthetic_share, len(real), len(synthetic)))
        self.counts = (rest - n_synth, n_synth, n_scenes, n_empty)   # real, synth, scenes, empty

    def batch(self, epoch: int, step: int) -> NumberBatch:
        rng = np.random.default_rng([self.seed, epoch, step])
        n_real, n_synth, n_scenes, n_empty = self.counts
        parts, weights = [], []
        for source, n in ((self.real, n_real), (self.synthetic, n_synth)):
            if n == 0:
                continue
            chosen = source.subset(rng.integers(0, len(source), n))
            slack = chosen.images.shape[1] - WINDOW
            images, boxes = window(chosen, rng.integers(0, slack + 1, (n, 2)))
            parts.append((images, chosen.labels, boxes))
            weights.append(np.ones(n))
        if n_scenes:
            chosen = self.scenes.subset(rng.integers(0, len(self.scenes), n_scenes))
            parts.append((chosen.images, chosen.labels, chosen.boxes))
            weights.append(np.zeros(n_scenes))
        if n_empty:
            chosen = rng.integers(0, len(self.empty), n_empty)
            parts.append((self.empty[chosen], np.full((n_empty, 5), BLANK, np.int64),
                          np.zeros((n_empty, 5, 4), np.float32)))
            weights.append(np.zeros(n_empty))
        images, labels, boxes = (np.concatenate(p) for p in zip(*parts, strict=True))
        present = np.arange(len(images)) < len(images) - n_empty
        return NumberBatch(images, labels, boxes, np.concatenate(weights), present)


def mixing_share(synthetic_share: float | str, n_real: int, n_synthetic: int) -> float:
    """The share of a batch's real-or-synthetic images that are synthetic:
    ``synthetic_share``, or with ``ALIKE`` the synthetic images' share of all."""
    if synthetic_share == ALIKE:
        return n_synthetic / (n_real + n_synthetic)
    return float(synthetic_share)


class DigitBatches:
    """Training batches of 32 x 32 digits, reproducible from (seed, epoch, step).

    ``synthetic_share`` of each batch is drawn from the synthetic digits and the
    rest from the real ones; with ``ALIKE`` every digit has the same chance, so
    a batch holds about as many real ones as their share of all.
    """

    def __init__(self, real: tuple[np.ndarray, np.ndarray],
                 synthetic: tuple[np.ndarray, np.ndarray] | None, batch_size: int,
                 seed: int, synthetic_share: float | str = 0.5) -> None:
        parts = [real] if synthetic is None else [real, synthetic]
        # digits (M, 32, 32, 3) uint8 and labels (M,): the real ones first, then the synthetic
        self.digits, self.labels = (np.concatenate(p) for p in zip(*parts, strict=True))
        self.n_real = len(real[0])
        self.batch_size, self.seed = batch_size, seed
        self.synthetic_per_batch: int | None = None          # None: every digit alike
        if synthetic is not None and synthetic_share != ALIKE:
            self.synthetic_per_batch = round(batch_size * synthetic_share)

    def batch(self, epoch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """digits (B, 32, 32, 3) uint8, labels (B,): each shifted by up to 2 px (edges repeated)."""
        rng = np.random.default_rng([self.seed, epoch, step])
        if self.synthetic_per_batch is None:
            index = rng.integers(0, len(self.digits), self.batch_size)
        else:
            n_synthetic = self.synthetic_per_batch
            real = rng.integers(0, self.n_real, self.batch_size - n_synthetic)
            synthetic = rng.integers(self.n_real, len(self.digits), n_synthetic)
            index = np.concatenate([real, synthetic])
        padded = np.pad(self.digits[index], ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
        shifts = rng.integers(0, 5, (self.batch_size, 2))
        out = np.stack([p[y:y + 32, x:x + 32] for p, (x, y) in zip(padded, shifts, strict=True)])
        return out, self.labels[index]
