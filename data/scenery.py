"""Everything around the digits of a synthetic house number: colours, walls, the camera.

``colours`` picks ink and plate colours (light on dark or dark on light, high
or low contrast, hues of real plates and walls); ``texture`` draws a wall
(flat, gradient, blotches, siding, bricks) and ``patch_background`` stretches
a piece of a real background patch instead; ``lines`` and ``frame`` add edges
(pipes, cables, doors, windows); ``finish`` is the camera (light falling
across, gain and colour cast, haze, blur, JPEG) and ``noise`` its sensor.
Canvases are PIL RGB images; every random choice comes from the rng given.
"""

import colorsys
import io
import math

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter

LUMA = np.array([0.299, 0.587, 0.114])
PLATES = np.array([(0.08, 0.16, 0.45), (0.15, 0.32, 0.68), (0.95, 0.95, 0.93), (0.06, 0.06, 0.07),
                   (0.10, 0.30, 0.18), (0.55, 0.12, 0.10), (0.72, 0.58, 0.28), (0.50, 0.50, 0.50),
                   (0.85, 0.80, 0.68), (0.35, 0.22, 0.12)])
_NOISE = np.random.default_rng(20141220).standard_normal((256, 256, 3)).astype(np.float32)
"""A fixed bank of unit Gaussian noise; images take random windows of it (cheaper than drawing)."""


