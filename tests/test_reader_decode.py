"""Decoding probabilities into readings (reader.decode) and the accuracy measures (metrics)."""

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import seeds

from reader import metrics
from reader.decode import decode, to_text
from reader.models import softmax, tower_probabilities

B = 10  # blank


def one_hot_probs(lengths, chars, sure=0.9, C=10):
    """length_probs (N, 5) and char_probs (N, 5, C) that put ``sure`` on the given values."""
    N = len(lengths)
    length_p = np.full((N, 5), (1 - sure) / 4)
    length_p[np.arange(N), np.array(lengths) - 1] = sure
    char_p = np.full((N, 5, C), (1 - sure) / (C - 1))
    for n, row in enumerate(chars):
        for i, c in enumerate(row):
            char_p[n, i, :] = (1 - sure) / (C - 1)
            char_p[n, i, c] = sure
    return length_p, char_p


def test_decode_takes_the_likeliest_length_then_that_many_characters():
    length_p, char_p = one_hot_probs([2, 5], [[3, 7, 1, 1, 1], [9, 8, 7, 6, 5]])
    labels, confidence = decode(length_p, char_p, B)
    assert labels.tolist() == [[3, 7, B, B, B], [9, 8, 7, 6, 5]]
    # confidence = P(L) * product of the used characters' probabilities
    assert confidence == pytest.approx([0.9 ** 3, 0.9 ** 6])


def test_confidence_ignores_positions_past_the_length():
    length_p, char_p = one_hot_probs([1], [[4, 0, 0, 0, 0]])
    char_p[0, 1:] = 0.1                       # unsure about positions that are not read
    labels, confidence = decode(length_p, char_p, B)
    assert labels.tolist() == [[4, B, B, B, B]]
    assert confidence[0] == pytest.approx(0.81)


def test_to_text():
    assert to_text(np.array([3, 7, B, B, B]), "0123456789", B) == "37"
    assert to_text(np.array([0, 1, 2, 3, 4]), "ABCDEFGHIJ", B) == "ABCDE"


def test_tower_probabilities_turn_blank_slots_into_a_length():
    # slots: digit, digit, blank, blank, blank (all sure) -> length 2
    q = np.full((1, 5, 11), 0.001)
    q[0, 0, 3] = q[0, 1, 7] = 1
    q[0, 2:, 10] = 1
    q /= q.sum(axis=2, keepdims=True)
    length_p, char_p = tower_probabilities(q)
    assert length_p.argmax() == 1 and length_p[0, 1] > 0.98
    assert char_p[0, 0].argmax() == 3 and char_p[0, 1].argmax() == 7
    assert np.allclose(char_p.sum(axis=2), 1)


@settings(max_examples=30, deadline=None)
@given(seed=seeds)
def test_tower_probabilities_are_distributions(seed):
    q = softmax(np.random.default_rng(seed).normal(0, 4, (6, 5, 11)))
    length_p, char_p = tower_probabilities(q)
    assert np.allclose(length_p.sum(axis=1), 1) and np.all(length_p >= 0)
    assert np.allclose(char_p.sum(axis=2), 1) and np.all(char_p >= 0)


TRUE = np.array([[1, 2, 3, B, B],
                 [4, B, B, B, B],
                 [5, 6, 7, 8, 9],
                 [1, 1, B, B, B]])
PRED = np.array([[1, 2, 3, B, B],      # right
                 [4, 4, B, B, B],      # length wrong: one position wrong
                 [5, 6, 0, 8, 9],      # one character wrong
                 [1, 1, B, B, B]])     # right


def test_sequence_and_character_accuracies():
    assert metrics.sequence_accuracy(PRED, TRUE) == 0.5
    assert metrics.char_accuracy(PRED, TRUE) == 18 / 20
    assert metrics.char_accuracy_in_number(PRED, TRUE, B) == 10 / 11
    assert metrics.length_accuracy(PRED, TRUE, B) == 0.75


def test_accuracy_by_length_leaves_out_absent_lengths():
    assert metrics.accuracy_by_length(PRED, TRUE, B) == {"1": 0.0, "2": 1.0, "3": 1.0, "5": 0.0}


def test_confusion_counts_every_position_once():
    counts = metrics.confusion(PRED, TRUE, classes=B + 1)
    assert counts.shape == (11, 11) and counts.sum() == TRUE.size
    assert counts[7, 0] == 1 and counts[B, 4] == 1
    assert np.trace(counts) == 18


def test_summary_is_json_ready():
    import json
    s = metrics.summary(PRED, TRUE, B)
    assert json.loads(json.dumps(s))["sequence_accuracy"] == 0.5
