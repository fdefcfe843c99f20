"""Dataset loaders (data.paths, data.download, data.mnist, data.notmnist).

The loader tests write tiny files in the real formats (idx + gzip, .npz, PNG
folders) into a temporary folder, so they need neither the network nor the
real datasets.  Tests marked ``realdata`` read the real files under
``$DIGITS_DATA`` (conftest.py skips them when it is not set).
"""

import gzip
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reader_fixtures import raises_data_error_naming, write_mnist_files

from data import mnist
from data.download import fetch, md5_of_file
from data.errors import DataError
from data.mnist import (
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    load_mnist,
    mnist_splits,
)
from data.notmnist import NOTMNIST_NPZ, load_notmnist, notmnist_splits
from data.paths import DEFAULT_DATA_DIR, dataset_dir, resolve_data_dir

# ---------------------------------------------------------------- helpers


def write_gz(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw))


def write_random_mnist(data_dir: Path, n_train: int = 6, n_test: int = 3
                       ) -> dict[str, np.ndarray]:
    """Write the four MNIST files, random pixels (reader_fixtures.write_mnist_files); return
    the arrays, to compare with what the loader reads."""
    rng = np.random.default_rng(0)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    write_mnist_files(data_dir, arrays)
    return arrays


def no_network(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# ---------------------------------------------------------------- paths


def test_data_dir_argument_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITS_DATA", str(tmp_path / "from_env"))
    assert resolve_data_dir(tmp_path / "from_arg") == tmp_path / "from_arg"
    assert resolve_data_dir(None) == tmp_path / "from_env"
    monkeypatch.delenv("DIGITS_DATA")
    assert resolve_data_dir(None) == DEFAULT_DATA_DIR.expanduser()
    assert dataset_dir("notmnist", tmp_path) == tmp_path / "notmnist"
    with pytest.raises(ValueError):
        dataset_dir("cifar", tmp_path)
    (tmp_path / "README.md").write_text("a file, not the data folder")
    with pytest.raises(DataError, match="README.md: is a file; the data folder is the one"):
        dataset_dir("mnist", tmp_path / "README.md")


# ---------------------------------------------------------------- download


def test_fetch_skips_bad_mirrors_and_checks_md5(tmp_path):
    good, wrong = tmp_path / "good.bin", tmp_path / "wrong.bin"
    good.write_bytes(b"the right bytes")
    wrong.write_bytes(b"other bytes")
    dest = tmp_path / "out" / "file.bin"
    mirrors = [(tmp_path / "absent.bin").as_uri(), wrong.as_uri(), good.as_uri()]
    assert fetch(mirrors, dest, md5_of_file(good)) == dest
    assert dest.read_bytes() == b"the right bytes"
    assert os.listdir(dest.parent) == ["file.bin"]  # no temporary file left behind


def test_fetch_failure_says_where_to_put_the_file(tmp_path):
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"other bytes")
    dest = tmp_path / "out" / "file.bin"
    with raises_data_error_naming("file.bin") as error:
        fetch([wrong.as_uri()], dest, "0" * 32)
    message = str(error.value)
    assert str(dest.parent) in message and "\n" not in message
    assert not dest.exists() and os.listdir(dest.parent) == []


# ---------------------------------------------------------------- MNIST


def test_load_tiny_mnist(tmp_path):
    arrays = write_random_mnist(tmp_path)
    data = load_mnist(tmp_path, download=False)
    assert np.array_equal(data.train_images, arrays[TRAIN_IMAGES])
    assert np.array_equal(data.train_labels, arrays[TRAIN_LABELS])
    assert np.array_equal(data.test_images, arrays[TEST_IMAGES])
    assert np.array_equal(data.test_labels, arrays[TEST_LABELS])
    assert data.train_images.dtype == np.uint8 and data.train_images.flags.writeable


def test_mnist_splits_are_first_last_and_test(tmp_path):
    arrays = write_random_mnist(tmp_path, n_train=6)
    splits = mnist_splits(tmp_path, validation_size=2, download=False)
    assert np.array_equal(splits.train.images, arrays[TRAIN_IMAGES][:4])
    assert np.array_equal(splits.validation.labels, arrays[TRAIN_LABELS][4:])
    assert np.array_equal(splits.test.images, arrays[TEST_IMAGES])


