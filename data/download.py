"""Downloading one file safely from a list of mirrors.

``fetch`` tries each mirror in turn.  The bytes are streamed into a temporary
file in the destination folder, their md5 is compared with the published one,
and only then is the file renamed to its final name with ``os.replace`` (an
atomic rename on one file system).  So an interrupted or corrupted download
never leaves a half-written file under the real name.

When no mirror works (for example on a machine without network access) a
``DataError`` tells the user which file to put into which folder by hand.
"""

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from data.errors import DataError

DOWNLOAD_TIMEOUT_SECONDS = 30.0
_CHUNK_BYTES = 1 << 20


class DownloadError(DataError):
    """No mirror delivered the file; ``last_problem`` says what went wrong with the last one."""

    def __init__(self, message: str, last_problem: str) -> None:
        super().__init__(message)
        self.last_problem = last_problem


def md5_of_file(path: Path) -> str:
    """Return the hexadecimal md5 digest of a file's bytes."""
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_to(url: str, target: Path, timeout: float) -> None:
    """Stream ``url`` into the already created file ``target``."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
        for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
            out.write(chunk)


def fetch(
    url_list: Sequence[str],
    dest: Path,
    md5: str,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
) -> Path:
    """Download ``dest`` from the first mirror that delivers the right bytes.

    ``url_list`` holds full URLs of the same file on different mirrors.  A
    mirror that fails (network error, HTTP error, wrong md5) is skipped.
    Returns ``dest``.  Raises ``DownloadError`` (a ``DataError``) when every mirror failed.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{dest}: cannot create the folder {dest.parent} ({error})") from None

    problems = []
    for url in url_list:
        handle, temp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part",
                                             dir=dest.parent)
        os.close(handle)
        temp_path = Path(temp_name)
        try:
            _download_to(url, temp_path, timeout)
            actual_md5 = md5_of_file(temp_path)
            if actual_md5 != md5:
                problems.append(f"{url}: md5 {actual_md5} instead of {md5}")
                continue
            os.replace(temp_path, dest)
            return dest
        except (OSError, ValueError) as error:  # URLError and timeouts are OSErrors
            problems.append(f"{url}: {error}")
        finally:
            temp_path.unlink(missing_ok=True)

    last_problem = problems[-1] if problems else "no mirrors given"
    raise DownloadError(
        f"{dest}: could not download it from any of {len(url_list)} mirrors "
        f"(last: {last_problem}); put the file {dest.name} into the folder {dest.parent} by hand",
        last_problem,
    )
