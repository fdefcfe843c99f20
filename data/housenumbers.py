"""Synthetic house numbers, framed like SVHN's 64 x 64 number crops, and whole scenes.

SVHN has only 2,000 train images here; a reader needs far more variety.
``HouseNumberGenerator`` draws as many house numbers as asked, each a pure
function of the ``np.random.Generator`` passed in (same seed, same images).

How one number is made (``numbers``)
------------------------------------
1. **Digits.** The length is 1-5 with probabilities 16/40/28/11/5 % (SVHN's
   train split has 15/54/26/4.3/0.03 %; lengths 4 and 5 are boosted so that
   every length is learned).  The first digit is 0 in 2 % of numbers and
   otherwise leans towards small digits, half Benford's law, half uniform, as
   house numbers do; the other digits are uniform.
2. **Size.** The digit height on the canvas is log-normal with median 29 px,
   clipped to 10-80 px, as SVHN's train boxes (5 % / 50 % / 95 %: 14 / 29 / 68 px).
   Small numbers are later enlarged to 64 x 64, which blurs them as in SVHN.
3. **Glyphs** (``data.glyphs``).  A font from ``find_fonts()`` (80 %) or the
   built-in stroke font (20 %).  A stroke width of 9-28 % of the height is
   drawn, and fonts thinner than that are emboldened (a glyph stroke) to
   reach it; bold fonts stay as they are.  Glyphs are rendered once per font,
   character, boldness and height level (16, 24, 32 or 48 px, the smallest at
   least the canvas height, so the map below mostly shrinks) and cached:
   about 21 MB once every digit is there (``warm_up`` renders them all in ~2 s).
4. **Layout** (``data.render.plan_number``).  Ink-to-ink gaps of -6-45 % of the
   height (20 % of numbers are tight: touching or overlapping slightly), a
   little vertical jitter, sometimes a staircase.  In 12 % of numbers per side
   a neighbouring character (digit, letter, dash) stands just outside the
   number, so that part of it shows in the 1.3 x crop as in SVHN; it is in
   neither the label nor the boxes.
5. **Look** (``data.scenery.colours``).  Ink and plate colours: light on
   dark or dark on light, luminance contrast 0.25-0.8 (80 %) or 0.12-0.25
   (20 %), 35 % from a list of common plate colours (blue, white, black,
   green, red, brass...), otherwise mostly blue, brown or green hues of low
   saturation.  A plate behind the digits (65 %: tight or much larger than
   the crop, sometimes oval, sometimes with a border line); without one the
   digits keep the chosen contrast to the wall under them.  An outline in
   another colour (15 %), a drop shadow (15 %).
6. **Geometry** (``place``).  One perspective map per number: scale to the
   height, horizontal stretch x0.6-1.4 (condensed to wide), slant (shear
   sd 0.1), rotation (sd 3 deg, at most 8), and in 40 % corner jitter
   (perspective).  Each digit's box is the box of its ink's extreme points
   through that map (exact for any such map), plus an annotator's margin of
   0-7 % of the height sideways, 0-4 % up and down, and 1 % jitter.
7. **Canvas.** Just larger than the crop window: the background is a piece of
   a real background patch (50 % when patches are given) or a synthetic wall
   (flat, gradient, blotches, siding, bricks), maybe with straight edges
   across it; then the plate, shadow, outline and digits are painted
   (``paint``).  In 15 % the canvas is cut on one side inside the crop
   window, as 21 % of SVHN windows touch their image's border.
8. **Camera** (``finish``).  A lighting ramp (60 %), gain 0.6-1.15 with a
   colour cast (30 % bluish, as street photos often are), haze towards a
   grey (40 %), washed-out colours (50 %), Gaussian blur of sigma 0.5-2.2 px
   of the final crop (90 %), JPEG at quality 30-95 (40 %).
9. **Crop** with ``data.svhn.crop_number``, exactly as the real crops: union
   of the digit boxes grown 1.3 x, clipped, resized to 64 x 64 ignoring the
   aspect ratio.  Then sensor noise (sigma 0.5-4 grey levels, 50 %).

``scenes`` draws a whole "photo" instead: a wall (patch or texture, maybe
with a door or window frame) of aspect 0.5-3.0, a number placed anywhere
with its union box 8-90 % of the scene width (log-uniform; less where the
scene is too low for such a number), the same camera without its blur, the
scene squashed to size x size, and then in half of the scenes a blur of sigma
0.3-0.8 px.  Its boxes are the digit boxes in the
output's pixels, for learning where the number is.

``background_patches`` cuts patches away from the digit boxes of real images
and ``train_backgrounds`` does so for the train PNGs of SVHN's format-1
subset tar (never the test images).

Speed: about 400-550 numbers or scenes a second on one core (the glyph cache
warm; ``time.process_time`` on the project's 2-core machine while another job
ran), i.e. well ahead of a NumPy reader's training on the same core.
"""

