"""A tiny SVHN folder in the project's real layout, for tests of the SVHN readers.

    <data dir>/svhn/format1_crops/{train,test}.tar   64 x 64 JPEGs <n>.jpg
    <data dir>/svhn/format1_crops/boxes.csv          digit boxes in crop pixels
    <data dir>/svhn/splits/*.txt       train_real, test_pool, test_holdout, test_strict
    <data dir>/svhn/format1_{subset,more}_png.tar, annotations.csv
                                       the same images as whole PNGs, 96 x 80, the number
                                       at (16, 8) (train in subset, test in more), and
                                       their digit boxes

and, for the official SVHN files, a digitStruct.mat as MATLAB v7.3 writes it and
format-1 ``<split>.tar.gz`` archives (write_digit_struct, write_format1).

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


def image_bytes(image: np.ndarray, kind: str = "PNG") -> bytes:
    """``image`` encoded as a PNG (or a quality-95 JPEG)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, kind, **({"quality": 95} if kind == "JPEG" else {}))
    return buffer.getvalue()


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """A member ``name`` holding ``data``."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_member(tar: tarfile.TarFile, name: str, image: np.ndarray, kind: str) -> None:
    add_bytes(tar, name, image_bytes(image, kind))


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


# ---------------------------------------------------------------- the official layouts

MATLAB_73_HEADER = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Jan  1 00:00:00 "
                    b"2013 HDF5 schema 1.00 .").ljust(116) + bytes(8) + b"\x00\x02IM"


def write_digit_struct(path: Path, numbers: dict[str, list[tuple[int, list[float]]]]) -> None:
    """Write {name: [(SVHN label 1-10, [left, top, w, h]), ...]} as MATLAB v7.3 would.

    A 1 x K MATLAB array is an HDF5 dataset of shape (K, 1); struct arrays and
    strings live in ``#refs#`` and are reached through object references. A
    one-digit bbox holds its fields as (1, 1) doubles, a K-digit bbox as (K, 1)
    references to (1, 1) doubles.
    """
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        refs, counter = f.create_group("#refs#"), iter(range(1 << 30))

        def put(data, matlab_class: str = "double"):
            dataset = refs.create_dataset(f"r{next(counter)}", data=data)
            dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
            return dataset.ref

        name_refs, bbox_refs = [], []
        for name, digits in numbers.items():
            name_refs.append(put(np.array([[ord(c)] for c in name], np.uint16), "char"))
            bbox = refs.create_group(f"r{next(counter)}")
            bbox.attrs["MATLAB_class"] = np.bytes_("struct")
            columns = {"label": [label for label, _ in digits]}
            for j, key in enumerate(("left", "top", "width", "height")):
                columns[key] = [box[j] for _, box in digits]
            for key in ("height", "label", "left", "top", "width"):
                if len(digits) == 1:
                    bbox.create_dataset(key, data=np.array([[columns[key][0]]], np.float64))
                else:
                    bbox.create_dataset(key, data=np.array(
                        [[put(np.array([[v]], np.float64))] for v in columns[key]],
                        dtype=h5py.ref_dtype))
            bbox_refs.append(bbox.ref)
        struct = f.create_group("digitStruct")
        struct.attrs["MATLAB_class"] = np.bytes_("struct")
        struct.create_dataset("name", data=np.array([[r] for r in name_refs], h5py.ref_dtype))
        struct.create_dataset("bbox", data=np.array([[r] for r in bbox_refs], h5py.ref_dtype))
    with open(path, "r+b") as f:                    # the MATLAB header in the HDF5 user block
        f.write(MATLAB_73_HEADER)


# three images: one digit ("7"), two digits ("10": label 10 is the digit 0), six digits
NUMBERS = {
    "1.png": [(7, [10.0, 6.0, 8.0, 14.0])],
    "2.png": [(1, [4.0, 3.0, 6.0, 12.0]), (10, [11.0, 4.0, 7.0, 12.0])],
    "3.png": [(d, [2.0 + 5 * d, 2.0, 5.0, 9.0]) for d in range(1, 7)],
}
SIZES = {"1.png": (24, 30), "2.png": (20, 25), "3.png": (16, 40)}          # (height, width)


def png_image(name: str) -> np.ndarray:
    """The random (H, W, 3) picture of NUMBERS' image ``name``, of its size in SIZES."""
    H, W = SIZES[name]
    rng = np.random.default_rng(int(name[0]))
    return rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


def write_format1(folder: Path, split: str = "train", struct_first: bool = True,
                  leave_out: str = "") -> Path:
    """An official-style ``<split>.tar.gz`` holding ``<split>/<n>.png`` and digitStruct.mat."""
    folder.mkdir(parents=True, exist_ok=True)
    mat = folder / "digitStruct.mat"
    write_digit_struct(mat, NUMBERS)
    files = [(f"{split}/{n}", image_bytes(png_image(n))) for n in NUMBERS if n != leave_out]
    files.insert(0 if struct_first else len(files), (f"{split}/digitStruct.mat",
                                                     mat.read_bytes()))
    archive = folder / f"{split}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files:
            add_bytes(tar, name, data)
    return archive


def save_untrained_number_reader(path: Path, config: dict | None = None, hidden: int = 32,
                                 **build_kw) -> Path:
    """A tiny randomly initialised house-number reader (width 8) with the metadata train.py
    writes, its run's ``config`` in it (for predict, evaluation and --init tests)."""
    from reader.svhn_job import svhn_metadata
    from reader.svhn_models import build_number_reader
    model = build_number_reader(build_kw.pop("seed", 0), width=8, hidden=hidden, **build_kw)
    model.save(str(path), svhn_metadata("number", "svhn-numbers", config or {}, "test"))
    return path
