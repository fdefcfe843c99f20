"""A progress bar on stderr, and a log file.

On a terminal the bar redraws one line in place (carriage return); when stderr
is a file or a pipe (``nohup``, CI) it prints a plain line every
``every_seconds`` instead, so logs stay readable:

    epoch 3/12 [#########-----------]  45%  step 125/500  loss 0.0812  acc 97.1%  247 img/s
    ETA 4m10s                                                    (all on one line)
"""

import sys
import time
from pathlib import Path
from typing import TextIO


def announce(what: str, stream: TextIO | None = None) -> None:
    """One line on stderr saying what a long, silent piece of work is doing: making
    synthetic data before training (and its log) starts, reading a test set."""
    print(what, file=stream or sys.stderr, flush=True)


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class ProgressBar:
    """Shows loss, accuracy, images/s and the time left.

    ``images_per_second`` and the ETA come from this process's own steps (not
    from a resumed run's earlier ones), smoothed over the last ~50 steps.
    """

    def __init__(self, total_steps: int, batch_size: int, stream: TextIO | None = None,
                 every_seconds: float = 30.0, width: int = 20) -> None:
        self.total_steps, self.batch_size = total_steps, batch_size
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_seconds, self.width = every_seconds, width
        self._last_time: float | None = None
        self._last_print = 0.0
        self.step_seconds: float | None = None      # exponential moving average

    def update(self, done: int, epoch: int, epochs: int, step: int, steps: int,
               loss: float, accuracy: float) -> None:
        """``done`` optimizer steps of ``total_steps`` are finished."""
        now = time.perf_counter()
        if self._last_time is not None:
            dt = now - self._last_time
            self.step_seconds = dt if self.step_seconds is None else (
                0.96 * self.step_seconds + 0.04 * dt)
        self._last_time = now
        if not self.tty and now - self._last_print < self.every_seconds and done < self.total_steps:
            return
        self._last_print = now
        fraction = done / max(self.total_steps, 1)
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        speed = eta = "?"
        if self.step_seconds:
            speed = f"{self.batch_size / self.step_seconds:.0f}"
            eta = format_duration((self.total_steps - done) * self.step_seconds)
        line = (f"epoch {epoch + 1}/{epochs} [{bar}] {100 * fraction:3.0f}%  step {step}/{steps}"
                f"  loss {loss:.4f}  acc {100 * accuracy:5.1f}%  {speed} img/s  ETA {eta}")
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def pause(self) -> None:
        """End the bar's line so that other output starts on a fresh one."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self._last_time = None          # the time spent elsewhere is not a training step


class Log:
    """Appends time-stamped lines to ``path`` (kept across resumes) and echoes them to stderr."""

    def __init__(self, path: Path, echo: TextIO | None = None) -> None:
        self.path = path
        self.echo = echo

    def __call__(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{stamp}  {message}\n")
        if self.echo is not None:
            self.echo.write(message + "\n")
            self.echo.flush()
