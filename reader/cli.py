"""What train.py and predict.py share: argument checks and one-line errors.

Every user error ends the program with one line on stderr that names the
file or option and says what is wrong, and exit status 2, never a traceback:

    train.py: error: argument --epochs: must be a whole number >= 1, got '-3'
    predict.py: error: photo.txt: not an image Pillow can read
"""

import argparse
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130          # 128 + SIGINT: what a shell reports for Ctrl-C


class UserError(Exception):
    """A problem the user can fix; the message is one line naming what is wrong."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        fail(self.prog, message)


def fail(prog: str, message: str) -> NoReturn:
    """Print ``prog: error: message`` on one line and exit 2."""
    first_line = " ".join(str(message).split())
    sys.stderr.write(f"{prog}: error: {first_line}\n")
    sys.exit(EXIT_USAGE)


def run_command(prog: str, main: Callable[[], int | None]) -> NoReturn:
    """Run a command line's ``main`` and exit with its status. Ctrl-C ends it with
    one line on stderr and status 130, not a traceback (files are written under a
    temporary name and renamed, so nothing is left half written)."""
    try:
        status = main()
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{prog}: interrupted\n")
        status = EXIT_INTERRUPTED
    sys.exit(status or 0)


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum (and <= maximum, when given)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {text!r}")
        return value
    return parse


def positive_float(text: str, maximum: float = math.inf) -> float:
    """An argparse type: a finite number > 0 (and <= maximum)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    if value > maximum:
        raise argparse.ArgumentTypeError(f"must be at most {maximum:g}, got {text!r}")
    return value


def output_file(text: str) -> Path:
    """An argparse type: a file to write, checked before any work is done: its
    folder must exist, and it must not be a folder itself."""
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: there is no folder {path.parent}")
    return path


def probability(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value <= 1.0:
        # ArgumentTypeError: argparse prints this message (for ValueError it prints its own)
        raise argparse.ArgumentTypeError(f"must be a probability between 0 and 1, got {text!r}")
    return value


def share(maximum: float, word: str | None = None) -> Callable[[str], float | str]:
    """An argparse type: a share of something, a number from 0 to ``maximum``
    (or ``word``, returned as it is, where the option has a word for a rule)."""
    allowed = f"a number from 0 to {maximum:g}" + (f" or {word!r}" if word else "")

    def parse(text: str) -> float | str:
        if word is not None and text == word:
            return text
        try:
            value = float(text)
        except ValueError:
            value = math.nan                        # fails the range check below
        if not 0.0 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value
    return parse


def learning_rate(text: str) -> float:
    """An argparse type: a learning rate, > 0 and at most 1 (Adam's steps are about
    this size in every weight; larger ones only diverge)."""
    return positive_float(text, maximum=1.0)