def test_truncated_gzip(tmp_path):
    write_random_mnist(tmp_path)
    path = tmp_path / "mnist" / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:-200])
    with raises_data_error_naming(TRAIN_IMAGES):
        load_mnist(tmp_path, download=False)


def test_not_a_gzip_file(tmp_path):
    write_random_mnist(tmp_path)
    (tmp_path / "mnist" / TEST_LABELS).write_bytes(b"<html>404 not found</html>")
    with raises_data_error_naming(TEST_LABELS):
        load_mnist(tmp_path, download=False)


def test_wrong_magic_number(tmp_path):
    write_random_mnist(tmp_path)
    # an image file where the labels should be
    images = np.zeros((6, 28, 28), np.uint8)
    write_mnist_files(tmp_path, {TRAIN_LABELS: images})
    with raises_data_error_naming(TRAIN_LABELS) as error:
        load_mnist(tmp_path, download=False)
    assert "magic" in str(error.value)


def test_wrong_image_size(tmp_path):
    write_random_mnist(tmp_path)
    images = np.zeros((3, 28, 27), np.uint8)
    write_mnist_files(tmp_path, {TEST_IMAGES: images})
    with raises_data_error_naming(TEST_IMAGES):
        load_mnist(tmp_path, download=False)


def test_data_shorter_than_header(tmp_path):
    write_random_mnist(tmp_path)
    header = struct.pack(">iiii", 2051, 6, 28, 28)
    write_gz(tmp_path / "mnist" / TRAIN_IMAGES, header + bytes(5 * 28 * 28))
    with raises_data_error_naming(TRAIN_IMAGES):
        load_mnist(tmp_path, download=False)


def test_image_label_count_mismatch(tmp_path):
    write_random_mnist(tmp_path, n_train=6)
    labels = np.zeros(5, np.uint8)
    write_mnist_files(tmp_path, {TRAIN_LABELS: labels})
    with raises_data_error_naming(TRAIN_LABELS) as error:
        load_mnist(tmp_path, download=False)
    assert "5 labels" in str(error.value) and "6 images" in str(error.value)


def test_missing_files_offline_say_where_to_put_them(tmp_path, monkeypatch):
    write_random_mnist(tmp_path)
    (tmp_path / "mnist" / TRAIN_IMAGES).unlink()
    (tmp_path / "mnist" / TEST_LABELS).unlink()
    no_network(monkeypatch)
    with raises_data_error_naming(TRAIN_IMAGES) as error:
        load_mnist(tmp_path)
    message = str(error.value)
    assert TEST_LABELS in message and str(tmp_path / "mnist") in message and "\n" not in message
    assert sorted(os.listdir(tmp_path / "mnist")) == sorted([TRAIN_LABELS, TEST_IMAGES])
    with raises_data_error_naming(TRAIN_IMAGES):
        load_mnist(tmp_path, download=False)


def test_missing_files_are_downloaded_from_a_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    arrays = write_random_mnist(mirror)
    md5s = {name: md5_of_file(mirror / "mnist" / name) for name in arrays}
    monkeypatch.setattr(mnist, "MNIST_MD5", md5s)
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ("http://127.0.0.1:9/nothing/",
                                                 (mirror / "mnist").as_uri() + "/"))
    data = load_mnist(tmp_path / "fresh")
    assert np.array_equal(data.test_labels, arrays[TEST_LABELS])
    assert sorted(os.listdir(tmp_path / "fresh" / "mnist")) == sorted(arrays)


# ---------------------------------------------------------------- notMNIST


def write_tiny_notmnist(folder: Path, count: int = 30) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {
        "images": rng.integers(0, 256, (count, 28, 28), dtype=np.uint8),
        "labels": (np.arange(count) % 10).astype(np.uint8),
        "filenames": np.array([f"{'ABCDEFGHIJ'[i % 10]}/{i}.png" for i in range(count)]),
    }
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / NOTMNIST_NPZ, **arrays)
    return arrays


