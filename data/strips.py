"""Synthetic number strips: rows of up to five character images with their labels.

A strip is a 28 x 140 grey image holding a number of length L (1..5, uniform)
written left to right, and a label vector of five integers: the L character
classes followed by ``BLANK`` (10) for every unused position.  Strips are
stored as uint8 (0 = black background, 255 = full ink), like the character
images they are made of; divide by 255 to get floats in [0, 1].

Two layouts are available:

``"canonical"`` (the reference notebook's): five 28-px slots side by side.
    The number fills the first L slots; the other slots are exactly zero.

``"free"``: closer to real house numbers.  For every character
    1. crop the image to its ink: the bounding box of pixels > ``INK_THRESHOLD``;
    2. scale the crop by s ~ U(0.8, 1.0) in both directions (bilinear, aspect kept),
       so its height becomes round(s * crop height);
    3. centre it vertically, shift it by dy ~ U{-3..3} px, clipped to stay inside.
    Between neighbours there is a gap ~ U{0..6} px (0 = touching).  The whole run
    starts at a random x, uniform over the positions where it fits.  Five full-
    width crops (28 px each) fill exactly 140 px, so the ink always fits; when the
    gaps do not, they are shrunk proportionally.  Overlapping ink is combined with
    the maximum.  The rendering loop is compiled with numba.

With ``distort=True`` (training only) every character drawn gets its own small
random affine warp first (``distort_characters``): the pool's 50,000 digits
then never repeat exactly, which fights memorising them.

Characters are drawn uniformly, with replacement, from the pool given, so a
split's strips contain only that split's images.  Everything random comes from
the ``np.random.Generator`` passed in, so strips are reproducible from a seed.
``StripStream`` gives fresh strips every epoch, reproducible from (seed, epoch):
batch ``step`` of epoch ``e`` is made with ``np.random.default_rng([seed, e, step])``,
so a run resumed at (e, step) sees exactly the data it would have seen, and
skipping the first batches costs nothing.
"""

from collections.abc import Iterator

import numba
import numpy as np

CHAR_SIZE = 28
MAX_LENGTH = 5
STRIP_HEIGHT = CHAR_SIZE
STRIP_WIDTH = MAX_LENGTH * CHAR_SIZE  # 140
BLANK = 10
LAYOUTS = ("canonical", "free")

INK_THRESHOLD = 32
FREE_SCALE_RANGE = (0.8, 1.0)
FREE_MAX_SHIFT = 3
FREE_MAX_GAP = 6

DISTORT_ANGLE = 12.0           # degrees, either way
DISTORT_SCALE = (0.9, 1.1)
DISTORT_SHEAR = 0.2
DISTORT_SHIFT = 1.5            # pixels, either way


