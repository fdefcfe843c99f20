"""A tiny SVHN folder in the project's real layout, for tests of the SVHN readers.

    <data dir>/svhn/format1_crops/{train,test}.tar   64 x 64 JPEGs <n>.jpg
    <data dir>/svhn/format1_crops/boxes.csv          digit boxes in crop pixels
    <data dir>/svhn/splits/*.txt       train_real, test_pool, test_holdout, test_strict
    <data dir>/svhn/format1_{subset,more}_png.tar, annotations.csv
                                       the same images as whole PNGs, 96 x 80, the number
                                       at (16, 8) (train in subset, test in more), and
                                       their digit boxes

Not a test module itself; the tests import it by name.
"""

import csv
import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image


def number_image(digits: list[int], rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """A 64 x 64 'house number': one bright bar per digit whose height says the digit."""
    image = rng.integers(20, 60, (64, 64, 3), dtype=np.uint8)
    width = 44 // len(digits)
    boxes = []
    for i, d in enumerate(digits):
        left, top, height = 10 + i * width, 8, 20 + 3 * d
        image[top:top + height, left + 1:left + width - 1] = 230
        boxes.append([left, top, width, height])
    return image, boxes


def add_member(tar: tarfile.TarFile, name: str, image: np.ndarray, kind: str) -> None:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, kind, **({"quality": 95} if kind == "JPEG" else {}))
    info = tarfile.TarInfo(name)
    info.size = buffer.tell()
    buffer.seek(0)
    tar.addfile(info, buffer)


def write_tiny_svhn(data_dir: Path, n_train: int = 40, n_test: int = 30, seed: int = 0) -> Path:
    """Write the tiny folder; return data_dir."""
    rng = np.random.default_rng(seed)
    crops = data_dir / "svhn" / "format1_crops"
    splits = data_dir / "svhn" / "splits"
    crops.mkdir(parents=True)
    splits.mkdir(parents=True)
    rows, whole_rows = [], []
    for split, count in (("train", n_train), ("test", n_test)):
        png_tar = "format1_subset_png.tar" if split == "train" else "format1_more_png.tar"
        with tarfile.open(crops / f"{split}.tar", "w") as tar, \
                tarfile.open(data_dir / "svhn" / png_tar, "w") as pngs:
            for n in range(1, count + 1):
                digits = list(rng.integers(0, 10, rng.integers(1, 4)))
                image, boxes = number_image(digits, rng)
                add_member(tar, f"{n}.jpg", image, "JPEG")
                whole = np.full((80, 96, 3), 40, np.uint8)
                whole[8:72, 16:80] = image
                add_member(pngs, f"{split}/{n}.png", whole, "PNG")
                for i, (d, box) in enumerate(zip(digits, boxes, strict=True)):
                    rows.append([split, f"{n}.png", i, d if d else 10, *box, 0, 0, 64, 64])
                    whole_rows.append([split, f"{n}.png", i, d if d else 10, box[0] + 16,
                                       box[1] + 8, box[2], box[3], 96, 80])
    with open(data_dir / "svhn" / "annotations.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["split", "filename", "digit_index", "label", "left", "top", "width",
                         "height", "img_width", "img_height"])
        writer.writerows(whole_rows)
    with open(crops / "boxes.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["split", "filename", "digit_index", "label", "left", "top", "width",
                         "height", "crop_left", "crop_top", "crop_width", "crop_height"])
        writer.writerows(rows)
    names = {"train_real": [f"{n}.png" for n in range(1, n_train + 1)],
             "test_holdout": [f"{n}.png" for n in range(3, n_test + 1, 3)],
             "test_pool": [f"{n}.png" for n in range(1, n_test + 1) if n % 3],
             "test_strict": [f"{n}.png" for n in range(1, n_test + 1, 2)]}
    for name, listed in names.items():
        (splits / f"{name}.txt").write_text("\n".join(listed) + "\n")
    return data_dir


def use_tiny_number_reader(monkeypatch) -> None:
    """Make svhn-numbers runs train a tiny reader, with empty windows from the PNGs only
    (no synthetic scenes), so a run on the tiny folder takes seconds."""
    from reader.svhn_data import empty_windows
    from reader.svhn_models import build_number_reader
    monkeypatch.setattr("reader.svhn_job.build_number_reader",
                        lambda seed, **kw: build_number_reader(seed, width=8, hidden=32, **kw))
    monkeypatch.setattr("reader.svhn_job.empty_windows",
                        lambda *args: empty_windows(*args, scenes=0))