import csv
import math
import os
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from data.errors import DataError
from data.glyphs import GlyphCache, find_fonts
from data.paths import dataset_dir
from data.render import paint, place, plan_number, shift
from data.scenery import blur, finish, frame, lines, noise, patch_background, texture
from data.svhn import (
    BLANK,
    GROW,
    MAX_LENGTH,
    MISSING,
    NumberImages,
    crop_number,
    decode_image,
    extent,
)

LENGTH_P = np.array([0.16, 0.40, 0.28, 0.11, 0.05])
_BENFORD = np.log10(1 + 1 / np.arange(1, 10))
FIRST_DIGIT_P = np.concatenate([[0.02], 0.98 * (0.5 * _BENFORD + 0.5 / 9)])
HEIGHT_MEDIAN, HEIGHT_RANGE = 29.0, (10.0, 80.0)


def draw_labels(count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 5) int64 labels: lengths by LENGTH_P, digits 0-9, then BLANK."""
    lengths = rng.choice(MAX_LENGTH, size=count, p=LENGTH_P) + 1
    labels = rng.integers(0, 10, (count, MAX_LENGTH))
    labels[:, 0] = rng.choice(10, size=count, p=FIRST_DIGIT_P)
    labels[np.arange(MAX_LENGTH) >= lengths[:, None]] = BLANK
    return labels.astype(np.int64)


class HouseNumberGenerator:
    """Synthetic house numbers; see the module docstring for how they are drawn.

    backgrounds  (K, h, w, 3) uint8 patches of real walls, or None for synthetic walls only
    fonts        TrueType/OpenType paths; default ``find_fonts()``
    """

    def __init__(self, backgrounds: np.ndarray | None = None,
                 fonts: list[str] | None = None) -> None:
        if backgrounds is not None:
            backgrounds = np.asarray(backgrounds)
            if backgrounds.ndim != 4 or backgrounds.shape[3] != 3 or backgrounds.dtype != np.uint8 \
                    or len(backgrounds) == 0:
                raise ValueError("backgrounds must be a non-empty (K, h, w, 3) uint8 array, got "
                                 f"{backgrounds.dtype} {backgrounds.shape}")
        self.backgrounds = backgrounds
        self.fonts = list(find_fonts() if fonts is None else fonts)
        self._cache = GlyphCache()

    def warm_up(self) -> None:
        """Render all digit glyphs now (some seconds) instead of on first use.

        Worth it before timing, or before forking workers that share the cache.
        """
        self._cache.warm(self.fonts)

    def _wall(self, width: int, height: int, rng: np.random.Generator) -> Image.Image:
        if self.backgrounds is not None and rng.random() < 0.5:
            return patch_background(self.backgrounds, width, height, rng)
        return texture(width, height, rng)

    # ------------------------------------------------------------ number crops

    def numbers(self, count: int, rng: np.random.Generator, size: int = 64) -> NumberImages:
        """``count`` synthetic number crops, framed as SVHN's, (count, size, size, 3) uint8."""
        return self._draw(count, rng, size, self._number, "synthetic")

    def _draw(self, count: int, rng: np.random.Generator, size: int,
              draw: Callable[[list[int], np.random.Generator, int], tuple[np.ndarray, np.ndarray]],
              prefix: str) -> NumberImages:
        """Draw ``count`` labels, then one image and its boxes per label with ``draw``."""
        labels = draw_labels(count, rng)
        images = np.empty((count, size, size, 3), np.uint8)
        boxes = np.zeros((count, MAX_LENGTH, 4), np.float32)
        for i, row in enumerate(labels):
            digits = [int(d) for d in row if d != BLANK]
            images[i], boxes[i, :len(digits)] = draw(digits, rng, size)
        return NumberImages(images, labels, boxes, [f"{prefix}/{i}" for i in range(count)])

    def _number(self, digits: list[int], rng: np.random.Generator, size: int
                ) -> tuple[np.ndarray, np.ndarray]:
        height = float(np.clip(HEIGHT_MEDIAN * np.exp(rng.normal(0, 0.45)), *HEIGHT_RANGE))
        plan = plan_number(digits, height, self._cache, self.fonts, rng)
        homography, boxes = place(plan, height, rng)
        x0, y0, x1, y1 = extent(boxes)
        # The canvas holds the grown window (centred on (0, 0)) and a margin.
        half_w = max(abs(x0), abs(x1)) * GROW + 3
        half_h = max(abs(y0), abs(y1)) * GROW + 3
        width, hgt = math.ceil(2 * half_w), math.ceil(2 * half_h)
        homography = shift(homography, width / 2, hgt / 2)
        boxes = boxes + (width / 2, hgt / 2, 0, 0)
        canvas = self._wall(width, hgt, rng)
        if rng.random() < 0.25:
            lines(canvas, rng, int(rng.integers(1, 3)))
        paint(canvas, plan, homography)
        image = np.asarray(finish(canvas, rng, blur_scale=GROW * (y1 - y0) / size))
        if rng.random() < 0.15:                        # the photo ends inside the window
            image, boxes = _cut_side(image, boxes, (x1 - x0, y1 - y0), rng)
        crop, crop_boxes = crop_number(image, boxes, size)
        return noise(crop, rng), crop_boxes

    # ------------------------------------------------------------ whole scenes

    def scenes(self, count: int, rng: np.random.Generator, size: int = 64) -> NumberImages:
        """``count`` scenes squashed to size x size, each with one number anywhere in it.

        The boxes are the digit boxes in output pixels (``union_boxes()`` gives
        where the number is); labels as in ``numbers``.
        """
        return self._draw(count, rng, size, self._scene, "synthetic-scene")

    def _scene(self, digits: list[int], rng: np.random.Generator, size: int
               ) -> tuple[np.ndarray, np.ndarray]:
        aspect = rng.uniform(1.3, 3.0) if rng.random() < 0.7 else rng.uniform(0.5, 1.3)
        long = size * rng.uniform(1.5, 3.0)
        width, hgt = (round(long), round(long / aspect)) if aspect >= 1 else \
            (round(long * aspect), round(long))
        frac = math.exp(rng.uniform(math.log(0.08), math.log(0.9)))
        guess = frac * width / (0.7 * len(digits) + 0.3)
        plan = plan_number(digits, guess, self._cache, self.fonts, rng, neighbours=False)
        homography, boxes = place(plan, 1.0, rng)
        left, top, right, bottom = extent(boxes)
        uw, uh = right - left, bottom - top
        height = min(frac * width / uw, 0.9 * hgt / uh)
        homography = np.diag([height, height, 1.0]) @ homography
        boxes = boxes * height
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        dx = rng.uniform(-x0, width - x0 - uw * height)
        dy = rng.uniform(-y0, hgt - y0 - uh * height)
        homography = shift(homography, dx, dy)
        boxes = boxes + (dx, dy, 0, 0)
        canvas = self._wall(width, hgt, rng)
        if rng.random() < 0.3:
            frame(canvas, rng)
        if rng.random() < 0.3:
            lines(canvas, rng, int(rng.integers(1, 4)))
        paint(canvas, plan, homography)
        out = finish(canvas, rng, blur_scale=0).resize((size, size), Image.Resampling.BILINEAR)
        out = np.asarray(out)
        if rng.random() < 0.5:
            out = np.clip(blur(out.astype(np.float32), rng.uniform(0.3, 0.8)) + 0.5, 0, 255
                          ).astype(np.uint8)
        scale = np.array([size / width, size / hgt, size / width, size / hgt])
        return noise(out, rng), boxes * scale


