"""MNIST: the four original idx files, downloaded once and validated on every load.

The files are the original LeCun/Cortes/Burges distribution, gzip-compressed::

    train-images-idx3-ubyte.gz   60,000 images, 28 x 28 uint8   (idx magic number 2051)
    train-labels-idx1-ubyte.gz   60,000 labels 0..9             (idx magic number 2049)
    t10k-images-idx3-ubyte.gz    10,000 test images
    t10k-labels-idx1-ubyte.gz    10,000 test labels

They live in ``<data dir>/mnist/`` (see ``data.paths``).  A missing file is
downloaded from the first working mirror and checked against its published
md5.  Files already present are not md5-checked on each load; instead their
structure is validated (gzip stream intact, magic number, dimensions, matching
image and label counts), and any problem raises a one-line ``DataError``
naming the file.

An idx file is a big-endian header followed by the raw array::

    magic (4 bytes: 0, 0, type code 0x08 = uint8, number of dimensions)
    one 4-byte size per dimension
    the data, row-major

The three pools used by this project (``mnist_splits``): train = the first
50,000 training images, validation = the last 10,000 training images,
test = the 10,000 test images.
"""

import gzip
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import idx2numpy
import numpy as np

from data.download import DownloadError, fetch
from data.errors import DataError
from data.paths import dataset_dir
from data.pools import Pool, SplitPools

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# file name -> md5 of the .gz file as published
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = MNIST_MD5

IDX_IMAGES_MAGIC = 2051  # uint8, 3 dimensions
IDX_LABELS_MAGIC = 2049  # uint8, 1 dimension
IMAGE_SIZE = 28
NUM_CLASSES = 10


@dataclass(frozen=True)
class MnistData:
    """The whole of MNIST as NumPy arrays.

    train_images: (60000, 28, 28) uint8    train_labels: (60000,) uint8
    test_images:  (10000, 28, 28) uint8    test_labels:  (10000,) uint8
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _gunzip(path: Path) -> bytes:
    """Return the decompressed bytes of a .gz file, or raise ``DataError``."""
    try:
        with gzip.open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (delete it to download it again)") from None
    except (OSError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt gzip file ({error}); delete it to download it again"
                        ) from None


def read_idx_gz(path: Path, expected_magic: int) -> np.ndarray:
    """Read a gzip-compressed idx file into a writable NumPy array.

    Checks the magic number (2051 for images, 2049 for labels) and that the
    amount of data equals what the header promises.
    """
    raw = _gunzip(path)
    if len(raw) < 4:
        raise DataError(f"{path}: too short to be an idx file ({len(raw)} bytes)")
    (magic,) = struct.unpack(">i", raw[:4])
    if magic != expected_magic:
        raise DataError(f"{path}: wrong idx magic number {magic}, expected {expected_magic}")
    try:
        array = idx2numpy.convert_from_string(raw)
    except idx2numpy.FormatError as error:
        raise DataError(f"{path}: malformed idx data ({error})") from None
    return array.copy()  # idx2numpy returns a read-only view of the bytes


def _read_images(path: Path) -> np.ndarray:
    images = read_idx_gz(path, IDX_IMAGES_MAGIC)  # (n, 28, 28) uint8
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{path}: images are {images.shape[1:]}, expected 28 x 28")
    return images


def _read_labels(path: Path) -> np.ndarray:
    labels = read_idx_gz(path, IDX_LABELS_MAGIC)  # (n,) uint8
    if labels.size and labels.max() >= NUM_CLASSES:
        raise DataError(f"{path}: label {labels.max()} outside 0..9")
    return labels


def _check_counts(images: np.ndarray, labels: np.ndarray, labels_path: Path) -> None:
    if len(images) != len(labels):
        raise DataError(
            f"{labels_path}: {len(labels)} labels but the image file has {len(images)} images"
        )


def ensure_mnist_files(data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Make sure the four MNIST files exist, downloading the missing ones.

    Returns the MNIST folder.  Raises ``DataError`` naming the folder and the
    missing files when they are absent and cannot be downloaded.
    """
    folder = dataset_dir("mnist", data_dir)
    missing = [name for name in MNIST_MD5 if not (folder / name).is_file()]
    if not missing:
        return folder
    how_to_fix = f"put {', '.join(missing)} into the folder {folder}"
    if not download:
        raise DataError(f"{folder / missing[0]}: MNIST file not found; {how_to_fix}")
    for name in missing:
        try:
            fetch([mirror + name for mirror in MNIST_MIRRORS], folder / name, MNIST_MD5[name])
        except DownloadError as error:
            still_missing = [n for n in missing if not (folder / n).is_file()]
            raise DataError(
                f"{folder / name}: MNIST file not found and not downloadable from any of "
                f"{len(MNIST_MIRRORS)} mirrors (last: {error.last_problem}); "
                f"put {', '.join(still_missing)} into the folder {folder}"
            ) from None
    return folder


def load_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> MnistData:
    """Load all of MNIST from ``<data dir>/mnist/``, downloading missing files first."""
    folder = ensure_mnist_files(data_dir, download)
    train_images = _read_images(folder / TRAIN_IMAGES)
    train_labels = _read_labels(folder / TRAIN_LABELS)
    _check_counts(train_images, train_labels, folder / TRAIN_LABELS)
    test_images = _read_images(folder / TEST_IMAGES)
    test_labels = _read_labels(folder / TEST_LABELS)
    _check_counts(test_images, test_labels, folder / TEST_LABELS)
    return MnistData(train_images, train_labels, test_images, test_labels)


def mnist_splits(
    data_dir: str | os.PathLike | None = None,
    validation_size: int | None = None,
    download: bool = True,
) -> SplitPools:
    """The three MNIST pools: train = first 50,000 training images,
    validation = last 10,000 training images, test = the 10,000 test images.

    ``validation_size=None`` holds out the last sixth of the training images:
    exactly 10,000 of MNIST's 60,000, and still a split for smaller files
    (the tests' tiny ones).
    """
    mnist = load_mnist(data_dir, download)
    if validation_size is None:
        validation_size = max(1, len(mnist.train_labels) // 6)
    n_train = len(mnist.train_labels) - validation_size
    if not 0 < n_train < len(mnist.train_labels):
        raise ValueError(f"validation_size {validation_size} must be between 1 and "
                         f"{len(mnist.train_labels) - 1}")
    return SplitPools(
        train=Pool(mnist.train_images[:n_train], mnist.train_labels[:n_train]),
        validation=Pool(mnist.train_images[n_train:], mnist.train_labels[n_train:]),
        test=Pool(mnist.test_images, mnist.test_labels),
    )
