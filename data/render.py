"""One synthetic house number: its glyphs laid out, mapped onto a canvas, painted.

``plan_number`` decides everything about one number's look (font, boldness,
spacing, neighbouring characters, plate, colours, outline, shadow) and lays
its glyphs out side by side at a reference height.  ``place`` turns a plan
into a perspective map from that layout to a canvas (scale, horizontal
stretch, slant, rotation, corner jitter) and returns the digit boxes it maps
to; ``paint`` draws the plan onto a PIL canvas through that map.  See
data/housenumbers.py for how they are combined.
"""

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import maximum_filter

from data.glyphs import LEVELS, STROKE_FONT, Glyph, GlyphCache
from data.scenery import LUMA, colour, colours, rgb
from data.svhn import sizes

NEIGHBOURS = "0123456789ABCDEFabcd-/"   # characters that may stand beside a number


@dataclass
class Plan:
    """One number laid out at the reference height ``level`` (px), and how to draw it."""

    level: int
    mask: np.ndarray                 # (h, w) uint8: digits and neighbours
    points: np.ndarray               # (n, 2) extreme ink points of all digits, in mask pixels
    starts: np.ndarray               # (L,) where each digit's points start in ``points``
    ink: np.ndarray                  # (4,) left, top, right, bottom of the digits' ink
    grow: float                      # px (reference) the outline adds around the ink
    ink_colour: np.ndarray
    plate_colour: np.ndarray
    outline: tuple[np.ndarray, int] | None   # (colour, px) or None
    shadow: tuple[np.ndarray, float, float, float] | None   # colour, dx, dy (x height), alpha
    plate: tuple[float, float, float, float] | None          # margins l, t, r, b (x level)
    oval: bool
    border: tuple[np.ndarray, float, float] | None           # colour, inset, width (x level)


def _glyphs(cache: GlyphCache, font: str, text: str, bold: int, level: int, variant: int
            ) -> list[Glyph]:
    return [cache.get(font, c, bold, level, variant) for c in text]


