"""Test-wide settings.

Hypothesis draws fresh examples on every run, which is how it finds bugs on a
developer's machine. CI sets HYPOTHESIS_PROFILE=ci: the same examples every
time (derandomize), so a red CI always means a change broke something.
"""

import os
from pathlib import Path

import pytest
from hypothesis import settings
from reader_fixtures import write_tiny_mnist
from svhn_fixtures import write_tiny_svhn

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# Tests marked ``realdata`` read the real datasets under $DIGITS_DATA. CI sets it, so
# they run there; on a machine without it they are skipped here, in one place.

def pytest_collection_modifyitems(config, items):
    if os.environ.get("DIGITS_DATA"):
        return
    skip = pytest.mark.skip(reason="DIGITS_DATA is not set: no real datasets")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def real_data_dir() -> Path:
    """$DIGITS_DATA, for ``realdata`` tests that pass the folder on (skipped without it)."""
    return Path(os.environ["DIGITS_DATA"])


# Tiny datasets in the real file formats, written once per test module that asks.

@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A data folder with the four MNIST files, tiny (reader_fixtures.write_tiny_mnist)."""
    return write_tiny_mnist(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def tiny_svhn(tmp_path_factory):
    """A data folder with a tiny SVHN copy (svhn_fixtures.write_tiny_svhn)."""
    return write_tiny_svhn(tmp_path_factory.mktemp("data"))
