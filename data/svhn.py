"""SVHN house numbers as arrays: 64 x 64 number crops with their digit boxes.

The project's copy of SVHN (``<data dir>/svhn/``, see its SOURCE.md) holds the
format-1 images cropped the way Goodfellow et al. (2014) crop them, which is
also how ``crop_number`` below crops any image with digit boxes:

1. the union box of the digit boxes, (x0, y0, x1, y1);
2. grown by 30 % each way about its centre;
3. cut out of the image (clipped to it) and resized to 64 x 64, aspect ratio not kept.

``format1_crops/{train,test}.tar`` hold those crops as ``<n>.jpg`` for the
image ``<n>.png``; ``format1_crops/boxes.csv`` has every digit box in crop
pixels; ``splits/*.txt`` name the images of each split.

A number is stored as in ``data.strips``: labels are five integers, the
digits 0-9 left to right and then ``BLANK`` (10) after the length. SVHN's own
label 10 (the digit 0) becomes 0 here. Images with more than five digits (one
in the whole train split) are left out.

``digit_crops`` cuts single digits out of number crops the way SVHN made its
cropped-digit set: each digit box made square about its centre, a little
wider, resized to 32 x 32; ``jittered_digit_crops`` cuts each again with the
square's size and centre drawn at random, to train on.
"""

import csv
import io
import math
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from data.errors import DataError
from data.paths import dataset_dir
from data.strips import BLANK, MAX_LENGTH

CROP_SIZE = 64                  # number crops are 64 x 64
MISSING = ("missing (docs/svhn.md says what the svhn folder holds; SVHN itself is at "
           "http://ufldl.stanford.edu/housenumbers/)")
GROW = 1.3                      # the union box is grown by 30 % each way
JITTER_GROW = (1.1, 1.6)        # jittered digit cuts: the range of a square's grow factor
JITTER_MOVE = 0.1               # ... and how far its centre moves, as a share of its side
SPLIT_FILES = ("train_real", "test_holdout", "test_pool", "test_strict")


@dataclass
class NumberImages:
    """N colour images of house numbers with their digits and digit boxes.

    images   (N, S, S, 3) uint8   RGB
    labels   (N, 5) int64         digits 0-9, then BLANK (10) after the length
    boxes    (N, 5, 4) float32    (left, top, width, height) of each digit in
                                  image pixels; zeros after the length
    names    list of N str        where each image came from (e.g. "test/12.png")
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    names: list[str]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray | list[int]) -> "NumberImages":
        index = np.asarray(index, dtype=np.int64)
        return NumberImages(self.images[index], self.labels[index], self.boxes[index],
                            [self.names[i] for i in index])

    @staticmethod
    def concat(parts: list["NumberImages"]) -> "NumberImages":
        return NumberImages(np.concatenate([p.images for p in parts]),
                            np.concatenate([p.labels for p in parts]),
                            np.concatenate([p.boxes for p in parts]),
                            [n for p in parts for n in p.names])

    def lengths(self) -> np.ndarray:
        return (self.labels != BLANK).sum(axis=1)

    def union_boxes(self) -> np.ndarray:
        """(N, 4) (left, top, width, height) of the union of each image's digit boxes."""
        return union_boxes(self.boxes, self.lengths())


def corners(boxes: np.ndarray) -> np.ndarray:
    """Boxes (..., 4) as (left, top, width, height) -> (left, top, right, bottom)."""
    return np.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], axis=-1)


def sizes(boxes: np.ndarray) -> np.ndarray:
    """Boxes (..., 4) as (left, top, right, bottom) -> (left, top, width, height)."""
    return np.concatenate([boxes[..., :2], boxes[..., 2:] - boxes[..., :2]], axis=-1)


def extent(boxes: np.ndarray) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the union of boxes (L, 4) (left, top, width, height)."""
    ends = corners(boxes)
    return ends[:, 0].min(), ends[:, 1].min(), ends[:, 2].max(), ends[:, 3].max()


def union_boxes(boxes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Digit boxes (N, 5, 4) and lengths (N,) -> union boxes (N, 4), all (left, top, w, h)."""
    used = np.arange(boxes.shape[1]) < lengths[:, None]                # (N, 5)
    left = np.where(used, boxes[..., 0], np.inf).min(axis=1)
    top = np.where(used, boxes[..., 1], np.inf).min(axis=1)
    right = np.where(used, boxes[..., 0] + boxes[..., 2], -np.inf).max(axis=1)
    bottom = np.where(used, boxes[..., 1] + boxes[..., 3], -np.inf).max(axis=1)
    return np.stack([left, top, right - left, bottom - top], axis=1).astype(np.float32)


