"""Windows of a photo and the crops the house-number reader reads from them.

The reader was trained on 54 x 54 inputs cut from 64 x 64 crops made around
a number's union box (data.svhn.crop_window). The photo search
(reader.locate) and the reading of columns of digits (reader.stacked) make
their inputs here, and move the boxes the reader predicts back into photo
pixels.
"""

import numpy as np
from PIL import Image

from data.svhn import CROP_SIZE, crop_window
from reader.svhn_models import NUMBER_INPUT

PAD = 0.15                     # margin added around the photo (tight crops need one)


def squash(photo: np.ndarray, window: tuple[int, int, int, int], size: int) -> np.ndarray:
    """The window (left, top, right, bottom) of a photo (H, W, 3), resized to size x size."""
    left, top, right, bottom = window
    piece = Image.fromarray(photo[top:bottom, left:right])
    return np.asarray(piece.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0))


def training_view(photo: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Crop around a union box (left, top, right, bottom) as training crops were made.

    Returns (the 54 x 54 input, the window (left, top, right, bottom) it shows).
    The 64 x 64 crop's centre 54 x 54 is the part of the grown window that
    lies 5/64 inside each edge.
    """
    H, W = photo.shape[:2]
    left, top, right, bottom = crop_window((box[0], box[1], box[2] - box[0], box[3] - box[1]),
                                           W, H)
    crop = squash(photo, (left, top, right, bottom), CROP_SIZE)
    m = (CROP_SIZE - NUMBER_INPUT) // 2
    sx, sy = (right - left) / CROP_SIZE, (bottom - top) / CROP_SIZE
    shown = (left + m * sx, top + m * sy, right - m * sx, bottom - m * sy)
    return crop[m:m + NUMBER_INPUT, m:m + NUMBER_INPUT], shown


def to_photo(box: np.ndarray, window: tuple) -> np.ndarray:
    """A box as fractions of a window (left, top, right, bottom) -> photo pixels."""
    left, top, right, bottom = window
    w, h = right - left, bottom - top
    return np.array([left + box[0] * w, top + box[1] * h, left + box[2] * w, top + box[3] * h])


def clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip a box to the photo and give it at least 4 px each way (all of a photo
    narrower or lower than that)."""
    least_w, least_h = min(4, width), min(4, height)
    left, top = np.clip(box[0], 0, width - least_w), np.clip(box[1], 0, height - least_h)
    right, bottom = np.clip(box[2], left + least_w, width), np.clip(box[3], top + least_h, height)
    return np.array([left, top, right, bottom])


def pad_photo(photo: np.ndarray, fraction: float = PAD) -> tuple[np.ndarray, int, int]:
    """The photo with ``fraction`` of its width / height added on each side, in the
    median colour of its border; returns (padded, x offset, y offset)."""
    H, W = photo.shape[:2]
    px, py = round(fraction * W), round(fraction * H)
    border = np.concatenate([photo[0], photo[-1], photo[:, 0], photo[:, -1]])
    padded = np.empty((H + 2 * py, W + 2 * px, 3), np.uint8)
    padded[:] = np.median(border, axis=0).astype(np.uint8)
    padded[py:py + H, px:px + W] = photo
    return padded, px, py
