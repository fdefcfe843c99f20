"""Any image Pillow reads -> the reader's input: a 28 x 140 grey strip, white ink on black.

The model was trained on strips like the ones ``data.make_strips`` draws:
black background (0), white ink (up to 255), characters about 16-20 px tall
in a 28 px high strip. An image from elsewhere (a scan, a photo, a drawing)
is brought to that form in six steps:

1. **Open safely.** The header is read first; an image of more than
   ``MAX_PIXELS`` pixels is refused before it is decoded (a small file can
   declare a huge image: a "decompression bomb"), except that a JPEG, such as
   a phone's 48-200 MP photo, is decoded at a half, a quarter or an eighth of
   its size when that fits. EXIF rotation is applied,
   the first frame of an animation is used, transparency is laid on white, and
   16-bit or float grey levels are brought to 0-255 (``eight_bit``).
2. **Grey.** Colour becomes luminance (Pillow's "L" conversion).
3. **Ink is white.** The background is taken to be the median of the border
   pixels; if it is light (> 127), the image is inverted.
4. **Background black, ink bright.** The background level is subtracted and
   the brightest ink (its 99.5th percentile) is stretched to 255.
5. **Crop to the ink**, the bounding box of pixels above 30 % of full ink (an
   image with none, of one flat colour, is refused: UserError).
6. **Fit by aspect ratio with padding.** The crop is scaled, keeping its
   aspect ratio, to be ``INK_HEIGHT`` (20) px tall, like an MNIST digit, or
   less if it would then be wider than the strip; it is centred on a black
   28 x 140 canvas.

So a number written dark on light paper, in any size, reads like the training
strips; a number much wider than five characters is shrunk to fit. An image
that is already 28 x 140 is taken to be a strip and only inverted if needed.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from reader.cli import UserError

HEIGHT, WIDTH = 28, 140
INK_HEIGHT = 20                   # px: MNIST digits are drawn in a 20 x 20 box
MAX_PIXELS = 40_000_000           # refuse larger images before decoding them
INK_FRACTION = 0.3
FLAT_LEVELS = 4                   # an image whose levels span no more than this shows nothing


def open_rgb(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file into (H, W, 3) uint8 RGB; UserError naming the file if unreadable
    (``open_photo`` without the full size)."""
    return open_photo(path, max_pixels)[0]


def open_photo(path: str | os.PathLike, max_pixels: int = MAX_PIXELS
               ) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode an image file into (H, W, 3) uint8 RGB, and the (width, height) the
    image has in full, as displayed (after its EXIF rotation); the array is smaller
    for a JPEG decoded at a fraction of its size. UserError naming the file if
    unreadable.

    Steps: refuse more than ``max_pixels`` before decoding (``within_limit``),
    take the first frame, apply the EXIF rotation, bring 16-bit and float levels
    to 0-255, lay transparency on white.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        with _pillow_size_check_off():
            with Image.open(path) as image:
                full = within_limit(image, path, max_pixels)         # (width, height) stored
                image.seek(0)
                stored = image.size
                image = ImageOps.exif_transpose(image)
                if image.size != stored:                             # turned a quarter
                    full = full[::-1]
                image = eight_bit(image)                 # before the alpha step, which clips
                if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    rgba = image.convert("RGBA")
                    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    image = Image.alpha_composite(white, rgba)
                rgb = np.asarray(image.convert("RGB"))                       # (H, W, 3)
    except UserError:
        raise
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise UserError(f"{path}: damaged or unreadable image ({err})") from None
    if rgb.size == 0:
        raise UserError(f"{path}: the image has no pixels")
    return rgb, full