def crop_window(union: tuple[float, float, float, float], width: int, height: int,
                grow: float = GROW) -> tuple[int, int, int, int]:
    """The crop of SOURCE.md step 4: (left, top, right, bottom) in pixels, clipped to the image.

    ``union`` is (left, top, width, height); the window is the union grown by
    ``grow`` about its centre, floored / ceiled to whole pixels.
    """
    x, y, w, h = union
    cx, cy, gw, gh = x + w / 2, y + h / 2, grow * w, grow * h
    left, top = max(0, math.floor(cx - gw / 2)), max(0, math.floor(cy - gh / 2))
    right, bottom = min(width, math.ceil(cx + gw / 2)), min(height, math.ceil(cy + gh / 2))
    if right <= left or bottom <= top:
        raise ValueError(f"box {union} lies outside the {width} x {height} image")
    return left, top, right, bottom


def crop_number(image: np.ndarray, boxes: np.ndarray, size: int = CROP_SIZE,
                grow: float = GROW) -> tuple[np.ndarray, np.ndarray]:
    """Crop a number out of a whole image as SVHN's 64 x 64 crops were made.

    image (H, W, 3) uint8, boxes (L, 4) digit boxes (left, top, width, height)
    -> (crop (size, size, 3) uint8, boxes (L, 4) float32 in crop pixels).
    """
    H, W = image.shape[:2]
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x0, y0, x1, y1 = extent(boxes)
    left, top, right, bottom = crop_window((x0, y0, x1 - x0, y1 - y0), W, H, grow)
    piece = Image.fromarray(image[top:bottom, left:right])
    crop = np.asarray(piece.resize((size, size), Image.Resampling.LANCZOS))
    sx, sy = size / (right - left), size / (bottom - top)
    out = np.stack([(boxes[:, 0] - left) * sx, (boxes[:, 1] - top) * sy,
                    boxes[:, 2] * sx, boxes[:, 3] * sy], axis=1)
    return crop, out.astype(np.float32)


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"{path}: {MISSING}")
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: unreadable CSV ({err})") from None


def read_boxes_csv(path: Path, split: str) -> dict[str, list[tuple[int, list[float]]]]:
    """boxes.csv rows of one split -> {filename: [(digit 0-9, [left, top, w, h]), ...]} in order."""
    numbers: dict[str, list[tuple[int, int, list[float]]]] = {}
    for row in _read_csv(path):
        if row.get("split") != split:
            continue
        try:
            label = int(row["label"])
            if not 1 <= label <= 10:
                raise ValueError(f"label {label}")
            label %= 10                                                 # SVHN's 10 is the digit 0
            box = [float(row[k]) for k in ("left", "top", "width", "height")]
            numbers.setdefault(row["filename"], []).append((int(row["digit_index"]), label, box))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: bad row {row}; expected split, filename, digit_index, "
                            "label (1-10), left, top, width, height") from None
    return {name: [(label, box) for _, label, box in sorted(digits, key=lambda d: d[0])]
            for name, digits in numbers.items()}


def split_names(name: str, data_dir: str | os.PathLike | None = None) -> list[str]:
    """The file names listed in ``svhn/splits/<name>.txt`` (e.g. "test_holdout")."""
    if name not in SPLIT_FILES:
        raise ValueError(f"unknown SVHN split {name!r}; choose from {SPLIT_FILES}")
    path = dataset_dir("svhn", data_dir) / "splits" / f"{name}.txt"
    if not path.is_file():
        raise DataError(f"{path}: {MISSING}")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise DataError(f"{path}: lists no images")
    return names


