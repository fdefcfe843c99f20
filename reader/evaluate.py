"""Run a reader over a set of strips and measure it.

Also builds the metadata a saved reader carries, and checks it when a model
file is loaded to read with: the model file says what input it expects.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import nn
from reader import metrics
from reader.decode import decode
from reader.models import MAX_LENGTH, MODEL_KINDS, STRIP_SHAPE, probabilities, to_input
from reader.views import STRIP_SHIFTS, mean_of_views, shift

METADATA_KEY = "reader"
# model kind -> the (height, width) of its input
INPUT_SHAPES = {**{kind: STRIP_SHAPE for kind in MODEL_KINDS}, "number": (54, 54),
                "digit": (32, 32)}


@dataclass
class Readings:
    """What a reader made of N strips."""

    labels: np.ndarray          # (N, 5) int64, blank after the length
    confidence: np.ndarray      # (N,) probability of the whole reading
    length_probs: np.ndarray    # (N, 5)


def view_probabilities(model: nn.Model, kind: str, strips: np.ndarray, batch_size: int = 500,
                       shifts: Sequence[tuple[int, int]] = STRIP_SHIFTS
                       ) -> list[tuple[np.ndarray, np.ndarray]]:
    """strips (N, 28, 140) uint8 -> [(length (N, 5), characters (N, 5, C)) probabilities
    for each (dx, dy) of ``shifts``].

    The shifts move the model's input (after the strip model's left alignment)
    with black coming in; ``views.ONE_VIEW`` reads the input as it is.
    """
    x = to_input(strips, kind)                                        # (N, 1, 28, 140)
    return [probabilities(model, kind, shift(x, dx, dy), batch_size) for dx, dy in shifts]


def decode_views(per_view: list[tuple[np.ndarray, np.ndarray]], blank: int) -> Readings:
    """The reading of the views' averaged probabilities."""
    length_probs, char_probs = mean_of_views(per_view)
    labels, confidence = decode(length_probs, char_probs, blank)
    return Readings(labels, confidence, length_probs)


def read_strips(model: nn.Model, kind: str, strips: np.ndarray, blank: int,
                batch_size: int = 500,
                shifts: Sequence[tuple[int, int]] = STRIP_SHIFTS) -> Readings:
    """strips (N, 28, 140) uint8 -> Readings, averaged over the (dx, dy) ``shifts``."""
    return decode_views(view_probabilities(model, kind, strips, batch_size, shifts), blank)


def evaluate(model: nn.Model, kind: str, strips: np.ndarray, labels: np.ndarray,
             blank: int, shifts: Sequence[tuple[int, int]] = STRIP_SHIFTS
             ) -> tuple[dict[str, Any], Readings]:
    """metrics.summary of the reader on (strips, labels), and the readings themselves."""
    readings = read_strips(model, kind, strips, blank, shifts=shifts)
    return metrics.summary(readings.labels, labels, blank), readings


def evaluate_views_and_one(model: nn.Model, kind: str, strips: np.ndarray, labels: np.ndarray,
                           blank: int) -> tuple[dict[str, Any], dict[str, Any], Readings]:
    """(summary read with the test-time views, summary of the input as given, the views'
    readings), each view read once: the first of STRIP_SHIFTS is the input as given."""
    assert STRIP_SHIFTS[0] == (0, 0)
    per_view = view_probabilities(model, kind, strips)
    readings, as_given = decode_views(per_view, blank), decode_views(per_view[:1], blank)
    return (metrics.summary(readings.labels, labels, blank),
            metrics.summary(as_given.labels, labels, blank), readings)


def reader_metadata(kind: str, task: str, alphabet: str, config: dict[str, Any],
                    command: str) -> dict[str, Any]:
    """The metadata a saved reader carries (under the key "reader")."""
    return {METADATA_KEY: {
        "kind": kind,
        "task": task,
        "alphabet": alphabet,
        "blank": len(alphabet),
        "max_length": MAX_LENGTH,
        "input": {"height": STRIP_SHAPE[0], "width": STRIP_SHAPE[1], "channels": 1,
                  "dtype": "float32", "scale": "pixel / 255 (0 = background, 1 = full ink)",
                  "ink": "white on black",
                  "align": "left (first inked column at x = 2)" if kind == "strip" else "none"},
        "config": config,
        "command": command,
    }}


def load_reader(path: str | os.PathLike) -> tuple[nn.Model, dict[str, Any]]:
    """Load a model file written by train.py; return (model, its "reader" metadata).

    Raises nn.ModelFileError naming the file when it is missing, damaged, or
    is a model file without reader metadata (not made by train.py).
    """
    model = nn.load(path)
    meta = model.metadata.get(METADATA_KEY) if isinstance(model.metadata, dict) else None
    try:
        kind, alphabet = meta["kind"], meta["alphabet"]
        shape = (meta["input"]["height"], meta["input"]["width"])
        ok = kind in INPUT_SHAPES and isinstance(alphabet, str) and len(alphabet) >= 2
    except (TypeError, KeyError):
        ok = False
    if not ok:
        raise nn.ModelFileError(f"{path}: not a number-reader model (no valid '{METADATA_KEY}' "
                                "metadata; make one with train.py)")
    if tuple(shape) != INPUT_SHAPES[kind]:
        expected = INPUT_SHAPES[kind]
        raise nn.ModelFileError(f"{path}: expects {shape[0]} x {shape[1]} input; a {kind} "
                                f"reader reads {expected[0]} x {expected[1]}")
    return model, meta
