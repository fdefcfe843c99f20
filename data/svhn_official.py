"""The official SVHN files (http://ufldl.stanford.edu/housenumbers/) as arrays.

SVHN is for non-commercial use only; cite Netzer et al. (2011) when publishing.
SVHN's label 10 means the digit 0; every function here returns digits 0-9.

Format 2, cropped digits: ``train_32x32.mat`` (73,257 digits), ``test_32x32.mat``
(26,032), ``extra_32x32.mat`` (531,131), MATLAB v5 files read with scipy::

    X   (32, 32, 3, N) uint8   RGB, the image index last
    y   (N, 1) uint8           labels 1..10

``load_cropped_mat`` returns (images (N, 32, 32, 3) uint8, labels (N,) int64).

Format 1, full numbers: ``train.tar.gz``, ``test.tar.gz``, ``extra.tar.gz``
hold ``<split>/<n>.png`` (whole street images, any size) and
``<split>/digitStruct.mat``, a MATLAB v7.3 file, i.e. HDF5 (read with h5py).
MATLAB stores a 1 x K array as an HDF5 dataset of shape (K, 1)::

    digitStruct/name   (N, 1) object references -> (L, 1) uint16 character codes
    digitStruct/bbox   (N, 1) object references -> a group with the datasets
                       height, label, left, top, width, each either
                       (1, 1) float64 (an image with one digit) or
                       (K, 1) object references -> (1, 1) float64 (K digits)

The referenced objects live in the file's ``#refs#`` group. Boxes are
(left, top, width, height) in pixels, left and top 0-based, digits left to right.
``read_digit_struct`` turns this into {file name: [(digit, box), ...]}.

``load_format1`` crops each image around its digits with ``data.svhn.crop_number``
(union box grown by 30 %, clipped, 64 x 64 LANCZOS: the recipe of the project's
``svhn/format1_crops``) and returns a ``data.svhn.NumberImages`` with the boxes in
crop pixels. ``load_annotated_pngs`` does the same for the project's PNG tars
joined with ``svhn/annotations.csv`` (see ``svhn/SOURCE.md``).
"""

import csv
import os
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import h5py
import numpy as np
import scipy.io
from h5py import h5d, h5r, h5s
from scipy.io.matlab import MatReadError

from data.download import fetch
from data.errors import DataError
from data.paths import dataset_dir, downloads_allowed
from data.strips import BLANK, MAX_LENGTH
from data.svhn import CROP_SIZE, MISSING, NumberImages, crop_number, decode_image

OFFICIAL_URL = "http://ufldl.stanford.edu/housenumbers/"
# file name -> md5 as published by torchvision's SVHN dataset (the cropped-digit files)
OFFICIAL_MD5 = {
    "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
    "test_32x32.mat": "eb5a983be6a315427106f1b9a5ecb4a2",
    "extra_32x32.mat": "a93ce644f1a588dc4d68dda5feec44a7",
}
# Only sha256 sums of train/test are published (mindee/doctr's SVHN dataset) and
# data.download.fetch checks md5, so these are never downloaded, only found.
FORMAT1_ARCHIVES = ("train.tar.gz", "test.tar.gz", "extra.tar.gz")
BOX_FIELDS = ("left", "top", "width", "height")
DIGIT_FIELDS = ("label", *BOX_FIELDS)

Digits = list[tuple[int, list[float]]]       # [(digit 0-9, [left, top, width, height]), ...]


# ---------------------------------------------------------------- format 2: 32 x 32 digits

