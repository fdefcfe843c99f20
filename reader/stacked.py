"""Numbers written top to bottom: a column of digits on a door post.

The house-number reader reads left to right. A column of k digits, cut into
k rows of equal height and the rows laid side by side, is a number written
left to right, and the reader reads it as trained. Where the column starts
and ends, and how many digits it holds, are not known, so ``read_stacked``
tries columns reaching up and down by 0 to 1 times the height of the box
the search found, and narrower than it (the box may hold a whole plate),
cut into 2 to 5 rows, and keeps the surest reading whose length is the
number of rows it was cut into: a column cut into the wrong number of rows
shows halves of digits, or one digit twice.

The search (reader.locate) asks only when it read two digits or more in a
box at least ``TALL`` times as high as wide. Digits side by side seldom fit
in such a box, so that reading is suspect, and the column's reading
replaces it when it is surer. A single digit does fit, and is left
alone: cut into rows, one tall digit gives readings that agree with their
cut too easily (on development scenes a "1" became "11" and an "8" became
"00", docs/svhn.md). So a clean column that the search reads as its last
digit alone is not read as a column; this module mends the misreadings of
columns, it does not find them.
"""

import numpy as np

import nn
from data.strips import BLANK
from reader.choose import Candidate
from reader.decode import to_text
from reader.photo_crops import pad_photo, training_view
from reader.svhn_read import read_views

TALL = 1.6                     # a box this many times as high as wide seldom holds two abreast
ROWS = (2, 3, 4, 5)            # cut the column into this many rows
REACH = (0.0, 0.25, 0.5, 0.75, 1.0)  # grow the column up and down by these shares of its height
NARROW = (1.0, 0.8, 0.6)       # and keep these shares of its width (a box may hold a plate)
STACKED_SURE = 0.5             # the least confidence of a reading of a column


def restack(column: np.ndarray, rows: int) -> np.ndarray:
    """(H, W, 3) -> (H // rows, rows * W, 3): the column cut into ``rows`` rows of equal
    height, laid left to right (the top row first)."""
    h = column.shape[0] // rows
    return np.concatenate([column[i * h:(i + 1) * h] for i in range(rows)], axis=1)


def columns(box: np.ndarray, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(left, top, right, bottom) columns: the box grown up and down by each pair of
    REACH, narrowed about its centre to each share of NARROW, clipped to the photo."""
    left, top, right, bottom = box
    w, h, centre = right - left, bottom - top, (left + right) / 2
    return sorted({(int(max(0, centre - share * w / 2)), int(max(0, top - up * h)),
                    int(min(width, centre + share * w / 2)), int(min(height, bottom + down * h)))
                   for share in NARROW for up in REACH for down in REACH})


def looks_stacked(chosen: Candidate) -> bool:
    """Whether the chosen reading has two digits or more in a box too tall to hold them."""
    left, top, right, bottom = chosen.box
    return len(chosen.text) >= 2 and bottom - top >= TALL * (right - left)


def read_stacked(model: nn.Model, photo: np.ndarray, chosen: Candidate, alphabet: str
                 ) -> Candidate | None:
    """The surest reading of a column of digits around the chosen reading's box (left,
    top, right, bottom) in a photo (H, W, 3), or None when no cut agrees with its
    reading (its length is not the number of rows)."""
    H, W = photo.shape[:2]
    views, cuts = [], []
    for window in columns(chosen.box, W, H):
        column = photo[window[1]:window[3], window[0]:window[2]]
        for rows in ROWS:
            if column.shape[0] < 4 * rows or column.shape[1] < 4:
                continue
            flat = restack(column, rows)
            padded, px, py = pad_photo(flat)
            shown = np.array([px, py, px + flat.shape[1], py + flat.shape[0]], np.float64)
            views.append(training_view(padded, shown)[0])
            cuts.append((window, rows))
    if not views:
        return None
    readings, _, confidence = read_views(model, np.stack(views))
    agree = [k for k, (_, rows) in enumerate(cuts)
             if np.count_nonzero(readings.labels[k] != BLANK) == rows
             and confidence[k] >= STACKED_SURE]
    if not agree:
        return None
    k = max(agree, key=lambda k: confidence[k])
    return Candidate(chosen.start, to_text(readings.labels[k], alphabet, BLANK),
                     float(confidence[k]), np.array(cuts[k][0], np.float64),
                     readings.labels[k], chosen.step)
