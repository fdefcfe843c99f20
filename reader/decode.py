"""From probabilities to a reading: the most likely length, then that many characters.

Given the model's length distribution P(L | x) and per-position character
distributions P(s_i | x) (see reader.models), the reading is

    L* = argmax_l P(L = l | x),        s_i* = argmax_c P(s_i = c | x)   for i <= L*,

and its confidence is the probability the model gives that whole reading,

    confidence = P(L* | x) · Π_{i<=L*} P(s_i* | x).

Because the characters are chosen independently of each other given x, this
is also the most likely reading of length L*; it is not always the most likely
reading overall (a slightly less likely length could have much surer
characters), but it is what Goodfellow et al. (2014) decode and it is cheap.
"""

import numpy as np

from reader.models import MAX_LENGTH


def read_labels(length_scores: np.ndarray, char_scores: np.ndarray,
                blank: int) -> np.ndarray:
    """The readings as label rows: length (N, 5) and characters (N, 5, C), as
    probabilities or as logits (the argmax is the same)  ->  labels (N, 5) int64,
    ``blank`` after the length (the same form as the data's labels)."""
    lengths = length_scores.argmax(axis=1) + 1                         # (N,) in 1..5
    chars = char_scores.argmax(axis=2)                                 # (N, 5)
    return np.where(np.arange(MAX_LENGTH) < lengths[:, None], chars, blank).astype(np.int64)


def decode(length_probs: np.ndarray, char_probs: np.ndarray,
           blank: int) -> tuple[np.ndarray, np.ndarray]:
    """Readings as label rows (``read_labels``), and their confidences.

    length_probs (N, 5), char_probs (N, 5, C)  ->  labels (N, 5) int64 and
    confidence (N,) float64 in [0, 1].
    """
    N = len(length_probs)
    labels = read_labels(length_probs, char_probs, blank)
    used = labels != blank          # (N, 5): the first L* positions (characters are 0..C-1)
    lengths = used.sum(axis=1)                                         # (N,) in 1..5
    chars = np.where(used, labels, 0)[:, :, None]                      # (N, 5, 1)
    char_p = np.take_along_axis(char_probs, chars, axis=2)[:, :, 0]    # (N, 5)
    confidence = length_probs[np.arange(N), lengths - 1] * np.where(used, char_p, 1.0).prod(1)
    return labels, confidence


def to_text(labels: np.ndarray, alphabet: str, blank: int) -> str:
    """One label row (5,) -> the string it reads, e.g. [3, 7, 10, 10, 10] -> "37"."""
    return "".join(alphabet[c] for c in labels if c != blank)
