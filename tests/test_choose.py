"""The search's choice among its readings (reader.choose)."""

import numpy as np

from reader.choose import Candidate, choose, vote


def candidate(start, text, confidence, box=(10, 10, 50, 30), step=0):
    return Candidate(start, text, confidence, np.array(box, np.float64), np.zeros(5, np.int64),
                     step)


def test_choose_takes_the_whole_photos_reading_when_it_is_sure():
    tiles = [candidate(5, "21", 0.99), candidate(6, "21", 0.98), candidate(7, "21", 0.97)]
    whole = [candidate(0, "1521", 0.4), candidate(0, "1521", 0.85, step=1)]
    assert choose(whole + tiles) is whole[1]
    assert choose(whole[:1] + tiles).text == "21"            # not sure: three windows agree


def test_the_vote_counts_agreeing_readings_with_overlapping_boxes():
    number = [candidate(k, "1521", 0.5, (10 + k, 10, 60 + k, 30)) for k in range(1, 4)]
    part = candidate(4, "21", 0.99, (35, 10, 60, 30))
    assert vote(number + [part]).text == "1521"                  # 3 x √0.5 > √0.99
    apart = [candidate(k, "1521", 0.5, (100 * k, 10, 100 * k + 50, 30)) for k in range(1, 4)]
    assert vote(apart + [part]) is part                          # far apart: no support
    assert vote([candidate(1, "7", 0.3), candidate(2, "7", 0.6, (11, 10, 50, 30))]
                ).confidence == 0.6                              # a tie goes to the surer one