def test_load_tiny_notmnist_npz_and_split(tmp_path):
    arrays = write_tiny_notmnist(tmp_path / "notmnist", count=30)
    data = load_notmnist(tmp_path)
    assert np.array_equal(data.images, arrays["images"]) and data.skipped == 0
    splits = notmnist_splits(tmp_path)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (24, 3, 3)
    # the pools are disjoint and together hold every image exactly once
    pooled = np.concatenate([splits.train.images, splits.validation.images, splits.test.images])
    assert sorted(map(bytes, pooled)) == sorted(map(bytes, arrays["images"]))
    again = notmnist_splits(tmp_path)
    assert np.array_equal(again.test.images, splits.test.images)


def test_corrupt_and_incomplete_npz(tmp_path):
    folder = tmp_path / "notmnist"
    write_tiny_notmnist(folder)
    path = folder / NOTMNIST_NPZ
    path.write_bytes(path.read_bytes()[:300])
    with raises_data_error_naming(NOTMNIST_NPZ):
        load_notmnist(tmp_path)
    np.savez(path, images=np.zeros((2, 28, 28), np.uint8))
    with raises_data_error_naming(NOTMNIST_NPZ) as error:
        load_notmnist(tmp_path)
    assert "labels" in str(error.value)
    path.write_text("hi")                        # not a zip: np.load would blame pickling
    with raises_data_error_naming(NOTMNIST_NPZ) as error:
        load_notmnist(tmp_path)
    assert "not an .npz archive" in str(error.value)


def test_missing_notmnist_says_where_to_put_it(tmp_path):
    with raises_data_error_naming(NOTMNIST_NPZ) as error:
        load_notmnist(tmp_path)
    assert str(tmp_path / "notmnist") in str(error.value)


def test_notmnist_png_folders_skip_unreadable_files(tmp_path):
    root = tmp_path / "notmnist" / "notMNIST_small"
    for label, letter in enumerate("ABCDEFGHIJ"):
        (root / letter).mkdir(parents=True)
        glyph = np.full((28, 28), 10 * label + 5, np.uint8)
        Image.fromarray(glyph).save(root / letter / "font1.png")
    (root / "A" / "broken.png").write_bytes(b"")  # 0-byte file, as in the real set
    (root / "F" / "garbage.png").write_bytes(b"not a png")
    data = load_notmnist(tmp_path)
    assert data.skipped == 2 and len(data.images) == 10
    assert data.labels.tolist() == list(range(10))
    assert data.filenames[1] == "B/font1.png" and np.all(data.images[1] == 15)


# ---------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def real_mnist():
    return load_mnist(download=False)


@pytest.mark.realdata
def test_real_mnist_counts_and_label_histograms(real_mnist):
    assert real_mnist.train_images.shape == (60000, 28, 28)
    assert real_mnist.test_images.shape == (10000, 28, 28)
    assert np.bincount(real_mnist.train_labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(real_mnist.test_labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.realdata
def test_real_mnist_splits():
    splits = mnist_splits(download=False)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (50000, 10000, 10000)


@pytest.mark.realdata
def test_real_notmnist():
    data = load_notmnist()
    assert data.images.shape == (18724, 28, 28) and data.images.dtype == np.uint8
    assert np.bincount(data.labels).tolist() == [1872, 1873, 1873, 1873, 1873,
                                                 1872, 1872, 1872, 1872, 1872]
    splits = notmnist_splits()
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (14980, 1872, 1872)


def test_downloads_go_only_into_the_default_folder(monkeypatch, tmp_path):
    from data import downloads_allowed

    monkeypatch.delenv("DIGITS_DATA", raising=False)
    assert downloads_allowed(None)
    assert not downloads_allowed(tmp_path)
    monkeypatch.setenv("DIGITS_DATA", str(tmp_path))
    assert not downloads_allowed(None)


def test_mnist_splits_hold_out_a_sixth_by_default(tmp_path):
    write_random_mnist(tmp_path, n_train=12)
    splits = mnist_splits(tmp_path, download=False)
    assert len(splits.validation.labels) == 2 and len(splits.train.labels) == 10
