"""Run a reader over a set of strips and measure it.

Also builds the metadata a saved reader carries, and checks it when a model
file is loaded to read with: the model file says what input it expects.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import nn
from reader import metrics
from reader.decode import decode
from reader.models import MAX_LENGTH, MODEL_KINDS, STRIP_SHAPE, probabilities, to_input, to_tiles
from reader.svhn_models import BOX_OUTPUTS, PRESENCE_OUTPUTS
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
    if Path(path).is_dir() and (Path(path) / "model.npz").is_file():      # a run folder
        raise nn.ModelFileError(f"{path}: is a run folder; its model is "
                                f"{Path(path) / 'model.npz'}")
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
    if kind in MODEL_KINDS and meta.get("blank") != len(alphabet):
        raise nn.ModelFileError(f"{path}: its blank class should be {len(alphabet)} (one past "
                                f"the alphabet), the file says {meta.get('blank')!r}")
    check_outputs(model, kind, len(alphabet), path)
    return model, meta


def output_widths(kind: str, classes: int) -> list[int]:
    """The width of each output a reader of ``kind`` gives, in order: the strip
    model's and the house-number reader's length head and five character heads
    (then the box head, 24, and an optional presence head, 2), the tower's
    classes and blank per slot, the digit classifier's classes."""
    if kind == "tower":
        return [classes + 1]
    if kind == "digit":
        return [classes]
    heads = [MAX_LENGTH] + [classes] * MAX_LENGTH
    return heads + [BOX_OUTPUTS] if kind == "number" else heads


def check_outputs(model: nn.Model, kind: str, classes: int, path: str | os.PathLike) -> None:
    """Run the model on one blank input and check that it gives the outputs its
    metadata promises. A file whose layers do not fit together, or do not fit
    its alphabet, fails here with one line naming it, not later with a traceback."""
    H, W = INPUT_SHAPES[kind]
    channels = 3 if kind in ("number", "digit") else 1
    x = np.zeros((1, channels, H, W), np.float32)
    try:
        out = model.forward(to_tiles(x) if kind == "tower" else x, training=False)
    except (ValueError, IndexError, TypeError) as err:
        raise nn.ModelFileError(f"{path}: its layers do not fit a {H} x {W} input "
                                f"({err})") from None
    widths = [o.shape[1] for o in (out if isinstance(out, list) else [out])]
    expected = output_widths(kind, classes)
    if kind == "number" and widths == expected + [PRESENCE_OUTPUTS]:
        return                                      # with the presence head
    if widths != expected:
        raise nn.ModelFileError(f"{path}: a {kind} reader of {classes} classes gives outputs "
                                f"of widths {expected}; this one gives {widths}")
