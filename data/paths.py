"""Where the datasets live on disk.

The data folder is chosen in this order:

1. the ``--data-dir`` argument of a command-line tool, if given;
2. the environment variable ``DIGITS_DATA``, if set and not empty;
3. the default folder ``~/.cache/digits-data``.

Inside it every dataset has its own sub-folder::

    <data dir>/mnist/      the four original MNIST idx .gz files
    <data dir>/notmnist/   notMNIST_small.npz, or the A/ ... J/ folders of PNGs
    <data dir>/svhn/       the SVHN files (see that folder's SOURCE.md)
"""

import os
from pathlib import Path

from .errors import DataError

DATA_DIR_ENV_VAR = "DIGITS_DATA"
DEFAULT_DATA_DIR = Path("~/.cache/digits-data")
DATASET_FOLDERS = ("mnist", "notmnist", "svhn")


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the data folder: the argument, else ``$DIGITS_DATA``, else the default.

    A leading ``~`` is expanded.  The folder is not required to exist yet; a
    download creates it when it is needed.
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV_VAR) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser()


def downloads_allowed(data_dir: str | os.PathLike | None = None) -> bool:
    """Whether missing files may be downloaded: only into the default folder.

    A folder the user named (``--data-dir`` or ``$DIGITS_DATA``) that lacks
    the files is a mistake to report, not a place to download into.
    """
    return (data_dir is None or str(data_dir) == "") and not os.environ.get(DATA_DIR_ENV_VAR)


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the sub-folder of one dataset, e.g. ``dataset_dir("mnist")``."""
    if name not in DATASET_FOLDERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {DATASET_FOLDERS}")
    root = resolve_data_dir(data_dir)
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: is a file; the data folder is the one that holds "
                        f"{', '.join(f + '/' for f in DATASET_FOLDERS)}")
    return root / name