def load_cropped_mat(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``<split>_32x32.mat`` -> (images (N, 32, 32, 3) uint8, labels (N,) int64 in 0-9)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {MISSING}")
    try:
        mat = scipy.io.loadmat(path, variable_names=("X", "y"))
    except NotImplementedError:
        raise DataError(f"{path}: a MATLAB v7.3 (HDF5) file, not the v5 .mat of "
                        "SVHN's cropped digits") from None
    except (MatReadError, ValueError, TypeError, OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: not a readable MATLAB .mat file ({err})") from None
    for key in ("X", "y"):
        if key not in mat:
            raise DataError(f"{path}: no variable {key!r}; expected X (32x32x3xN) and y (Nx1)")
    X, y = mat["X"], mat["y"]
    if X.dtype != np.uint8 or X.ndim != 4 or X.shape[:3] != (32, 32, 3):
        raise DataError(f"{path}: X is {X.dtype} of shape {X.shape}, expected uint8 32x32x3xN")
    if y.dtype.kind not in "iuf" or y.ndim != 2 or 1 not in y.shape:
        raise DataError(f"{path}: y is {y.dtype} of shape {y.shape}, expected numbers, Nx1")
    y = y.ravel()
    if len(y) != X.shape[3]:
        raise DataError(f"{path}: {len(y)} labels in y but {X.shape[3]} images in X")
    if len(y) and (y.min() < 1 or y.max() > 10 or np.any(y != np.round(y))):
        raise DataError(f"{path}: labels outside 1..10 (min {y.min()}, max {y.max()})")
    images = np.ascontiguousarray(X.transpose(3, 0, 1, 2))
    return images, y.astype(np.int64) % 10                             # SVHN's 10 is the digit 0


# ---------------------------------------------------------------- format 1: digitStruct.mat

def read_digit_struct(path: str | os.PathLike) -> dict[str, Digits]:
    """The official ``digitStruct.mat`` -> {"1.png": [(digit 0-9, [left, top, w, h]), ...]}.

    Images and digits keep the file's order (image 1 first, digits left to right).
    HDF5 opens every referenced object on its own: about 1.5 ms an image, so
    most of a minute for train's 33,402 images and several for extra.
    """
    return _read_digit_struct(Path(path), str(path))


def _read_digit_struct(path: Path, where: str) -> dict[str, Digits]:
    if not path.is_file():
        raise DataError(f"{where}: file not found")
    if not h5py.is_hdf5(path):
        raise DataError(f"{where}: not a MATLAB v7.3 (HDF5) file, as SVHN's digitStruct.mat is")
    numbers: dict[str, Digits] = {}
    try:
        with h5py.File(path, "r") as f:
            if "digitStruct/name" not in f or "digitStruct/bbox" not in f:
                raise DataError(f"{where}: no digitStruct/name and digitStruct/bbox datasets")
            name_refs = f["digitStruct/name"][()].ravel()
            bbox_refs = f["digitStruct/bbox"][()].ravel()
            if len(name_refs) != len(bbox_refs):
                raise DataError(f"{where}: {len(name_refs)} names but {len(bbox_refs)} bboxes")
            # h5py's low-level calls take under half the time of f[ref][()]
            fid = f.id
            for i, (name_ref, bbox_ref) in enumerate(zip(name_refs, bbox_refs, strict=True)):
                name = "".join(map(chr, _array(h5r.dereference(name_ref, fid)).ravel()))
                if name in numbers:
                    raise DataError(f"{where}: image {name} appears twice")
                bbox = h5r.dereference(bbox_ref, fid)
                fields = {k: _field(fid, h5d.open(bbox, k.encode())) for k in DIGIT_FIELDS}
                numbers[name] = _digits(fields, f"{where}: image {i + 1} ({name})")
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError) as err:
        raise DataError(f"{where}: malformed digitStruct ({err})") from None
    if not numbers:
        raise DataError(f"{where}: digitStruct lists no images")
    return numbers


def _array(dataset: h5d.DatasetID) -> np.ndarray:
    out = np.empty(dataset.shape, dtype=dataset.dtype)
    dataset.read(h5s.ALL, h5s.ALL, out)
    return out


def _field(fid: h5py.h5f.FileID, dataset: h5d.DatasetID) -> list[float]:
    """One bbox field: (1, 1) numbers, or (K, 1) references to (1, 1) numbers."""
    values = _array(dataset).ravel()
    if h5py.check_dtype(ref=values.dtype) is not None:
        return [float(_array(h5r.dereference(ref, fid)).item()) for ref in values]
    return [float(v) for v in values]


def _digits(fields: dict[str, list[float]], where: str) -> Digits:
    counts = {len(v) for v in fields.values()}
    if len(counts) != 1 or 0 in counts:
        raise DataError(f"{where}: bbox fields of different lengths {sorted(counts)}")
    digits = []
    for label, *box in zip(*fields.values(), strict=True):
        if label not in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10):
            raise DataError(f"{where}: label {label} outside 1..10")
        digits.append((int(label) % 10, box))
    return digits


# ---------------------------------------------------------------- cropping into NumberImages