def _check_pool(images: np.ndarray, labels: np.ndarray, layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    if images.ndim != 3 or images.shape[1:] != (CHAR_SIZE, CHAR_SIZE) or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (n, 28, 28), got {images.dtype} {images.shape}")
    if len(images) == 0 or labels.shape != images.shape[:1]:
        raise ValueError(f"need a non-empty pool with one label per image, got "
                         f"{images.shape} images and {labels.shape} labels")


def ink_boxes(images: np.ndarray, threshold: int = INK_THRESHOLD) -> np.ndarray:
    """Bounding box of the ink of every image, as rows (top, left, height, width).

    images: (n, 28, 28) uint8  ->  boxes: (n, 4) int64
    An image without any pixel above ``threshold`` gets the whole 28 x 28 box.
    """
    ink = images > threshold                                  # (n, 28, 28) bool
    rows, cols = ink.any(axis=2), ink.any(axis=1)             # (n, 28) each
    top, left = rows.argmax(axis=1), cols.argmax(axis=1)      # first inked row / column
    bottom = CHAR_SIZE - rows[:, ::-1].argmax(axis=1)         # one past the last inked row
    right = CHAR_SIZE - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([top, left, bottom - top, right - left], axis=1).astype(np.int64)
    boxes[~rows.any(axis=1)] = (0, 0, CHAR_SIZE, CHAR_SIZE)
    return boxes


def _draw_numbers(pool_size: int, count: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Number lengths (count,) in 1..5 and pool indices (count, 5) of the characters."""
    lengths = rng.integers(1, MAX_LENGTH + 1, size=count)
    picks = rng.integers(0, pool_size, size=(count, MAX_LENGTH))
    return lengths, picks


def _strip_labels(labels: np.ndarray, picks: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(count, 5) int64: the picked characters' classes, then BLANK after the length."""
    used = np.arange(MAX_LENGTH) < lengths[:, None]           # (count, 5) bool
    return np.where(used, labels[picks], BLANK).astype(np.int64)


def _render_canonical(images: np.ndarray, picks: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Five 28-px slots side by side; slots after the length are black."""
    chars = images[picks]                                     # (count, 5, 28, 28)
    chars[np.arange(MAX_LENGTH) >= lengths[:, None]] = 0
    count = len(picks)
    # (count, 5, 28, 28) -> (count, 28, 5, 28) -> (count, 28, 140)
    return chars.transpose(0, 2, 1, 3).reshape(count, STRIP_HEIGHT, STRIP_WIDTH)


def _draw_free_layout(boxes: np.ndarray, picks: np.ndarray, lengths: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Place every glyph of the free layout: (tops, lefts, heights, widths), each (count, 5)."""
    count = len(picks)
    slot = np.arange(MAX_LENGTH)
    used = slot < lengths[:, None]                            # (count, 5)

    scale = rng.uniform(*FREE_SCALE_RANGE, size=(count, MAX_LENGTH))
    heights = np.clip(np.rint(boxes[picks, 2] * scale), 1, CHAR_SIZE).astype(np.int64)
    widths = np.clip(np.rint(boxes[picks, 3] * scale), 1, CHAR_SIZE).astype(np.int64)
    widths[~used] = 0

    shift = rng.integers(-FREE_MAX_SHIFT, FREE_MAX_SHIFT + 1, size=(count, MAX_LENGTH))
    tops = np.clip((STRIP_HEIGHT - heights) // 2 + shift, 0, STRIP_HEIGHT - heights)

    gaps = rng.integers(0, FREE_MAX_GAP + 1, size=(count, MAX_LENGTH - 1))
    gaps[slot[1:] >= lengths[:, None]] = 0                    # gap k sits before glyph k + 1
    spare = STRIP_WIDTH - widths.sum(axis=1)                  # >= 0: glyphs are <= 28 px wide
    gap_total = gaps.sum(axis=1)
    too_wide = gap_total > spare
    gaps[too_wide] = gaps[too_wide] * spare[too_wide, None] // gap_total[too_wide, None]

    run_width = widths.sum(axis=1) + gaps.sum(axis=1)         # (count,)
    start = rng.integers(0, STRIP_WIDTH - run_width + 1)      # (count,)
    advance = np.cumsum(widths[:, :-1] + gaps, axis=1)        # (count, 4)
    lefts = start[:, None] + np.concatenate([np.zeros((count, 1), np.int64), advance], axis=1)
    return tops, lefts, heights, widths


@numba.njit(cache=True, nogil=True)
def _render_free(images, boxes, picks, lengths, tops, lefts, heights, widths):
    """Draw each glyph's ink box, bilinearly resized to (height, width), at (top, left).

    Output pixel (i, j) of a glyph samples the crop at the point
    ((i + 0.5) * crop_h / height - 0.5, (j + 0.5) * crop_w / width - 0.5),
    i.e. pixel centres are aligned, and is combined with the strip by maximum.
    """
    count = picks.shape[0]
    strips = np.zeros((count, STRIP_HEIGHT, STRIP_WIDTH), np.uint8)
    for n in range(count):
        for k in range(lengths[n]):
            pick = picks[n, k]
            image = images[pick]
            box_top, box_left = boxes[pick, 0], boxes[pick, 1]
            box_h, box_w = boxes[pick, 2], boxes[pick, 3]
            height, width = heights[n, k], widths[n, k]
            for i in range(height):
                y = min(max((i + 0.5) * box_h / height - 0.5, 0.0), box_h - 1.0)
                y0 = int(y)
                y1 = min(y0 + 1, box_h - 1)
                fy = y - y0
                for j in range(width):
                    x = min(max((j + 0.5) * box_w / width - 0.5, 0.0), box_w - 1.0)
                    x0 = int(x)
                    x1 = min(x0 + 1, box_w - 1)
                    fx = x - x0
                    upper = ((1.0 - fx) * image[box_top + y0, box_left + x0]
                             + fx * image[box_top + y0, box_left + x1])
                    lower = ((1.0 - fx) * image[box_top + y1, box_left + x0]
                             + fx * image[box_top + y1, box_left + x1])
                    value = np.uint8((1.0 - fy) * upper + fy * lower + 0.5)
                    row, col = tops[n, k] + i, lefts[n, k] + j
                    if value > strips[n, row, col]:
                        strips[n, row, col] = value
    return strips


def distort_characters(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each (28, 28) uint8 image warped by its own random affine map about its centre.

    The map is rotation (±DISTORT_ANGLE) · shear (±DISTORT_SHEAR) · scale
    (DISTORT_SCALE) plus a shift (±DISTORT_SHIFT px), sampled bilinearly; the
    kind of change handwriting has from writer to writer, small enough that a
    7 stays a 7. images (n, 28, 28) -> (n, 28, 28) uint8.
    """
    n = len(images)
    angle = np.deg2rad(rng.uniform(-DISTORT_ANGLE, DISTORT_ANGLE, n))
    scale = rng.uniform(*DISTORT_SCALE, n)
    shear = rng.uniform(-DISTORT_SHEAR, DISTORT_SHEAR, n)
    shift = rng.uniform(-DISTORT_SHIFT, DISTORT_SHIFT, (n, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    # forward map A = R(angle) @ [[1, shear], [0, 1]] * scale, on (x, y) about the centre;
    # the kernel needs its inverse, to find for each output pixel where it comes from
    forward = np.stack([np.stack([cos, cos * shear - sin], -1),
                        np.stack([sin, sin * shear + cos], -1)], -2) * scale[:, None, None]
    return _warp(images, np.linalg.inv(forward), shift)


@numba.njit(cache=True)
def _warp(images, inverse, shift):
    """out[k, y, x] = images[k] sampled bilinearly at inverse[k] @ ((x, y) - c - shift[k]) + c."""
    n, H, W = images.shape
    c = (W - 1) / 2.0
    out = np.zeros_like(images)
    for k in range(n):
        for y in range(H):
            for x in range(W):
                u, v = x - c - shift[k, 0], y - c - shift[k, 1]
                sx = inverse[k, 0, 0] * u + inverse[k, 0, 1] * v + c
                sy = inverse[k, 1, 0] * u + inverse[k, 1, 1] * v + c
                x0, y0 = int(np.floor(sx)), int(np.floor(sy))
                fx, fy = sx - x0, sy - y0
                value = 0.0
                for dy in range(2):
                    for dx in range(2):
                        yy, xx = y0 + dy, x0 + dx
                        if 0 <= yy < H and 0 <= xx < W:
                            w = (fx if dx else 1.0 - fx) * (fy if dy else 1.0 - fy)
                            value += w * images[k, yy, xx]
                out[k, y, x] = np.uint8(min(255.0, value + 0.5))
    return out


def make_strips(
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    rng: np.random.Generator,
    layout: str = "canonical",
    boxes: np.ndarray | None = None,
    distort: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``count`` random number strips from one character pool.

    images: (n, 28, 28) uint8 pool, labels: (n,) class indices 0..9.
    boxes: optional ``ink_boxes(images)``, to save recomputing it (free layout only).
    distort: warp every character drawn (``distort_characters``; for training).
    Returns strips (count, 28, 140) uint8 and labels (count, 5) int64, 10 = blank.
    """
    _check_pool(images, labels, layout)
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    lengths, picks = _draw_numbers(len(images), count, rng)
    strip_labels = _strip_labels(labels, picks, lengths)
    if distort:               # render from warped copies of the characters drawn
        images = distort_characters(images[picks.ravel()], rng)
        picks, boxes = np.arange(picks.size).reshape(picks.shape), None
    if layout == "canonical":
        return _render_canonical(images, picks, lengths), strip_labels
    if boxes is None:
        boxes = ink_boxes(images)
    tops, lefts, heights, widths = _draw_free_layout(boxes, picks, lengths, rng)
    strips = _render_free(images, boxes, picks, lengths, tops, lefts, heights, widths)
    return strips, strip_labels


def make_fixed_strips(
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int,
    layout: str = "canonical",
) -> tuple[np.ndarray, np.ndarray]:
    """A fixed evaluation set (validation or test): the same strips for the same seed.

    Pass the validation pool for a validation set and the test pool for a test set.
    """
    return make_strips(images, labels, count, np.random.default_rng(seed), layout)


class StripStream:
    """Fresh training strips every epoch, reproducible from (seed, epoch, step).

    >>> stream = StripStream(pool.images, pool.labels, batch_size=64,
    ...                      steps_per_epoch=500, seed=1)
    >>> for strips, labels in stream.epoch(3, start_step=120):  # resume mid-epoch
    ...     ...
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        steps_per_epoch: int,
        seed: int,
        layout: str = "canonical",
        distort: bool = False,
    ) -> None:
        _check_pool(images, labels, layout)
        if batch_size < 1 or steps_per_epoch < 1:
            raise ValueError("batch_size and steps_per_epoch must be >= 1")
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.seed = seed
        self.layout = layout
        self.distort = distort
        self._boxes = ink_boxes(images) if layout == "free" else None  # computed once

    def __len__(self) -> int:
        return self.steps_per_epoch

    def batch(self, epoch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``step`` of ``epoch``: strips (batch, 28, 140) uint8, labels (batch, 5) int64."""
        rng = np.random.default_rng([self.seed, epoch, step])
        return make_strips(self.images, self.labels, self.batch_size, rng, self.layout,
                           self._boxes, self.distort)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the batches of ``epoch`` from ``start_step`` on (skipped batches cost nothing)."""
        for step in range(start_step, self.steps_per_epoch):
            yield self.batch(epoch, step)
