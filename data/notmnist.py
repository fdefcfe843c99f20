"""notMNIST_small: 28 x 28 glyphs of the letters A..J in many fonts.

Two layouts are understood, both inside ``<data dir>/notmnist/``:

1. ``notMNIST_small.npz`` (preferred, fast), with the arrays
   ``images`` (n, 28, 28) uint8, ``labels`` (n,) uint8 with 0..9 meaning A..J,
   and ``filenames`` (n,) str such as ``"A/MDEtMDEtMDAudHRm.png"``.
   It is read with ``np.load(allow_pickle=False)``.
2. the original folder of PNGs: ``A/*.png`` ... ``J/*.png``, either directly
   in ``notmnist/`` or in ``notmnist/notMNIST_small/``.  Files that Pillow cannot
   read (the original set has two 0-byte PNGs) are skipped and counted.

There is no download: the set has no official checksummed mirror, so a
missing set raises a ``DataError`` saying where to put it.

Splits (``notmnist_splits``): the images are shuffled by a fixed permutation,
``np.random.default_rng(NOTMNIST_SPLIT_SEED).permutation(n)``; the first
``n // 10`` shuffled images are the test pool, the next ``n // 10`` the
validation pool, and the remaining ~80 % the train pool.  For the full set
(18,724 images) that is 14,980 / 1,872 / 1,872.
"""

import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from data.errors import DataError
from data.paths import dataset_dir
from data.pools import Pool, SplitPools

NOTMNIST_NPZ = "notMNIST_small.npz"
NOTMNIST_PNG_FOLDER = "notMNIST_small"
LETTERS = "ABCDEFGHIJ"
IMAGE_SIZE = 28
NOTMNIST_SPLIT_SEED = 20110908


@dataclass(frozen=True)
class NotMnistData:
    """All notMNIST_small images.

    images:    (n, 28, 28) uint8, 0 = background
    labels:    (n,) uint8, 0..9 meaning A..J
    filenames: (n,) str, "LETTER/name.png"
    skipped:   number of unreadable PNG files left out (always 0 for the .npz)
    """

    images: np.ndarray
    labels: np.ndarray
    filenames: np.ndarray
    skipped: int = 0


def _validate(images: np.ndarray, labels: np.ndarray, filenames: np.ndarray, path: Path) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{path}: images are {images.dtype} {images.shape}, "
                        "expected uint8 (n, 28, 28)")
    if labels.shape != images.shape[:1] or filenames.shape != images.shape[:1]:
        raise DataError(f"{path}: {len(images)} images but {labels.shape} labels "
                        f"and {filenames.shape} filenames")
    if labels.size and (labels.min() < 0 or labels.max() >= len(LETTERS)):
        raise DataError(f"{path}: labels outside 0..9")


def read_notmnist_npz(path: Path) -> NotMnistData:
    """Read and validate ``notMNIST_small.npz``."""
    if path.is_file() and not zipfile.is_zipfile(path):
        # np.load would try to read it as a pickle and blame allow_pickle
        raise DataError(f"{path}: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"images", "labels", "filenames"} - set(archive.files)
            if missing:
                raise DataError(f"{path}: missing arrays {sorted(missing)}")
            images = archive["images"]
            labels = archive["labels"]
            filenames = archive["filenames"]
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path}: unreadable or corrupt .npz file ({error})") from None
    _validate(images, labels, filenames, path)
    return NotMnistData(images, labels.astype(np.uint8), filenames)


def _read_png(path: Path) -> np.ndarray | None:
    """Return a (28, 28) uint8 glyph, or None when the file cannot be decoded."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return pixels if pixels.shape == (IMAGE_SIZE, IMAGE_SIZE) else None


def read_notmnist_pngs(folder: Path) -> NotMnistData:
    """Read the ``A/ ... J/`` PNG folders, in letter then file-name order."""
    images, labels, filenames, skipped = [], [], [], 0
    for label, letter in enumerate(LETTERS):
        letter_folder = folder / letter
        if not letter_folder.is_dir():
            raise DataError(f"{letter_folder}: folder of the letter {letter} not found")
        for png_path in sorted(letter_folder.glob("*.png")):
            pixels = _read_png(png_path)
            if pixels is None:
                skipped += 1
                continue
            images.append(pixels)
            labels.append(label)
            filenames.append(f"{letter}/{png_path.name}")
    if not images:
        raise DataError(f"{folder}: no readable PNG files in the folders A ... J")
    return NotMnistData(
        images=np.stack(images),  # (n, 28, 28) uint8
        labels=np.array(labels, dtype=np.uint8),
        filenames=np.array(filenames),
        skipped=skipped,
    )


def load_notmnist(data_dir: str | os.PathLike | None = None) -> NotMnistData:
    """Load notMNIST_small from ``<data dir>/notmnist/`` (the .npz, else the PNG folders)."""
    folder = dataset_dir("notmnist", data_dir)
    if (folder / NOTMNIST_NPZ).is_file():
        return read_notmnist_npz(folder / NOTMNIST_NPZ)
    for png_root in (folder / NOTMNIST_PNG_FOLDER, folder):
        if (png_root / LETTERS[0]).is_dir():
            return read_notmnist_pngs(png_root)
    raise DataError(
        f"{folder / NOTMNIST_NPZ}: notMNIST not found; put {NOTMNIST_NPZ} (or the PNG folders "
        f"A ... J of notMNIST_small) into the folder {folder}"
    )


def notmnist_splits(data_dir: str | os.PathLike | None = None) -> SplitPools:
    """The three notMNIST pools, cut by a fixed seeded permutation (see the module docstring)."""
    data = load_notmnist(data_dir)
    count = len(data.labels)
    held_out = count // 10
    if held_out == 0:
        raise DataError(f"{dataset_dir('notmnist', data_dir)}: only {count} images, "
                        "too few to split")
    order = np.random.default_rng(NOTMNIST_SPLIT_SEED).permutation(count)
    test, validation, train = np.split(order, [held_out, 2 * held_out])

    def pool(indices: np.ndarray) -> Pool:
        return Pool(data.images[indices], data.labels[indices])

    return SplitPools(train=pool(train), validation=pool(validation), test=pool(test))