class _Crops:
    """Preallocated 64 x 64 crops of the numbers to be kept, filled as images arrive."""

    def __init__(self, numbers: dict[str, Digits], size: int) -> None:
        self.digits = {k: v for k, v in numbers.items() if len(v) <= MAX_LENGTH}
        self.row = {name: i for i, name in enumerate(self.digits)}
        n = len(self.digits)
        self.images = np.zeros((n, size, size, 3), np.uint8)
        self.labels = np.full((n, MAX_LENGTH), BLANK, np.int64)
        self.boxes = np.zeros((n, MAX_LENGTH, 4), np.float32)
        self.names = [""] * n
        self.size = size

    def wants(self, key: str) -> bool:
        return key in self.row and not self.names[self.row[key]]

    def add(self, key: str, data: bytes, name: str, where: str,
            shape: tuple[int, int] | None = None) -> None:
        image = decode_image(data, where)
        if shape is not None and image.shape[:2] != shape:
            raise DataError(f"{where}: image is {image.shape[1]} x {image.shape[0]}, "
                            f"the annotations say {shape[1]} x {shape[0]}")
        digits, i = self.digits[key], self.row[key]
        try:
            crop, boxes = crop_number(image, np.array([b for _, b in digits]), self.size)
        except ValueError as err:
            raise DataError(f"{where}: cannot crop the number ({err})") from None
        self.images[i], self.boxes[i, :len(digits)] = crop, boxes
        self.labels[i, :len(digits)] = [d for d, _ in digits]
        self.names[i] = name

    def result(self, where: str) -> NumberImages:
        missing = [k for k, name in zip(self.digits, self.names, strict=True) if not name]
        if missing:
            raise DataError(f"{where}: {len(missing)} annotated images are missing "
                            f"(e.g. {missing[0]})")
        if not self.names:
            raise DataError(f"{where}: no images with 1 to {MAX_LENGTH} digits")
        return NumberImages(self.images, self.labels, self.boxes, self.names)


def _tar_members(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Stream (member name, read its bytes) of every regular file of a tar / tar.gz, in order."""
    if not path.is_file():
        raise DataError(f"{path}: {MISSING}")
    damaged = (tarfile.TarError, EOFError, OSError, zlib.error)

    def reader(file: IO[bytes]) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                return file.read()
            except damaged as err:
                raise DataError(f"{path}: damaged tar file ({err})") from None
        return read

    try:
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                if member.isfile():
                    yield member.name, reader(tar.extractfile(member))
    except damaged as err:
        raise DataError(f"{path}: damaged tar file ({err})") from None


def load_format1(path: str | os.PathLike, size: int = CROP_SIZE) -> NumberImages:
    """Official ``<split>.tar.gz``, or the folder it unpacks to -> number crops.

    Names are "<split>/<n>.png" in digitStruct order; images with more than
    five digits are left out. Reads the archive once if ``digitStruct.mat`` comes
    before the PNGs and twice otherwise; only the crops are kept in memory.
    """
    path = Path(path)
    if path.is_dir():
        crops = _Crops(_read_digit_struct(path / "digitStruct.mat",
                                          str(path / "digitStruct.mat")), size)
        for key in crops.digits:
            png = path / key
            if not png.is_file():
                raise DataError(f"{png}: file not found (digitStruct.mat lists it)")
            crops.add(key, png.read_bytes(), f"{path.resolve().name}/{key}", str(png))
        return crops.result(str(path))
    crops, folder, before = None, "", 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, read in _tar_members(path):
            parent, key = os.path.split(name)
            if crops is None and key == "digitStruct.mat":
                mat = Path(tmp) / key
                mat.write_bytes(read())
                crops = _Crops(_read_digit_struct(mat, f"{path}:{name}"), size)
                folder = parent
            elif crops is None:
                before += key.endswith(".png")
            elif parent == folder and crops.wants(key):
                crops.add(key, read(), name, f"{path}:{name}")
    if crops is None:
        raise DataError(f"{path}: no digitStruct.mat in the archive")
    if before:                                      # the PNGs that came before digitStruct.mat
        for name, read in _tar_members(path):
            parent, key = os.path.split(name)
            if key == "digitStruct.mat":
                break
            if parent == folder and crops.wants(key):
                crops.add(key, read(), name, f"{path}:{name}")
    return crops.result(str(path))


# ---------------------------------------------------------------- the project's PNG tars

def read_annotations(path: str | os.PathLike, split: str | None = None
                     ) -> dict[str, tuple[Digits, tuple[int, int]]]:
    """``svhn/annotations.csv`` -> {"test/1.png": (digits, (img_height, img_width))}."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {MISSING}")
    rows: dict[str, list] = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if split is not None and row["split"] != split:
                    continue
                key = f"{row['split']}/{row['filename']}"
                label = int(row["label"])
                if not 1 <= label <= 10:
                    raise DataError(f"{path}: {key} has label {label} outside 1..10")
                entry = rows.setdefault(
                    key, [[], (int(row["img_height"]), int(row["img_width"]))])
                entry[0].append((int(row["digit_index"]), label % 10,
                                 [float(row[k]) for k in BOX_FIELDS]))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: unreadable CSV ({err})") from None
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: bad row ({err!r}); expected the columns split, filename, "
                        "digit_index, label, left, top, width, height, img_width, "
                        "img_height") from None
    return {key: ([(d, b) for _, d, b in sorted(digits, key=lambda t: t[0])], shape)
            for key, (digits, shape) in rows.items()}


