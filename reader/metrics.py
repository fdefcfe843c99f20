"""How well a reader reads: accuracies over whole numbers, characters and lengths.

All functions take predicted and true label rows, (N, 5) integers with
``blank`` after the length, as produced by reader.decode and data.make_strips.

* sequence accuracy: the fraction of strips read exactly right (all five positions);
* per-character accuracy: the fraction of the N x 5 positions that agree, blanks
  included (the reference notebook's measure; a wrong length costs the
  positions it shifts into or out of the number);
* character accuracy within the number: the same, over the positions
  i <= L of the true number only (blanks excluded: harder to flatter);
* accuracy by length: sequence accuracy of the strips of each true length;
* length accuracy: the fraction of strips whose length was read right;
* confusion: counts[t, p] of positions with true class t read as p, blank last.
"""

from typing import Any

import numpy as np

from reader.models import MAX_LENGTH


def sequence_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.all(pred == true, axis=1)))


def char_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(pred == true))


def char_accuracy_in_number(pred: np.ndarray, true: np.ndarray, blank: int) -> float:
    inside = true != blank
    return float(np.mean(pred[inside] == true[inside]))


def lengths_of(labels: np.ndarray, blank: int) -> np.ndarray:
    return (labels != blank).sum(axis=1)


def length_accuracy(pred: np.ndarray, true: np.ndarray, blank: int) -> float:
    return float(np.mean(lengths_of(pred, blank) == lengths_of(true, blank)))


def accuracy_by_length(pred: np.ndarray, true: np.ndarray, blank: int) -> dict[str, float]:
    """{"1": acc, ..., "5": acc} over the strips of each true length (absent lengths left out)."""
    correct = np.all(pred == true, axis=1)
    lengths = lengths_of(true, blank)
    return {str(n): float(correct[lengths == n].mean())
            for n in range(1, MAX_LENGTH + 1) if np.any(lengths == n)}


def confusion(pred: np.ndarray, true: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) int64 counts over all positions; row = true class, column = read
    as. For strips ``classes`` = blank + 1: the characters and the blank."""
    return np.bincount(true.ravel() * classes + pred.ravel(),
                       minlength=classes * classes).reshape(classes, classes)


def coverage_at(pred: np.ndarray, true: np.ndarray, confidence: np.ndarray,
                accuracy: float) -> float:
    """The largest share of images a reader can answer at ``accuracy`` or better.

    It answers the images it is most confident about and abstains on the rest
    (Goodfellow et al. 2014's "coverage at 98 % accuracy"): sort by confidence,
    and take the longest prefix whose sequence accuracy is still >= ``accuracy``.
    """
    order = np.argsort(-confidence, kind="stable")
    correct = np.all(pred[order] == true[order], axis=1)
    running = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    ok = np.flatnonzero(running >= accuracy)
    return float((ok[-1] + 1) / len(correct)) if len(ok) else 0.0


def summary(pred: np.ndarray, true: np.ndarray, blank: int) -> dict[str, Any]:
    """Every measure above, as JSON-ready values."""
    return {
        "count": int(len(true)),
        "sequence_accuracy": sequence_accuracy(pred, true),
        "per_char_accuracy": char_accuracy(pred, true),
        "char_accuracy_in_number": char_accuracy_in_number(pred, true, blank),
        "length_accuracy": length_accuracy(pred, true, blank),
        "accuracy_by_length": accuracy_by_length(pred, true, blank),
        "confusion": confusion(pred, true, blank + 1).tolist(),
    }
