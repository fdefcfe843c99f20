"""Test-wide settings.

Hypothesis draws fresh examples on every run, which is how it finds bugs on a
developer's machine. CI sets HYPOTHESIS_PROFILE=ci: the same examples every
time (derandomize), so a red CI always means a change broke something.
"""

import os

import pytest
from hypothesis import settings
from reader_fixtures import write_tiny_mnist
from svhn_fixtures import write_tiny_svhn

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# Tiny datasets in the real file formats, written once per test module that asks.

@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A data folder with the four MNIST files, tiny (reader_fixtures.write_tiny_mnist)."""
    return write_tiny_mnist(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def tiny_svhn(tmp_path_factory):
    """A data folder with a tiny SVHN copy (svhn_fixtures.write_tiny_svhn)."""
    return write_tiny_svhn(tmp_path_factory.mktemp("data"))