def noise_field(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(height, width, 3) float32 unit noise: a random window of the bank, maybe flipped."""
    reps = (-(-height // 256), -(-width // 256), 1)
    bank = _NOISE if reps == (1, 1, 1) else np.tile(_NOISE, reps)
    y = int(rng.integers(0, bank.shape[0] - height + 1))
    x = int(rng.integers(0, bank.shape[1] - width + 1))
    field = bank[y:y + height, x:x + width]
    return field[::-1] if rng.random() < 0.5 else field


def _hue(rng: np.random.Generator) -> float:
    """Hues of walls and plates: mostly blue, brown / ochre or green, some anything."""
    kind = rng.random()
    if kind < 0.35:
        return rng.uniform(0.55, 0.68)
    if kind < 0.65:
        return rng.uniform(0.02, 0.15)
    if kind < 0.8:
        return rng.uniform(0.25, 0.45)
    return rng.random()


def colour(rng: np.random.Generator, luminance: float, saturation: float) -> np.ndarray:
    """An RGB colour in [0, 1] of exactly this luminance and chroma ``saturation`` (0-1)."""
    base = np.array(colorsys.hsv_to_rgb(_hue(rng), 1.0, 1.0))
    chroma = base - LUMA @ base                       # a direction of zero luminance
    with np.errstate(divide="ignore"):
        room = np.where(chroma > 0, (1 - luminance) / chroma, luminance / -chroma)
    return luminance + saturation * min(1.0, room.min()) * chroma


def rgb(c: np.ndarray) -> tuple[int, int, int]:
    """A colour in [0, 1] as the 0-255 ints PIL draws with."""
    return tuple(int(v) for v in np.clip(np.asarray(c) * 255 + 0.5, 0, 255))


def colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(ink, plate) colours: dark on light or light on dark, with high or low contrast."""
    contrast = rng.uniform(0.25, 0.8) if rng.random() < 0.8 else rng.uniform(0.12, 0.25)
    if rng.random() < 0.35:
        plate = PLATES[rng.integers(len(PLATES))] * rng.uniform(0.8, 1.1)
        plate = np.clip(plate + rng.normal(0, 0.03, 3), 0, 1)
        y = float(LUMA @ plate)
        ink_y = y - contrast if (y > 0.5 or y - contrast > 0.02) and y > contrast else y + contrast
        ink_y = float(np.clip(ink_y, 0.02, 0.98))
        return colour(rng, ink_y, rng.beta(1, 5)), plate
    light = rng.uniform(contrast, 1.0)
    dark = light - contrast
    ink_y, plate_y = (light, dark) if rng.random() < 0.45 else (dark, light)
    return colour(rng, ink_y, rng.beta(1, 5)), colour(rng, plate_y, rng.beta(1, 4))


# ---------------------------------------------------------------- walls


def texture(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A wall, width x height RGB: flat, gradient, blotchy, siding or bricks."""
    kind = rng.choice(5, p=[0.2, 0.2, 0.25, 0.2, 0.15])
    a = colour(rng, rng.uniform(0.1, 0.9), rng.beta(1, 4))
    b = np.clip(a + rng.normal(0, 0.12, 3), 0, 1)
    if kind == 0:                                     # flat
        return Image.new("RGB", (width, height), rgb(a))
    if kind in (1, 2):                              # a gradient or smooth blotches
        if kind == 1:
            t = rng.uniform(0, 2 * math.pi)
            u = np.array([[0.0, math.cos(t)], [math.sin(t), math.cos(t) + math.sin(t)]])
            u = (u - u.min()) / max(1e-6, float(np.ptp(u)))
            small = a + u[..., None] * (b - a)
        else:
            n = int(rng.integers(2, 7))
            small = a + rng.normal(0, 0.08, (n, n, 1)) + rng.normal(0, 0.02, (n, n, 3))
        img = Image.fromarray(np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8))
        out = np.asarray(img.resize((width, height), Image.Resampling.BICUBIC), np.float32) / 255
    elif kind == 3:                                   # siding, planks, railings
        period, duty = rng.uniform(3, 16), rng.uniform(0.15, 0.85)
        vertical = rng.random() < 0.3
        u = np.arange(width if vertical else height, dtype=np.float32)
        line = np.where(((u / period) % 1.0 < duty)[:, None], a, b).astype(np.float32)
        out = np.broadcast_to(line[None] if vertical else line[:, None], (height, width, 3))
    else:                                             # bricks
        bh = rng.uniform(4, 12)
        bw = bh * rng.uniform(2, 3.2)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        row = np.floor(yy / bh)
        xs = xx + (row % 2) * bw / 2
        col = np.floor(xs / bw)
        shade = np.sin(row * 12.9898 + col * 78.233) * 0.5 + 0.5      # per brick, fixed
        brick = colour(rng, rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6))
        out = brick * (0.85 + 0.3 * shade[..., None])
        mortar = ((yy % bh) < 1.0) | ((xs % bw) < 1.0)
        out = np.where(mortar[..., None], b, out)
    return Image.fromarray(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8))


def patch_background(patches: np.ndarray, width: int, height: int,
                     rng: np.random.Generator) -> Image.Image:
    """A random piece of a random patch, maybe mirrored, stretched to width x height."""
    patch = patches[rng.integers(len(patches))]
    ph, pw = patch.shape[:2]
    cw, ch = int(rng.integers(max(2, pw // 2), pw + 1)), int(rng.integers(max(2, ph // 2), ph + 1))
    x, y = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    img = Image.fromarray(np.ascontiguousarray(patch[y:y + ch, x:x + cw]))
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img.resize((width, height), Image.Resampling.BILINEAR)   # finish() varies colour


# ---------------------------------------------------------------- edges


def lines(canvas: Image.Image, rng: np.random.Generator, count: int) -> None:
    """Draw ``count`` straight edges (pipes, frames, cables) across the canvas in place."""
    wid, hgt = canvas.size
    draw = ImageDraw.Draw(canvas)
    for _ in range(count):
        if rng.random() < 0.5:
            y = rng.uniform(0, hgt)
            pts = [(0.0, y), (float(wid), y + rng.normal(0, 0.1) * wid)]
        else:
            x = rng.uniform(0, wid)
            pts = [(x, 0.0), (x + rng.normal(0, 0.1) * hgt, float(hgt))]
        draw.line(pts, fill=rgb(colour(rng, rng.random(), rng.beta(1, 4))),
                  width=int(rng.integers(1, 4)))


def frame(canvas: Image.Image, rng: np.random.Generator) -> None:
    """A door or window: a rectangle of another colour with a frame, in place."""
    wid, hgt = canvas.size
    x0, x1 = sorted(rng.uniform(-0.2, 1.2, 2) * wid)
    y0, y1 = sorted(rng.uniform(-0.2, 1.2, 2) * hgt)
    fill = rgb(colour(rng, rng.uniform(0.05, 0.9), rng.beta(1, 2)))
    edge = rgb(colour(rng, rng.uniform(0.05, 0.95), rng.beta(1, 3)))
    ImageDraw.Draw(canvas).rectangle((x0, y0, x1, y1), fill=fill, outline=edge,
                                     width=int(rng.integers(1, 5)))


# ---------------------------------------------------------------- the camera


def blur(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an (H, W, 3) float array (edges mirrored), over 2.5 sigma each way."""
    return gaussian_filter(arr, (sigma, sigma, 0), truncate=2.5)


def finish(canvas: Image.Image, rng: np.random.Generator, blur_scale: float = 1.0
           ) -> Image.Image:
    """Light, gain, colour cast, haze, then blur and JPEG; returns a new RGB image.

    The blur (90 % of images) has a sigma of 0.5-2.2 px times ``blur_scale``
    (canvas px per output px, so that it is the same in the final image); 0
    means no blur.
    """
    wid, hgt = canvas.size
    arr = np.asarray(canvas, np.float32)
    gain = rng.uniform(0.6, 1.15) * rng.normal(1, 0.04, 3)
    if rng.random() < 0.3:                              # a bluish-grey camera cast
        gain = gain * np.array([0.92, 0.97, 1.08])
    gain = gain.astype(np.float32)
    if rng.random() < 0.6:                              # light falling across the scene
        t = rng.uniform(0, 2 * math.pi)
        k = rng.uniform(0, 0.8) / max(wid, hgt)
        ramp = (1 + k * (np.arange(wid, dtype=np.float32) - wid / 2) * math.cos(t))[None, :] \
            + (k * (np.arange(hgt, dtype=np.float32) - hgt / 2) * math.sin(t))[:, None]
        arr = arr * (ramp[..., None] * gain)
    else:
        arr = arr * gain
    if rng.random() < 0.4:                              # haze: low contrast
        k = rng.uniform(0.1, 0.35)
        arr = arr * np.float32(1 - k) + np.float32(k * 255 * rng.uniform(0.3, 0.9))
    if rng.random() < 0.5:                              # washed-out colours
        k = np.float32(rng.uniform(0.2, 0.7))
        arr = arr * (1 - k) + k * (arr @ LUMA.astype(np.float32))[..., None]
    if blur_scale > 0 and rng.random() < 0.9:
        arr = blur(arr, rng.uniform(0.5, 2.2) * blur_scale)
    img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    if rng.random() < 0.4:
        img = jpeg(img, int(rng.integers(30, 96)))
    return img


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """Encode and decode with JPEG at ``quality``: blocks and ringing as in street photos."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    return out.convert("RGB")


def noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: Gaussian with sigma 0.5-4 grey levels on half the images (uint8 in/out)."""
    if rng.random() < 0.5:
        return image
    field = noise_field(image.shape[0], image.shape[1], rng)
    return np.clip(image + rng.uniform(0.5, 4) * field + 0.5, 0, 255).astype(np.uint8)
