"""Reading with the SVHN models: the house-number reader's outputs, decoded, read
through the windows of a crop (reader.views), and measured; the single-digit
classifier's probabilities through shifted views, and its accuracy.

Everything here is inference: predict.py's photo search and the evaluation
commands use it without the training jobs (reader.svhn_job), which use it too.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

import nn
from data.strips import BLANK
from data.svhn import NumberImages
from reader import metrics
from reader.decode import decode
from reader.evaluate import Readings
from reader.models import softmax
from reader.svhn_data import WINDOW, centre_window, window
from reader.svhn_models import (
    BOX_HEAD,
    DIGIT_HEADS,
    LENGTH_HEAD,
    MAX_LENGTH,
    PRESENCE_HEAD,
    box_iou,
    box_targets,
    to_input,
)
from reader.views import CENTRE_WINDOW, DIGIT_SHIFTS, WINDOW_OFFSETS, mean_of_views, shift

# how summary lines say the images were read
NINE_WINDOWS, ONE_WINDOW = f", {len(WINDOW_OFFSETS)} windows", ", centre  "


def number_outputs(model: nn.Model, images: np.ndarray, batch_size: int = 256
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """54 x 54 images (N, 54, 54, 3) uint8 -> the reader's outputs as probabilities:
    length_probs (N, 5), char_probs (N, 5, 10), boxes (N, 24) as fractions of 54, and
    P(there is a number) (N,): the presence head's, or 1 for a model without one."""
    lengths, chars, boxes, presence = [], [], [], []
    for start in range(0, len(images), batch_size):
        out = model.forward(to_input(images[start:start + batch_size]), training=False)
        lengths.append(softmax(out[LENGTH_HEAD].astype(np.float64)))
        chars.append(np.stack([softmax(z.astype(np.float64)) for z in out[DIGIT_HEADS]], axis=1))
        boxes.append(out[BOX_HEAD].astype(np.float64))
        presence.append(softmax(out[PRESENCE_HEAD].astype(np.float64))[:, 1]
                        if len(out) > PRESENCE_HEAD else np.ones(len(out[LENGTH_HEAD])))
    return (np.concatenate(lengths), np.concatenate(chars), np.concatenate(boxes),
            np.concatenate(presence))


def read_numbers(model: nn.Model, images: np.ndarray, batch_size: int = 256
                 ) -> tuple[Readings, np.ndarray, np.ndarray]:
    """54 x 54 images (N, 54, 54, 3) uint8 -> (Readings, boxes (N, 24) as fractions of 54,
    P(there is a number) (N,))."""
    length_p, char_p, boxes, presence = number_outputs(model, images, batch_size)
    labels, confidence = decode(length_p, char_p, BLANK)
    return Readings(labels, confidence, length_p), boxes, presence


def read_views(model: nn.Model, images: np.ndarray) -> tuple[Readings, np.ndarray, np.ndarray]:
    """``read_numbers`` for views of a photo, where a view may hold no number: (Readings,
    boxes, the confidence P(a number is here) P(L) Π P(s_i) of each reading (N,))."""
    readings, boxes, presence = read_numbers(model, images)
    return readings, boxes, presence * readings.confidence