def load_annotated_pngs(tar_path: str | os.PathLike, annotations_csv: str | os.PathLike,
                        split: str | None = None, size: int = CROP_SIZE) -> NumberImages:
    """The project's ``format1_*_png.tar`` (members "test/<n>.png") + annotations.csv -> crops.

    Every PNG of the tar (of ``split`` only, if given) must be annotated; its
    pixel size is checked against the CSV. Sorted by split, then image number.
    """
    tar_path = Path(tar_path)
    annotations = read_annotations(annotations_csv, split)
    present = {}                                    # annotated PNG members of the tar
    for name, _ in _tar_members(tar_path):
        if name.endswith(".png") and (split is None or name.startswith(f"{split}/")):
            if name not in annotations:
                raise DataError(f"{tar_path}:{name}: not in {annotations_csv}")
            present[name] = annotations[name][0]
    order = sorted(present, key=lambda k: (k.split("/")[0], _number_of(k)))
    crops = _Crops({k: present[k] for k in order}, size)
    for name, read in _tar_members(tar_path):
        if crops.wants(name):
            crops.add(name, read(), name, f"{tar_path}:{name}", annotations[name][1])
    return crops.result(str(tar_path))


def annotated_photos(tar_path: str | os.PathLike, annotations_csv: str | os.PathLike,
                     split: str, wanted: set[str] | None = None
                     ) -> Iterator[tuple[str, np.ndarray, Digits]]:
    """The whole images of a PNG tar with their digits: (file name, (H, W, 3) uint8,
    [(digit, [left, top, width, height]), ...]), for the ``split`` members whose
    file name ("13.png") is in ``wanted`` (all if None), in tar order."""
    tar_path = Path(tar_path)
    annotations = read_annotations(annotations_csv, split)
    for name, read in _tar_members(tar_path):
        file_name = name.split("/", 1)[-1]
        if not name.startswith(f"{split}/") or (wanted is not None and file_name not in wanted):
            continue
        if name not in annotations:
            raise DataError(f"{tar_path}:{name}: not in {annotations_csv}")
        yield file_name, decode_image(read(), f"{tar_path}:{name}"), annotations[name][0]


def _number_of(name: str) -> int:
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else 0


# ---------------------------------------------------------------- downloads

def download_official(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """``<data dir>/svhn/official/<name>``, downloaded first if it is missing.

    Downloads happen only into the default data folder (``data.downloads_allowed``)
    and only for the cropped-digit files, whose md5 is published; the format-1
    archives ``FORMAT1_ARCHIVES`` must be put there by hand.
    """
    if name not in OFFICIAL_MD5 and name not in FORMAT1_ARCHIVES:
        raise ValueError(f"unknown official SVHN file {name!r}; choose from "
                         f"{(*OFFICIAL_MD5, *FORMAT1_ARCHIVES)}")
    path = dataset_dir("svhn", data_dir) / "official" / name
    if path.is_file():
        return path
    by_hand = f"put {name} from {OFFICIAL_URL} into the folder {path.parent}"
    if name not in OFFICIAL_MD5:
        raise DataError(f"{path}: file not found (no published md5 to check a download); "
                        f"{by_hand}")
    if not downloads_allowed(data_dir):
        raise DataError(f"{path}: file not found (downloads go only into the default data "
                        f"folder); {by_hand}")
    return fetch([OFFICIAL_URL + name], path, OFFICIAL_MD5[name])