@contextmanager
def _pillow_size_check_off() -> Iterator[None]:
    """Pillow's own guard against decompression bombs refuses an image above ~179 MP
    when it is opened, before its format is known; ``within_limit`` takes its place
    (a JPEG can still be decoded smaller, anything else over the limit is refused,
    both before decoding)."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def within_limit(image: Image.Image, path: Path, max_pixels: int) -> tuple[int, int]:
    """Before decoding: keep ``image`` (opened, not yet decoded) within ``max_pixels``,
    or raise UserError; returns its full (width, height).

    A JPEG over the limit, such as a phone's 48-200 MP photo (or an MPO, the JPEG
    some phones write with a depth map), is set to decode at 1/2, 1/4 or 1/8 of its
    size (``draft``: JPEG can, for a fraction of the cost, and the search needs no
    more); any other image over the limit is refused.
    """
    width, height = image.size
    if image.format in ("JPEG", "MPO") and width * height > max_pixels:
        scale = next((s for s in (2, 4, 8) if width * height <= max_pixels * s * s), 8)
        image.draft(image.mode, (max(1, width // scale), max(1, height // scale)))
    if image.size[0] * image.size[1] > max_pixels:
        raise UserError(f"{path}: image is {width} x {height} = {width * height:,} "
                        f"pixels, more than the limit of {max_pixels:,}")
    return width, height


def eight_bit(image: Image.Image) -> Image.Image:
    """A grey image of 16-bit integers or of floats as 8-bit grey ("L").

    Pillow's own conversion clips such values at 255, so a 16-bit scan (0-65535)
    or a float image would turn white. 16-bit levels are divided by 257 (65535
    -> 255), as are 32-bit integers unless none exceeds 255; floats are taken as
    0-1 when none exceeds 1, else as 0-255. A transparent level (a PNG's tRNS)
    is brought along. Other modes are returned as they are.
    """
    if image.mode not in ("I", "F") and not image.mode.startswith("I;16"):
        return image
    levels = np.asarray(image, dtype=np.float64)
    top = np.nanmax(levels, initial=0)
    if image.mode == "F":
        factor = 255.0 if top <= 1 else 1.0
    else:
        factor = 1 / 257 if image.mode.startswith("I;16") or top > 255 else 1.0

    def to_byte(v: np.ndarray) -> np.ndarray:
        return np.clip(np.nan_to_num(np.rint(v * factor)), 0, 255).astype(np.uint8)
    grey = Image.fromarray(to_byte(levels))
    if isinstance(image.info.get("transparency"), int | float):
        grey.info["transparency"] = int(to_byte(np.float64(image.info["transparency"])))
    return grey


def is_flat(pixels: np.ndarray, levels: int = FLAT_LEVELS) -> bool:
    """Whether an image, (H, W) grey or (H, W, C) colour in 0-255, is one flat colour:
    each channel's levels within ``levels`` of each other (JPEG's ripples on a flat
    colour stay within that)."""
    channels = pixels.reshape(pixels.shape[0] * pixels.shape[1], -1).astype(np.int16)
    return bool(np.all(channels.max(axis=0) - channels.min(axis=0) <= levels))


def open_grey(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file into grey levels (H, W) float32 in [0, 255]; UserError if unreadable."""
    rgb = open_rgb(path, max_pixels)
    return np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)


def background_level(grey: np.ndarray) -> float:
    """The median of the border pixels of (H, W) grey levels."""
    return float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))


def is_light_background(grey: np.ndarray) -> bool:
    return background_level(grey) > 127


def white_on_black(grey: np.ndarray) -> np.ndarray:
    """(H, W) grey levels -> (H, W) float32 in [0, 1]: background 0, ink up to 1."""
    background = background_level(grey)
    if background > 127:
        grey, background = 255.0 - grey, 255.0 - background
    ink = np.clip(grey - background, 0, None)
    top = float(np.percentile(ink, 99.5))
    if top <= 1e-6:
        top = float(ink.max())
    return ink / top if top > 1e-6 else np.zeros_like(ink)


def ink_box(ink: np.ndarray, fraction: float = INK_FRACTION) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels above ``fraction`` (everything if none)."""
    mask = ink > fraction
    if not mask.any():
        return 0, ink.shape[0], 0, ink.shape[1]
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def fit_to_strip(ink: np.ndarray, height: int = HEIGHT, width: int = WIDTH,
                 ink_height: int = INK_HEIGHT) -> np.ndarray:
    """Scale (h, w) ink in [0, 1], keeping its aspect ratio, and centre it on a (28, 140) canvas."""
    h, w = ink.shape
    scale = min(ink_height / h, (width - 2) / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    picture = Image.fromarray((ink * 255).astype(np.float32), mode="F")
    resized = np.asarray(picture.resize((new_w, new_h), Image.Resampling.LANCZOS,
                                        reducing_gap=3.0))
    canvas = np.zeros((height, width), np.float32)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def load_strip(path: str | os.PathLike, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """An image file -> the model's input strip (height, width) uint8, white ink on black.

    An image that already has the model's size is taken as a strip and kept as
    it is, only inverted if its background is light (so the canonical slots of
    a strip saved by data.make_strips stay where they are).
    """
    grey = open_grey(path)
    if grey.shape == (height, width):
        if is_light_background(grey):
            grey = 255.0 - grey
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    ink = white_on_black(grey)
    if not (ink > INK_FRACTION).any():
        raise UserError(f"{path}: no ink to read (the image is one flat colour)")
    top, bottom, left, right = ink_box(ink)
    return fit_to_strip(ink[top:bottom, left:right], height, width)