def window_outputs(model: nn.Model, numbers: NumberImages,
                   offsets: Sequence[tuple[int, int]] = WINDOW_OFFSETS
                   ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """[(length_probs, char_probs, boxes (N, 24) as fractions of the centre window) for
    each 54 x 54 window at (x, y) in ``offsets`` of every 64 x 64 crop]."""
    centre = (numbers.images.shape[1] - WINDOW) // 2
    per_view = []
    for x, y in offsets:
        images, _ = window(numbers, np.tile((x, y), (len(numbers), 1)))
        length_p, char_p, boxes, _ = number_outputs(model, images)
        # each view's boxes are fractions of its own window: move them to the centre one's
        move = np.tile([x - centre, y - centre], 2 * (1 + MAX_LENGTH)) / WINDOW    # (24,)
        per_view.append((length_p, char_p, boxes + move))
    return per_view


def decode_windows(per_view: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                   ) -> tuple[Readings, np.ndarray]:
    """Average the windows' outputs (reader.views) and decode: (Readings, boxes (N, 24))."""
    length_p, char_p, boxes = mean_of_views(per_view)
    labels, confidence = decode(length_p, char_p, BLANK)
    return Readings(labels, confidence, length_p), boxes


def read_windows(model: nn.Model, numbers: NumberImages,
                 offsets: Sequence[tuple[int, int]] = WINDOW_OFFSETS
                 ) -> tuple[Readings, np.ndarray]:
    """Read the 54 x 54 windows at (x, y) ``offsets`` of every 64 x 64 crop and average
    (reader.views). Returns (Readings, boxes (N, 24) as fractions of the centre window)."""
    return decode_windows(window_outputs(model, numbers, offsets))


def box_measures(pred: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Mean IoU of the union box, and of the digit boxes that exist."""
    union = box_iou(pred[:, :4], targets[:, :4])
    digit_pred = pred[:, 4:].reshape(-1, MAX_LENGTH, 4)
    digit_true = targets[:, 4:].reshape(-1, MAX_LENGTH, 4)
    digits = box_iou(digit_pred, digit_true)[mask[:, 4::4] > 0]
    return {"union_box_iou": float(union.mean()), "digit_box_iou": float(digits.mean()),
            "union_box_iou_over_0.5": float((union > 0.5).mean())}


def measure_numbers(model: nn.Model, numbers: NumberImages,
                    offsets: Sequence[tuple[int, int]] = WINDOW_OFFSETS
                    ) -> tuple[dict[str, Any], Readings, np.ndarray]:
    """Read every image through the windows at ``offsets`` (reader.views; ``CENTRE_WINDOW``
    reads the centre 54 x 54 only); return (measures, readings, the centre windows).

    The measures are reader.metrics.summary's, the coverage at 98 % accuracy,
    and the mean IoU of the union and digit boxes.
    """
    result, readings = window_measures(numbers, window_outputs(model, numbers, offsets))
    return result, readings, centre_window(numbers)[0]


def measure_numbers_and_centre(model: nn.Model, numbers: NumberImages
                               ) -> tuple[dict[str, Any], dict[str, Any], Readings, np.ndarray]:
    """``measure_numbers`` through the nine windows and through the centre one alone,
    each window read once: (nine windows' measures, centre's, nine's readings, centre windows)."""
    per_view = window_outputs(model, numbers, WINDOW_OFFSETS)
    centre = WINDOW_OFFSETS.index(CENTRE_WINDOW[0])
    nine, readings = window_measures(numbers, per_view)
    one, _ = window_measures(numbers, per_view[centre:centre + 1])
    return nine, one, readings, centre_window(numbers)[0]


def window_measures(numbers: NumberImages,
                    per_view: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                    ) -> tuple[dict[str, Any], Readings]:
    """The measures of ``measure_numbers`` for the windows' outputs, and their readings."""
    readings, pred_boxes = decode_windows(per_view)
    result = metrics.summary(readings.labels, numbers.labels, BLANK)
    result["coverage_at_98"] = metrics.coverage_at(readings.labels, numbers.labels,
                                                   readings.confidence, 0.98)
    _, boxes = centre_window(numbers)
    targets, mask = box_targets(boxes, numbers.lengths(), WINDOW)
    result.update(box_measures(pred_boxes, targets, mask))
    return result, readings


def summary_lines(results: dict[str, dict[str, Any]], how: str = "") -> list[str]:
    return [f"{name:8s} ({r['count']} images){how} sequence {100 * r['sequence_accuracy']:6.2f}%"
            f"  per-digit {100 * r['char_accuracy_in_number']:6.2f}%"
            f"  length {100 * r['length_accuracy']:6.2f}%"
            f"  coverage at 98% {100 * r['coverage_at_98']:6.2f}%"
            f"  union-box IoU {r['union_box_iou']:.3f}" for name, r in results.items()]


def digit_probabilities(model: nn.Model, digits: np.ndarray,
                        shifts: Sequence[tuple[int, int]] = DIGIT_SHIFTS,
                        batch_size: int = 500) -> list[tuple[np.ndarray]]:
    """digits (N, 32, 32, 3) uint8 -> [(class probabilities (N, 10),) for each (dx, dy)
    of ``shifts``] (reader.views; the edge pixels fill in, as in training)."""
    def probs(images: np.ndarray) -> tuple[np.ndarray]:
        return (np.concatenate([softmax(model.forward(to_input(images[s:s + batch_size]))
                                        .astype(np.float64))
                                for s in range(0, len(images), batch_size)]),)
    return [probs(shift(digits, dx, dy, axes=(1, 2), mode="edge")) for dx, dy in shifts]


def mean_digit_probabilities(model: nn.Model, digits: np.ndarray,
                             shifts: Sequence[tuple[int, int]] = DIGIT_SHIFTS,
                             batch_size: int = 500) -> np.ndarray:
    """digits (N, 32, 32, 3) uint8 -> class probabilities (N, 10) averaged over the
    (dx, dy) ``shifts``."""
    (mean,) = mean_of_views(digit_probabilities(model, digits, shifts, batch_size))
    return mean


def classify(model: nn.Model, digits: np.ndarray,
             shifts: Sequence[tuple[int, int]] = DIGIT_SHIFTS, batch_size: int = 500
             ) -> np.ndarray:
    """digits (N, 32, 32, 3) uint8 -> classes (N,), the probabilities averaged over the
    (dx, dy) ``shifts``."""
    return mean_digit_probabilities(model, digits, shifts, batch_size).argmax(1)


def measure_digits(model: nn.Model, tests: dict[str, tuple[np.ndarray, np.ndarray]]
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """({test set: accuracy, count and confusion matrix} of a digit classifier read with
    DIGIT_SHIFTS, the same read once), each view read once: the first shift is none."""
    assert DIGIT_SHIFTS[0] == (0, 0)
    views, one_view = {}, {}
    for name, (digits, labels) in tests.items():
        per_view = digit_probabilities(model, digits)
        for results, used in ((views, per_view), (one_view, per_view[:1])):
            pred = mean_of_views(used)[0].argmax(1)
            results[name] = {"count": int(len(labels)),
                             "accuracy": float(np.mean(pred == labels)),
                             "confusion": metrics.confusion(pred[:, None], labels[:, None],
                                                            10).tolist()}
    return views, one_view


def digit_lines(results: dict[str, dict[str, Any]], how: str = "") -> list[str]:
    return [f"{name:8s} ({r['count']} digits){how} accuracy {100 * r['accuracy']:6.2f}%"
            for name, r in results.items()]