def plan_number(digits: list[int], height: float, cache: GlyphCache, fonts: list[str],
                rng: np.random.Generator, neighbours: bool = True) -> Plan:
    """Choose the look of one number and lay its glyphs out; ``height`` is the digit height
    in canvas px it will be drawn at (it picks the rendering level)."""
    level = next((lv for lv in LEVELS if lv >= height), LEVELS[-1])
    thickness = rng.uniform(0.09, 0.28)              # stroke width / digit height wanted
    if rng.random() < 0.2 or not fonts:
        font, variant = STROKE_FONT, int(rng.integers(4))
        bold = int(np.clip(round((thickness - 0.07) / 0.03), 0, 5))
    else:
        font, variant = fonts[rng.integers(len(fonts))], 0
        bold = int(np.clip(round((thickness - cache.thickness(font)) * 24), 0, 4))
    glyphs = _glyphs(cache, font, "".join(map(str, digits)), bold, level, variant)
    side = [None, None]
    if neighbours:
        for k in range(2):
            if rng.random() < 0.12:
                letter = font != STROKE_FONT and rng.random() < 0.3
                char = NEIGHBOURS[rng.integers(10, len(NEIGHBOURS))] if letter else \
                    NEIGHBOURS[rng.integers(10)]
                side[k] = cache.get(font, char, bold, level, variant)
    gap = level * (rng.uniform(-0.06, 0.08) if rng.random() < 0.2 else rng.uniform(0.05, 0.45))
    slope = rng.normal(0, 0.12) if rng.random() < 0.1 else 0.0      # a staircase of digits
    pen, placed = 0.0, []
    for g in glyphs:
        dy = level * (slope * len(placed) + rng.normal(0, 0.015))
        placed.append((pen - g.ink[0] + g.x, g.y + dy, g))
        pen += g.ink[2] - g.ink[0] + gap + level * rng.normal(0, 0.02)
    left = min(x + g.ink[0] - g.x for x, _, g in placed)
    right = max(x + g.ink[2] - g.x for x, _, g in placed)
    span = right - left
    for k, g in enumerate(side):                       # partly inside the 1.3 x window
        if g is None:
            continue
        room = 0.15 * span * rng.uniform(0.35, 1.0)
        w = g.ink[2] - g.ink[0]
        x = left - room - w - g.ink[0] + g.x if k == 0 else right + room - g.ink[0] + g.x
        placed.append((x, g.y + level * rng.normal(0, 0.02), g))
    pad = 4 + level // 4
    x0 = math.floor(min(x for x, _, _ in placed)) - pad
    y0 = math.floor(min(y for _, y, _ in placed)) - pad
    x1 = math.ceil(max(x + g.mask.shape[1] for x, _, g in placed)) + pad
    y1 = math.ceil(max(y + g.mask.shape[0] for _, y, g in placed)) + pad
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    points = []
    for i, (x, y, g) in enumerate(placed):
        c, r = int(round(x)) - x0, int(round(y)) - y0
        h, w = g.mask.shape
        np.maximum(mask[r:r + h, c:c + w], g.mask, out=mask[r:r + h, c:c + w])
        if i < len(digits):
            points.append(g.points + (c, r))
    starts = np.cumsum([0] + [len(p) for p in points[:-1]])
    points = np.concatenate(points)
    ink = np.array([*points.min(0), *points.max(0)])

    ink_colour, plate_colour = colours(rng)
    outline = None
    grow = 0.0
    if rng.random() < 0.15:
        px = int(rng.integers(1, max(2, level // 12) + 1))
        out_y = float(LUMA @ ink_colour)
        out_colour = colour(rng, 1 - out_y if rng.random() < 0.7 else rng.random(), rng.random())
        outline, grow = (out_colour, px), float(px)
    shadow = None
    if rng.random() < 0.15:
        shadow = (plate_colour * rng.uniform(0.1, 0.5), rng.normal(0, 0.05),
                  abs(rng.normal(0, 0.05)), rng.uniform(0.4, 0.9))
    plate = oval = border = None
    if rng.random() < 0.65:
        big = rng.random() < 0.5
        lo, hi = (0.25, 1.2) if big else (0.04, 0.35)
        plate = tuple(rng.uniform(lo, hi, 4) * np.array([1, 0.6, 1, 0.6]))
        oval = rng.random() < 0.08
        if rng.random() < 0.3:
            border = (ink_colour, rng.uniform(0.05, 0.15), rng.uniform(0.03, 0.08))
    return Plan(level, mask, points, starts, ink, grow, ink_colour, plate_colour, outline, shadow,
                plate, bool(oval), border)


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3 x 3 perspective map taking the 4 points src to the 4 points dst."""
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        a += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        b += [u, v]
    return np.append(np.linalg.solve(np.array(a, float), np.array(b, float)), 1.0).reshape(3, 3)


def apply(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = points @ homography[:, :2].T + homography[:, 2]
    return p[:, :2] / p[:, 2:3]


def place(plan: Plan, height: float, rng: np.random.Generator
          ) -> tuple[np.ndarray, np.ndarray]:
    """A map from the plan's mask to a canvas where the digits are ``height`` px high and the
    union of the digit ink is centred on (0, 0), and the digit boxes (L, 4) it gives there
    (left, top, width, height), tight around the ink plus an annotator's margin."""
    s = height / plan.level
    stretch = float(np.exp(np.clip(rng.normal(-0.12, 0.2), -0.5, 0.35)))
    shear = float(np.clip(rng.normal(0, 0.1), -0.3, 0.3))
    if rng.random() < 0.2:
        shear = 0.0
    angle = math.radians(float(np.clip(rng.normal(0, 3), -8, 8)))
    x0, y0, x1, y1 = plan.ink
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    src = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
    d = (src - (cx, cy)) * (s * stretch, s)
    d[:, 0] -= shear * d[:, 1]
    cos, sin = math.cos(angle), math.sin(angle)
    d = d @ np.array([[cos, sin], [-sin, cos]])
    if rng.random() < 0.4:                             # perspective: jitter the corners
        d += rng.normal(0, 0.04, (4, 2)) * height
    homography = _homography(src, d)
    q = apply(homography, plan.points)
    boxes = np.concatenate([np.minimum.reduceat(q, plan.starts),
                            np.maximum.reduceat(q, plan.starts)], axis=1)
    g = plan.grow * s
    pad_x, pad_y = rng.uniform(0, 0.07) * height, rng.uniform(0, 0.04) * height
    boxes += np.array([-g - pad_x, -g - pad_y, g + pad_x, g + pad_y])
    boxes += rng.normal(0, 0.012 * height, boxes.shape)
    centre = np.array([(boxes[:, 0].min() + boxes[:, 2].max()) / 2,
                       (boxes[:, 1].min() + boxes[:, 3].max()) / 2])
    homography = shift(homography, -centre[0], -centre[1])
    boxes -= np.tile(centre, 2)
    return homography, sizes(boxes)


def shift(homography: np.ndarray, dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], float) @ homography


def _warp(mask: Image.Image, homography: np.ndarray, size: tuple[int, int]
          ) -> tuple[Image.Image, tuple[int, int]] | None:
    """The mask seen through homography, cut to where it lands inside a canvas of ``size``:
    (image, (left, top) on the canvas), or None when it lands outside."""
    w, hgt = mask.size
    corners = apply(homography, np.array([[0, 0], [w, 0], [w, hgt], [0, hgt]], float))
    x0, y0 = np.floor(corners.min(0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(size[0], x1), min(size[1], y1)
    if x1 <= x0 or y1 <= y0:
        return None
    inv = np.linalg.inv(shift(homography, -x0, -y0))
    inv /= inv[2, 2]
    out = mask.transform((int(x1 - x0), int(y1 - y0)), Image.Transform.PERSPECTIVE,
                         tuple(inv.ravel()[:8]), Image.Resampling.BILINEAR)
    return out, (int(x0), int(y0))


def _stamp(canvas: Image.Image, warped: tuple[Image.Image, tuple[int, int]] | None,
           fill: tuple[int, int, int]) -> None:
    """Paint ``fill`` through a warped mask (see _warp) onto the canvas."""
    if warped is not None:
        cover, (x, y) = warped
        canvas.paste(fill, (x, y, x + cover.size[0], y + cover.size[1]), cover)


def _plate_outline(plan: Plan, inset: float) -> np.ndarray:
    x0, y0, x1, y1 = plan.ink
    ml, mt, mr, mb = (m * plan.level for m in plan.plate)
    x0, y0, x1, y1 = x0 - ml + inset, y0 - mt + inset, x1 + mr - inset, y1 + mb - inset
    if plan.oval:
        t = np.linspace(0, 2 * math.pi, 32, endpoint=False)
        return np.stack([(x0 + x1) / 2 + (x1 - x0) / 2 * 1.15 * np.cos(t),
                         (y0 + y1) / 2 + (y1 - y0) / 2 * 1.15 * np.sin(t)], axis=1)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def _ink_on_wall(canvas: Image.Image, plan: Plan, homography: np.ndarray) -> np.ndarray:
    """Without a plate the digits stand on the wall: keep the planned contrast to the wall
    under them (not to the unused plate colour), so that they stay visible."""
    x0, y0, x1, y1 = plan.ink
    corners = apply(homography, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float))
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, None)
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
    under = np.asarray(canvas)[y0:y1, x0:x1].reshape(-1, 3)
    if len(under) == 0:
        return plan.ink_colour
    wall_y = float(LUMA @ under.mean(0)) / 255
    ink_y, plate_y = float(LUMA @ plan.ink_colour), float(LUMA @ plan.plate_colour)
    contrast, lighter = abs(ink_y - plate_y), ink_y > plate_y
    if (lighter and wall_y + contrast > 1) or (not lighter and wall_y - contrast < 0):
        lighter = not lighter
    target = wall_y + contrast if lighter else wall_y - contrast
    return np.clip(plan.ink_colour + (target - ink_y), 0, 1)


def paint(canvas: Image.Image, plan: Plan, homography: np.ndarray) -> None:
    """Draw the plate, shadow, outline and digits of ``plan`` through ``homography`` onto
    canvas, in place."""
    ink_colour = (plan.ink_colour if plan.plate is not None
                  else _ink_on_wall(canvas, plan, homography))
    draw = ImageDraw.Draw(canvas)
    if plan.plate is not None:
        draw.polygon([tuple(p) for p in apply(homography, _plate_outline(plan, 0.0)).tolist()],
                     fill=rgb(plan.plate_colour))
        if plan.border is not None:
            colour_, inset, width = plan.border
            scale = abs(np.linalg.det(homography[:2, :2])) ** 0.5
            inner = _plate_outline(plan, inset * plan.level)
            pts = [tuple(p) for p in apply(homography, inner).tolist()]
            draw.line(pts + pts[:1], fill=rgb(colour_), joint="curve",
                      width=max(1, round(width * plan.level * scale)))
    mask = Image.fromarray(plan.mask)
    thick = mask
    if plan.outline is not None:
        k = plan.outline[1]
        disk = np.hypot(*np.mgrid[-k:k + 1, -k:k + 1]) <= k + 0.3
        thick = Image.fromarray(maximum_filter(plan.mask, footprint=disk))
    warped = _warp(thick, homography, canvas.size) if plan.outline or plan.shadow else None
    if plan.shadow is not None and warped is not None:
        shade, dx, dy, alpha = plan.shadow
        # the digit height on the canvas
        step = plan.level * abs(np.linalg.det(homography[:2, :2])) ** 0.5
        cover, (x, y) = warped
        x, y = x + round(dx * step), y + round(dy * step)
        canvas.paste(rgb(shade), (x, y, x + cover.size[0], y + cover.size[1]),
                     cover.point([int(v * alpha + 0.5) for v in range(256)]))
    if plan.outline is not None:
        _stamp(canvas, warped, rgb(plan.outline[0]))
    _stamp(canvas, _warp(mask, homography, canvas.size), rgb(ink_colour))
