"""Test-time views: read each input a few times, a pixel or two apart, and average.

Every reader here was trained on inputs that were never placed exactly alike:
strips in the free layout, random 54 x 54 windows of the 64 x 64 house-number
crops, single digits shifted by up to 2 px. So a reader is no surer of the
input as given than of the same input a pixel to the side, and where one view
is misread, the others often outvote it. Reading V views and averaging the
probabilities,

    P̄(L = l | x)   = (1/V) Σ_v P(L = l | view_v(x))
    P̄(s_i = c | x) = (1/V) Σ_v P(s_i = c | view_v(x))      i = 1..5,

then decoding P̄ as usual (reader.decode) costs V forward passes and no
training. The views below were chosen on validation sets, never on test sets;
what they buy is in docs/results.md ("Reading several views").
"""

import numpy as np

# (dx, dy) in pixels: the input as given, and one pixel left, right, up, down
ONE_PIXEL: tuple[tuple[int, int], ...] = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
# strips: those and two pixels each way, nine views (on validation the free layout
# gained 0.15 points over ONE_PIXEL, the canonical one 0.01; docs/results.md)
STRIP_SHIFTS: tuple[tuple[int, int], ...] = ONE_PIXEL + ((-2, 0), (2, 0), (0, -2), (0, 2))
DIGIT_SHIFTS = ONE_PIXEL
ONE_VIEW: tuple[tuple[int, int], ...] = ((0, 0),)
# (x, y) of the 54 x 54 windows read from a 64 x 64 crop: the centre one (5, 5)
# and the eight around it, 2 px away (training windows lie anywhere in 0..10)
WINDOW_OFFSETS: tuple[tuple[int, int], ...] = tuple((x, y) for y in (3, 5, 7) for x in (3, 5, 7))
CENTRE_WINDOW: tuple[tuple[int, int], ...] = ((5, 5),)


def shift(images: np.ndarray, dx: int, dy: int, axes: tuple[int, int] = (-2, -1),
          mode: str = "constant") -> np.ndarray:
    """Move the picture dx px right and dy px down inside the same frame.

    ``axes`` are the (height, width) axes of ``images``: (-2, -1) for (N, C, H, W)
    or (N, H, W), (1, 2) for (N, H, W, C). Pixels moved in from outside are 0
    (``mode="constant"``, a black background) or repeat the edge (``"edge"``).
    """
    ay, ax = (a % images.ndim for a in axes)
    pad = [(0, 0)] * images.ndim
    pad[ay], pad[ax] = (max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))
    padded = np.pad(images, pad, mode=mode)
    keep = [slice(None)] * images.ndim
    keep[ay] = slice(max(-dy, 0), max(-dy, 0) + images.shape[ay])
    keep[ax] = slice(max(-dx, 0), max(-dx, 0) + images.shape[ax])
    return padded[tuple(keep)]


def mean_of_views(per_view: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """[(a_1, b_1, ...) for each view] -> (mean of the a_v, mean of the b_v, ...)."""
    return tuple(np.mean(parts, axis=0) for parts in zip(*per_view, strict=True))
