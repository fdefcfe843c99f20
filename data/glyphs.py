"""Digit glyphs for the synthetic house numbers: fonts, a stroke font, a glyph cache.

``find_fonts`` lists the TrueType fonts that can draw all ten digits: those
shipped with matplotlib (DejaVu, STIX, Computer Modern) and any under
``/usr/share/fonts``.  A font is kept only if its ten digits have ink, are all
different, have about the same height (lining figures, no symbol fonts, no
old-style figures) and look like digits: scaled to its ink box, each rendered
digit is compared (by correlation) with DejaVu Sans's digits, upright and in
three slants, and against one of these four references at least nine of the
ten must be nearest to their own digit, and every digit correlate above 0.3
with it.

``GlyphCache`` renders one character once per (font, stroke width, height
level) and keeps its ink mask with the points that decide its bounding box
under any affine or perspective map (the leftmost and rightmost ink pixel of
every row: the convex hull's corners are among them).  Besides the TrueType
fonts it has a parametric *stroke font*: digits drawn as thick polylines with
round joints, in a few variants (open or closed 4, flagged or plain 1, curved
or straight 9 tail), which adds shapes the shipped fonts lack.
"""

import glob
import math
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DIGITS = "0123456789"
INK = 128                  # a pixel with coverage >= 128 / 255 is ink (box edges)
LEVELS = (16, 24, 32, 48)   # digit heights in px at which glyphs are rendered
STROKE_FONT = "stroke"     # the font name of the stroke font in glyph keys


@dataclass(frozen=True)
class Glyph:
    """One rendered character.

    mask    (h, w) uint8 coverage, 0-255
    x, y    where mask pixel (0, 0) sits relative to the pen (left end of the baseline)
    points  (n, 2) float64 corners of the ink pixels (>= INK) that can be extreme,
            relative to mask pixel (0, 0): pixel (i, j) covers [j, j+1) x [i, i+1)
    ink     (left, top, right, bottom) of those ink pixels, relative to the pen
    """

    mask: np.ndarray
    x: int
    y: int
    points: np.ndarray
    ink: tuple[int, int, int, int]


def _glyph_from_mask(mask: np.ndarray, x: int, y: int) -> Glyph | None:
    """Crop a rendered mask to its non-zero pixels and find its extreme ink points."""
    solid = mask >= INK
    if not solid.any():
        return None
    nz_r, nz_c = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    r0, r1, c0, c1 = nz_r[0], nz_r[-1] + 1, nz_c[0], nz_c[-1] + 1
    mask, solid = mask[r0:r1, c0:c1], solid[r0:r1, c0:c1]
    rows = np.nonzero(solid.any(axis=1))[0]
    left = solid[rows].argmax(axis=1)
    right = solid.shape[1] - solid[rows][:, ::-1].argmax(axis=1)
    points = np.concatenate([np.stack([left, rows], 1), np.stack([left, rows + 1], 1),
                             np.stack([right, rows], 1), np.stack([right, rows + 1], 1)]
                            ).astype(np.float64)
    x, y = x + int(c0), y + int(r0)
    ink = (x + int(left.min()), y + int(rows[0]), x + int(right.max()), y + int(rows[-1]) + 1)
    return Glyph(np.ascontiguousarray(mask), x, y, points, ink)


def _render_truetype(font: ImageFont.FreeTypeFont, char: str, stroke: int) -> Glyph | None:
    left, top, right, bottom = font.getbbox(char, anchor="ls", stroke_width=stroke)
    pad = 2
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), char, font=font, fill=255, anchor="ls",
                               stroke_width=stroke, stroke_fill=255)
    return _glyph_from_mask(np.asarray(image), left - pad, top - pad)


# ---------------------------------------------------------------- the stroke font
# Digits in a box 0.6 wide and 1 high, y down, the baseline at y = 1.