def _cut_side(image: np.ndarray, boxes: np.ndarray, union_size: tuple[float, float],
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cut one side of the canvas to 0.02-0.12 x the union's size from the digits.

    ``union_size`` is the union's (width, height) as measured before the boxes
    were moved onto the canvas (the same but for rounding; kept so that the
    synthetic data stays the same bit for bit).
    """
    hgt, wid = image.shape[:2]
    x0, y0, x1, y1 = extent(boxes)
    side = int(rng.integers(4))
    room = rng.uniform(0.02, 0.12) * (union_size[0] if side % 2 == 0 else union_size[1])
    if side == 0:
        cut = max(0, math.floor(x0 - room))
        return image[:, cut:], boxes - (cut, 0, 0, 0)
    if side == 1:
        cut = max(0, math.floor(y0 - room))
        return image[cut:], boxes - (0, cut, 0, 0)
    if side == 2:
        return image[:, :min(wid, math.ceil(x1 + room))], boxes
    return image[:min(hgt, math.ceil(y1 + room))], boxes


# ---------------------------------------------------------------- background patches


def touching(rects: np.ndarray, boxes: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """For each rectangle (left, top, right, bottom) of ``rects`` (n, 4), whether it
    overlaps any box (left, top, width, height) of ``boxes`` (L, 4) grown by ``margin``
    px each way: (n,) bool."""
    r = np.asarray(rects, np.float64).reshape(-1, 4)[:, :, None]          # (n, 4, 1)
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return ((r[:, 0] < b[:, 0] + b[:, 2] + margin) & (r[:, 2] > b[:, 0] - margin)
            & (r[:, 1] < b[:, 1] + b[:, 3] + margin) & (r[:, 3] > b[:, 1] - margin)).any(axis=1)


TRIES_PER_PATCH = 20            # images tried per patch asked for, before giving up
RECTANGLES_PER_TRY = 32         # random rectangles drawn in one image per try


def background_patches(numbers: NumberImages | Sequence[tuple[np.ndarray, np.ndarray]],
                       size: int, count: int, rng: np.random.Generator,
                       min_side: int = 6) -> np.ndarray:
    """(K <= count, size, size, 3) uint8 patches cut from images where no digit box is.

    ``numbers`` is a NumberImages (e.g. the 64 x 64 train crops) or a list of
    (image (H, W, 3) uint8, digit boxes (L, 4) left, top, width, height).
    Each patch is a rectangle of sides >= ``min_side`` px (aspect at most 4)
    that overlaps no digit box grown by 1 px, resized to size x size.  Fewer
    than ``count`` come back only if the images have too little free room.
    """
    if isinstance(numbers, NumberImages):
        lengths = numbers.lengths()
        items = [(im, b[:n]) for im, b, n in zip(numbers.images, numbers.boxes, lengths,
                                                  strict=True)]
    else:
        items = [(np.asarray(im), np.asarray(b, np.float64).reshape(-1, 4)) for im, b in numbers]
    out: list[np.ndarray] = []
    if not items:
        return np.zeros((0, size, size, 3), np.uint8)
    for _ in range(count * TRIES_PER_PATCH):
        if len(out) == count:
            break
        image, boxes = items[rng.integers(len(items))]
        hgt, wid = image.shape[:2]
        if min(hgt, wid) < min_side:
            continue
        n = RECTANGLES_PER_TRY                # drawn at once; the first free one is cut
        longest = max(min_side, min(hgt, wid, 4 * size))
        w = np.exp(rng.uniform(math.log(min_side), math.log(longest) + 1e-9, n))
        h = np.clip(w * np.exp(rng.uniform(-math.log(4), math.log(4), n)), min_side, hgt)
        w = np.minimum(w, wid)
        x = rng.uniform(0, 1, n) * (wid - w)
        y = rng.uniform(0, 1, n) * (hgt - h)
        hit = touching(np.stack([x, y, x + w, y + h], axis=1), boxes)
        free = np.nonzero(~hit)[0]
        if len(free) == 0:
            continue
        k = free[0]
        xa, ya = int(x[k]), int(y[k])
        piece = image[ya:ya + max(1, int(h[k])), xa:xa + max(1, int(w[k]))]
        img = Image.fromarray(np.ascontiguousarray(piece)).resize((size, size),
                                                                  Image.Resampling.BILINEAR)
        out.append(np.asarray(img))
    if not out:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack(out)


SUBSET_TAR = "format1_subset_png.tar"
ANNOTATIONS = "annotations.csv"


def train_backgrounds(data_dir: str | os.PathLike | None = None, size: int = 32,
                      per_image: int = 8, rng: np.random.Generator | None = None) -> np.ndarray:
    """Background patches from the full-size SVHN *train* PNGs of the format-1 subset tar.

    Reads only the ``train/<n>.png`` members of ``svhn/format1_subset_png.tar``
    and their boxes in ``svhn/annotations.csv``; test images are never read.
    Returns (K, size, size, 3) uint8, up to ``per_image`` patches per image.
    Raises DataError naming the file when a file is missing or damaged.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    folder = dataset_dir("svhn", data_dir)
    boxes = _train_boxes(folder / ANNOTATIONS)
    tar_path = folder / SUBSET_TAR
    if not tar_path.is_file():
        raise DataError(f"{tar_path}: {MISSING}")
    items = []
    try:
        with tarfile.open(tar_path) as tar:
            for member in tar:
                parts = Path(member.name).parts
                if not member.isfile() or len(parts) != 2 or parts[0] != "train" \
                        or not parts[1].endswith(".png"):
                    continue
                if parts[1] not in boxes:
                    raise DataError(f"{tar_path}:{member.name}: no digit boxes in "
                                    f"{folder / ANNOTATIONS}")
                image = decode_image(tar.extractfile(member).read(), f"{tar_path}:{member.name}")
                items.append((int(Path(parts[1]).stem) if parts[1][:-4].isdigit() else 0,
                              image, np.array(boxes[parts[1]], np.float64)))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{tar_path}: damaged tar file ({err})") from None
    if not items:
        raise DataError(f"{tar_path}: holds no train/<n>.png images")
    items.sort(key=lambda item: item[0])
    patches = [background_patches([(image, b)], size, per_image, rng, min_side=max(8, size // 2))
               for _, image, b in items]
    return np.concatenate(patches)


def _train_boxes(path: Path) -> dict[str, list[list[float]]]:
    """annotations.csv -> {train file name: [[left, top, width, height], ...]}."""
    if not path.is_file():
        raise DataError(f"{path}: {MISSING}")
    boxes: dict[str, list[list[float]]] = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("split") == "train":
                    boxes.setdefault(row["filename"], []).append(
                        [float(row[k]) for k in ("left", "top", "width", "height")])
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: unreadable annotations ({err!r}); expected columns split, "
                        "filename, left, top, width, height") from None
    return boxes


__all__ = ["HouseNumberGenerator", "background_patches", "draw_labels", "find_fonts",
           "train_backgrounds"]
