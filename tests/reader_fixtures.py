"""Helpers shared by the reader tests: tiny datasets in the real file formats, tiny models.

Not a test module itself (no ``test_`` prefix); the tests import it by name.
"""

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import idx2numpy
import numpy as np
import pytest

import nn
from data.errors import DataError
from reader.evaluate import reader_metadata
from reader.models import build

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def digit_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) uint8 'characters': a bar whose position says the class, plus noise."""
    images = rng.integers(0, 40, (len(labels), 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels, strict=True):
        image[4:24, 4 + 2 * label:6 + 2 * label] = 255
    return images


def write_mnist_files(data_dir: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Each {file name: array} as <data_dir>/mnist/<name> in the real idx + gzip format."""
    folder = data_dir / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        (folder / name).write_bytes(gzip.compress(idx2numpy.convert_to_string(array)))
    return data_dir


def write_tiny_mnist(data_dir: Path, n_train: int = 120, n_test: int = 40) -> Path:
    """The four MNIST files in the real idx + gzip format, with tiny contents."""
    rng = np.random.default_rng(0)
    train_labels = rng.integers(0, 10, n_train, dtype=np.uint8)
    test_labels = rng.integers(0, 10, n_test, dtype=np.uint8)
    return write_mnist_files(data_dir, {
        "train-images-idx3-ubyte.gz": digit_images(train_labels, rng),
        "train-labels-idx1-ubyte.gz": train_labels,
        "t10k-images-idx3-ubyte.gz": digit_images(test_labels, rng),
        "t10k-labels-idx1-ubyte.gz": test_labels,
    })


def save_untrained_reader(path: Path, kind: str = "strip", seed: int = 0) -> Path:
    """A randomly initialised reader with the metadata train.py writes (for predict tests)."""
    model = build(kind, num_classes=10, seed=seed)
    nn.save(model, path, reader_metadata(kind, "mnist-strips", "0123456789", {}, "test"))
    return path


def cli_env(env_extra: dict | None = None) -> dict[str, str]:
    """This process's environment without DIGITS_DATA (a command line run by a test reads
    only the data it is given), plus ``env_extra``."""
    env = {k: v for k, v in os.environ.items() if k != "DIGITS_DATA"}
    env.update(env_extra or {})
    return env


def run_cli(*args: str, env_extra: dict | None = None, timeout: float = 120):
    """Run ``python <script> args...`` in the repository root; return CompletedProcess."""
    return subprocess.run([PYTHON, *args], cwd=ROOT, env=cli_env(env_extra), capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_error(result, *needles: str) -> None:
    """Exit status 2, exactly one line on stderr containing every needle, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def raises_data_error_naming(file_name: str):
    """pytest.raises for a DataError whose message contains ``file_name``."""
    return pytest.raises(DataError, match=re.escape(file_name))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