def _arc(cx: float, cy: float, rx: float, ry: float, t0: float, t1: float, n: int = 14
         ) -> list[tuple[float, float]]:
    t = np.radians(np.linspace(t0, t1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


def _stroke_paths(char: str, variant: int) -> list[list[tuple[float, float]]]:
    """Polylines of one digit of the stroke font; ``variant`` 0-3 picks alternative shapes."""
    if char == "0":
        return [_arc(0.3, 0.5, 0.29, 0.5, 0, 360, 28)]
    if char == "1":
        paths = [[(0.34, 0.0), (0.34, 1.0)]]
        if variant % 2 == 0:
            paths.append([(0.34, 0.0), (0.1, 0.2)])
        if variant >= 2:
            paths.append([(0.1, 1.0), (0.58, 1.0)])
        return paths
    if char == "2":
        return [_arc(0.3, 0.29, 0.28, 0.28, 195, 385) + [(0.02, 1.0), (0.6, 1.0)]]
    if char == "3":
        if variant % 2:
            return [[(0.04, 0.0), (0.56, 0.0), (0.25, 0.42)] + _arc(0.3, 0.7, 0.29, 0.3, -100, 160)]
        return [_arc(0.29, 0.26, 0.26, 0.24, 200, 450) + _arc(0.29, 0.75, 0.3, 0.25, -90, 160)]
    if char == "4":
        if variant % 2:
            return [[(0.46, 1.0), (0.46, 0.0), (0.0, 0.7), (0.6, 0.7)]]
        return [[(0.2, 0.0), (0.0, 0.68), (0.6, 0.68)], [(0.46, 0.3), (0.46, 1.0)]]
    if char == "5":
        return [[(0.56, 0.0), (0.12, 0.0), (0.08, 0.46)] + _arc(0.3, 0.68, 0.29, 0.32, -135, 155)]
    if char in "69":
        if variant % 2:
            nine = [_arc(0.3, 0.32, 0.28, 0.32, 0, 360, 24), [(0.58, 0.32), (0.46, 1.0)]]
        else:
            nine = [_arc(0.3, 0.32, 0.28, 0.32, 0, 360, 24), _arc(0.3, 0.32, 0.28, 0.68, 0, 115)]
        if char == "9":
            return nine
        return [[(0.6 - x, 1.0 - y) for x, y in path] for path in nine]
    if char == "7":
        if variant % 2:
            return [[(0.0, 0.0), (0.6, 0.0), (0.22, 1.0)], [(0.15, 0.5), (0.52, 0.5)]]
        return [[(0.0, 0.0), (0.6, 0.0), (0.22, 1.0)]]
    if char == "8":
        return [_arc(0.3, 0.25, 0.24, 0.25, 0, 360, 24), _arc(0.3, 0.72, 0.29, 0.28, 0, 360, 24)]
    raise ValueError(f"the stroke font has no {char!r}")


def _render_stroke(char: str, variant: int, height: int, thickness: float) -> Glyph | None:
    """Draw a stroke-font digit ``height`` px high (ink), strokes ``thickness`` x height wide."""
    width = max(1, round(thickness * height))
    inner = height - width                           # the path's extent; the ink adds width
    pad = width + 2
    image = Image.new("L", (int(0.6 * inner) + 2 * pad + 2, inner + 2 * pad + 2), 0)
    draw = ImageDraw.Draw(image)
    r = width / 2
    for path in _stroke_paths(char, variant):
        pts = [(pad + x * inner, pad + y * inner) for x, y in path]
        draw.line(pts, fill=255, width=width, joint="curve")
        for px, py in (pts[0], pts[-1]):
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return _glyph_from_mask(np.asarray(image), -pad, -pad - inner)


# ---------------------------------------------------------------- font checks


@lru_cache(maxsize=4096)
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _digit_shapes(path: str) -> list[np.ndarray] | None:
    """The ten digits of a font, each scaled to its ink box as 16 x 16 floats; None if unusable."""
    try:
        font = _truetype(path, 48)
    except OSError:
        return None
    shapes, heights = [], []
    for char in DIGITS:
        glyph = _render_truetype(font, char, 0)
        if glyph is None:
            return None
        heights.append(glyph.mask.shape[0])
        img = Image.fromarray(glyph.mask).resize((16, 16), Image.Resampling.BILINEAR)
        shapes.append(np.asarray(img, np.float64) / 255)
    heights = np.asarray(heights, np.float64)
    if heights.min() < 0.8 * np.median(heights) or heights.max() > 1.25 * np.median(heights):
        return None                                   # old-style figures or symbols
    return shapes


def _reference_shapes() -> list[list[np.ndarray]]:
    """DejaVu Sans digits (16 x 16, scaled to their ink box), upright and slanted 3 ways."""
    import matplotlib

    path = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf",
                        "DejaVuSans.ttf")
    font = _truetype(path, 48)
    slants = []
    for shear in (0.0, 0.12, 0.22, 0.32):
        shapes = []
        for char in DIGITS:
            mask = _render_truetype(font, char, 0).mask
            h, w = mask.shape
            extra = int(math.ceil(shear * h))
            # x_in = x_out + shear * y_out - shear * h: the top moves right, the baseline stays
            image = Image.fromarray(mask).transform(
                (w + extra, h), Image.Transform.AFFINE, (1, shear, -shear * h, 0, 1, 0),
                Image.Resampling.BILINEAR)
            glyph = _glyph_from_mask(np.asarray(image), 0, 0)
            img = Image.fromarray(glyph.mask).resize((16, 16), Image.Resampling.BILINEAR)
            shapes.append(np.asarray(img, np.float64) / 255)
        slants.append(shapes)
    return slants


def _matches(shapes: list[np.ndarray], reference: list[np.ndarray]) -> bool:
    """Each digit is nearest (by correlation) to the same reference digit, for 9 of 10."""
    a = np.stack([s.ravel() for s in shapes])
    b = np.stack([s.ravel() for s in reference])
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    corr = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (
        b / np.linalg.norm(b, axis=1, keepdims=True)).T
    return bool((corr.argmax(axis=1) == np.arange(10)).sum() >= 9 and np.diag(corr).min() > 0.3)


def font_renders_digits(path: str, reference: list[list[np.ndarray]] | None = None) -> bool:
    """Whether the font at ``path`` draws 0-9 as ten distinct, digit-like glyphs."""
    shapes = _digit_shapes(path)
    if shapes is None:
        return False
    flat = np.stack([s.ravel() for s in shapes])
    if min(np.abs(a - b).mean() for i, a in enumerate(flat) for b in flat[i + 1:]) < 0.02:
        return False                                  # two digits drawn alike (a missing glyph)
    return any(_matches(shapes, ref) for ref in (reference or _reference_shapes()))


def find_fonts(folders: list[str] | None = None) -> list[str]:
    """TrueType/OpenType fonts that draw all ten digits, sorted, one per file name.

    Default folders: matplotlib's ``mpl-data/fonts/ttf`` and ``/usr/share/fonts``.
    """
    if folders is None:
        import matplotlib

        folders = [os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf"),
                   "/usr/share/fonts"]
    return list(_find_fonts(tuple(folders)))


@lru_cache(maxsize=8)
def _find_fonts(folders: tuple[str, ...]) -> tuple[str, ...]:
    reference = _reference_shapes()
    seen, found = set(), []
    for folder in folders:
        paths = []
        for ext in ("ttf", "otf", "TTF", "OTF"):
            paths += glob.glob(os.path.join(folder, "**", f"*.{ext}"), recursive=True)
        for path in sorted(paths):
            name = os.path.basename(path).lower()
            if name not in seen and font_renders_digits(path, reference):
                seen.add(name)
                found.append(path)
    return tuple(sorted(found, key=os.path.basename))


# ---------------------------------------------------------------- the cache


class GlyphCache:
    """Rendered glyphs by (font, character, boldness, height level), made on first use.

    ``font`` is a font file path or ``STROKE_FONT``; ``level`` is one of LEVELS,
    the height in px of the font's digits; ``bold`` (0-4) thickens TrueType
    strokes by bold x level / 48 px on each side; for the stroke font (0-5) it
    sets the line thickness to 0.07 + 0.03 x bold of the height, and
    ``variant`` picks the shapes.
    """

    def __init__(self) -> None:
        self._glyphs: dict[tuple, Glyph | None] = {}
        self._sizes: dict[str, float] = {}
        self._thickness: dict[str, float] = {}

    def thickness(self, font: str) -> float:
        """The font's typical stroke width over its digit height (median ink run across rows)."""
        if font not in self._thickness:
            runs = []
            for char in DIGITS:
                ink = (self.get(font, char, 0, 48).mask >= INK).astype(np.int8)
                edges = np.diff(np.pad(ink, ((0, 0), (1, 1))), axis=1)
                runs.append(np.nonzero(edges == -1)[1] - np.nonzero(edges == 1)[1])
            self._thickness[font] = float(np.median(np.concatenate(runs))) / 48
        return self._thickness[font]

    def _font_size(self, path: str, level: int) -> int:
        """The point size at which the font's digits are ``level`` px high."""
        if path not in self._sizes:
            font = _truetype(path, 100)
            heights = [g.ink[3] - g.ink[1] for g in (_render_truetype(font, c, 0) for c in DIGITS)
                       if g is not None]
            self._sizes[path] = 100.0 / float(np.median(heights))
        return max(4, round(level * self._sizes[path]))

    def get(self, font: str, char: str, bold: int, level: int, variant: int = 0) -> Glyph | None:
        key = (font, char, bold, level, variant if font == STROKE_FONT else 0)
        if key not in self._glyphs:
            if font == STROKE_FONT:
                glyph = _render_stroke(char, variant, level, 0.07 + 0.03 * bold)
            else:
                size = self._font_size(font, level)
                stroke = math.floor(bold * level / 48 + 0.5)
                glyph = _render_truetype(_truetype(font, size), char, stroke)
            self._glyphs[key] = glyph
        return self._glyphs[key]

    def warm(self, fonts: list[str], chars: str = DIGITS) -> int:
        """Render every digit of every font at every level and boldness now; returns the count."""
        for font in [*fonts, STROKE_FONT]:
            for level in LEVELS:
                for bold in range(6 if font == STROKE_FONT else 5):
                    for variant in range(4 if font == STROKE_FONT else 1):
                        for char in chars:
                            self.get(font, char, bold, level, variant)
        return len(self._glyphs)

    def nbytes(self) -> int:
        """Memory held by the cached glyphs."""
        return sum(g.mask.nbytes + g.points.nbytes for g in self._glyphs.values() if g is not None)