def decode_image(data: bytes, where: str) -> np.ndarray:
    """Image file bytes -> (H, W, 3) uint8 RGB; DataError naming ``where`` if it is not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise DataError(f"{where}: not a readable image ({err})") from None


def load_number_crops(split: str, data_dir: str | os.PathLike | None = None,
                      names: list[str] | None = None) -> NumberImages:
    """The 64 x 64 crops of one format-1 split ("train" or "test"), or of the listed images.

    ``names`` are PNG file names ("12.png"); default: every crop in the tar.
    Raises DataError naming the file when a file is missing or damaged.
    """
    if split not in ("train", "test"):
        raise ValueError(f"unknown SVHN split {split!r}; choose 'train' or 'test'")
    folder = dataset_dir("svhn", data_dir) / "format1_crops"
    numbers = read_boxes_csv(folder / "boxes.csv", split)
    tar_path = folder / f"{split}.tar"
    if not tar_path.is_file():
        raise DataError(f"{tar_path}: {MISSING}")
    wanted = None if names is None else set(names)
    images, labels, boxes, kept = [], [], [], []
    try:
        with tarfile.open(tar_path) as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".jpg"):
                    continue
                png = Path(member.name).name[:-4] + ".png"
                if (wanted is not None and png not in wanted) or png not in numbers:
                    continue
                digits = numbers[png]
                if len(digits) > MAX_LENGTH:
                    continue
                f = tar.extractfile(member)
                image = decode_image(f.read(), f"{tar_path}:{member.name}")
                if image.shape != (CROP_SIZE, CROP_SIZE, 3):
                    raise DataError(f"{tar_path}:{member.name}: image is {image.shape[1]} x "
                                    f"{image.shape[0]}, expected {CROP_SIZE} x {CROP_SIZE}")
                row = np.full(MAX_LENGTH, BLANK, np.int64)
                box = np.zeros((MAX_LENGTH, 4), np.float32)
                for i, (label, b) in enumerate(digits):
                    row[i], box[i] = label, b
                images.append(image)
                labels.append(row)
                boxes.append(box)
                kept.append(f"{split}/{png}")
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{tar_path}: damaged tar file ({err})") from None
    if wanted is not None:
        missing = wanted - {k.split("/", 1)[1] for k in kept}
        if missing:
            example = sorted(missing)[0]
            raise DataError(f"{tar_path}: {len(missing)} requested images are not in it "
                            f"(e.g. {example})")
    if not images:
        raise DataError(f"{tar_path}: holds no crops of the {split} split")
    order = np.argsort([_number_of(k) for k in kept], kind="stable")
    return NumberImages(np.stack(images), np.stack(labels), np.stack(boxes),
                        kept).subset(order)


def _number_of(name: str) -> int:
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else 0


def _digits(numbers: NumberImages) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every digit of every image, in reading order: the image it is in (M,),
    its label (M,) in 0-9 and its box (M, 4) (left, top, width, height)."""
    used = numbers.labels != BLANK                                    # (N, 5)
    image_index = np.nonzero(used)[0]
    return image_index, numbers.labels[used].astype(np.int64), numbers.boxes[used]


def _cut_square(image: np.ndarray, cx: float, cy: float, side: float, size: int
                ) -> np.ndarray:
    """The square of ``side`` pixels centred on (cx, cy), resized to size x size;
    parts outside the image are filled by repeating its edge pixels."""
    H, W = image.shape[:2]
    left, top = math.floor(cx - side / 2), math.floor(cy - side / 2)
    n = max(1, math.ceil(side))
    rows = np.clip(np.arange(top, top + n), 0, H - 1)
    cols = np.clip(np.arange(left, left + n), 0, W - 1)
    square = Image.fromarray(image[rows][:, cols])
    return np.asarray(square.resize((size, size), Image.Resampling.BILINEAR))


def digit_crops(numbers: NumberImages, size: int = 32, grow: float = 1.3
                ) -> tuple[np.ndarray, np.ndarray]:
    """Single digits cut out of number images, like SVHN's cropped-digit set.

    Each digit box is made square (side = the longer of its sides, times
    ``grow``) about its centre and resized to ``size`` x ``size``; parts of the
    square outside the image are filled by repeating the edge pixels.
    Returns (digits (M, size, size, 3) uint8, labels (M,) int64 in 0-9).
    """
    image_index, labels, boxes = _digits(numbers)
    x, y, w, h = boxes.T                                              # float32, as stored
    side = np.maximum(w, h) * np.float32(grow)
    cx, cy = x + w / 2, y + h / 2
    out = [_cut_square(numbers.images[i], cx[k], cy[k], side[k], size)
           for k, i in enumerate(image_index)]
    return np.stack(out), labels


def jittered_digit_crops(numbers: NumberImages, copies: int, rng: np.random.Generator,
                         size: int = 32, grow: tuple[float, float] = JITTER_GROW,
                         move: float = JITTER_MOVE) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` more cuts of every digit, each from a square of its own.

    As ``digit_crops``, but each cut draws its grow factor uniformly from
    ``grow`` and moves the square's centre by up to ``move`` times its side each
    way, so a classifier trained on them sees the framing vary as it does from
    one SVHN digit to the next, not ``copies`` copies of one picture.
    Returns (digits (copies * M, size, size, 3) uint8, labels (copies * M,)):
    all digits of the first copy, then all of the second, and so on.
    """
    image_index, labels, boxes = _digits(numbers)
    x, y, w, h = boxes.astype(np.float64).T
    out = []
    for _ in range(copies):
        side = np.maximum(w, h) * rng.uniform(*grow, len(labels))
        cx = x + w / 2 + side * rng.uniform(-move, move, len(labels))
        cy = y + h / 2 + side * rng.uniform(-move, move, len(labels))
        out += [_cut_square(numbers.images[i], cx[k], cy[k], side[k], size)
                for k, i in enumerate(image_index)]
    return np.stack(out), np.tile(labels, copies)
