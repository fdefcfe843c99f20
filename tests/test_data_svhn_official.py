"""data.svhn_official: the official SVHN .mat files, digitStruct.mat and format-1 archives.

Tiny files in the official layouts are written into a temporary folder: .mat
files with scipy, a MATLAB v7.3 digitStruct.mat with h5py (object references
into ``#refs#``, in both the one-digit and the many-digit form), PNGs and
tar.gz archives (the writers live in svhn_fixtures.py). Tests marked ``realdata``
crop the project's real PNGs and compare them with the stored ``svhn/format1_crops``.
"""

import io
import tarfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image
from reader_fixtures import raises_data_error_naming
from svhn_fixtures import (
    NUMBERS,
    SIZES,
    add_bytes,
    image_bytes,
    png_image,
    write_digit_struct,
    write_format1,
)

import data.paths
from data import svhn_official
from data.paths import dataset_dir
from data.strips import BLANK
from data.svhn import crop_number, load_number_crops
from data.svhn_official import (
    download_official,
    load_annotated_pngs,
    load_cropped_mat,
    load_format1,
    read_digit_struct,
)

# ---------------------------------------------------------------- format 2: 32 x 32 .mat

def test_cropped_mat_is_read_with_label_10_as_digit_0(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [5], [9], [10]], np.uint8)
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": X, "y": y})
    images, labels = load_cropped_mat(tmp_path / "test_32x32.mat")
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    assert images.flags.c_contiguous
    assert all(np.array_equal(images[i], X[..., i]) for i in range(5))
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 5, 9, 0]


@pytest.mark.parametrize("contents, problem", [
    ({"y": np.ones((2, 1), np.uint8)}, "no variable 'X'"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8)}, "no variable 'y'"),
    ({"X": np.zeros((28, 28, 3, 2), np.uint8), "y": np.ones((2, 1))}, "expected uint8 32x32x3xN"),
    ({"X": np.zeros((32, 32, 3, 2)), "y": np.ones((2, 1))}, "expected uint8 32x32x3xN"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((3, 1))}, "3 labels in y but 2"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [1]])}, "outside 1..10"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[11], [1]])}, "outside 1..10"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((2, 2))}, "expected numbers, Nx1"),
])
def test_broken_cropped_mat_files_name_the_file(tmp_path, contents, problem):
    scipy.io.savemat(tmp_path / "train_32x32.mat", contents)
    with raises_data_error_naming("train_32x32.mat") as caught:
        load_cropped_mat(tmp_path / "train_32x32.mat")
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_non_mat_files_name_the_file(tmp_path):
    (tmp_path / "extra_32x32.mat").write_text("<html>404 not found</html>" * 10)
    with raises_data_error_naming("extra_32x32.mat"):
        load_cropped_mat(tmp_path / "extra_32x32.mat")
    scipy.io.savemat(tmp_path / "cut.mat", {"X": np.zeros((32, 32, 3, 9), np.uint8)})
    (tmp_path / "cut.mat").write_bytes((tmp_path / "cut.mat").read_bytes()[:300])
    with raises_data_error_naming("cut.mat"):
        load_cropped_mat(tmp_path / "cut.mat")
    write_digit_struct(tmp_path / "digitStruct.mat", NUMBERS)
    with raises_data_error_naming("digitStruct.mat") as caught:
        load_cropped_mat(tmp_path / "digitStruct.mat")
    assert "v7.3" in str(caught.value)
    with raises_data_error_naming("absent.mat"):
        load_cropped_mat(tmp_path / "absent.mat")


# ---------------------------------------------------------------- digitStruct.mat

def test_digit_struct_reads_both_the_scalar_and_the_reference_form(tmp_path):
    write_digit_struct(tmp_path / "digitStruct.mat", NUMBERS)
    numbers = read_digit_struct(tmp_path / "digitStruct.mat")
    assert list(numbers) == ["1.png", "2.png", "3.png"]
    assert numbers["1.png"] == [(7, [10.0, 6.0, 8.0, 14.0])]
    assert numbers["2.png"] == [(1, [4.0, 3.0, 6.0, 12.0]), (0, [11.0, 4.0, 7.0, 12.0])]
    assert [d for d, _ in numbers["3.png"]] == [1, 2, 3, 4, 5, 6]


def test_broken_digit_structs_name_the_file(tmp_path):
    (tmp_path / "digitStruct.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with raises_data_error_naming("digitStruct.mat") as caught:
        read_digit_struct(tmp_path / "digitStruct.mat")
    assert "HDF5" in str(caught.value)
    with h5py.File(tmp_path / "empty.mat", "w") as f:
        f.create_group("somethingElse")
    with raises_data_error_naming("empty.mat") as caught:
        read_digit_struct(tmp_path / "empty.mat")
    assert "digitStruct/name" in str(caught.value)
    write_digit_struct(tmp_path / "bad.mat", {"1.png": [(11, [1.0, 1.0, 2.0, 2.0])]})
    with raises_data_error_naming("bad.mat") as caught:
        read_digit_struct(tmp_path / "bad.mat")
    assert "1.png" in str(caught.value) and "outside 1..10" in str(caught.value)


# ---------------------------------------------------------------- format-1 archives

def expected_crop(name: str) -> tuple[np.ndarray, np.ndarray]:
    return crop_number(png_image(name), np.array([b for _, b in NUMBERS[name]]))


@pytest.mark.parametrize("struct_first", [True, False])
def test_format1_archive_gives_crops_labels_and_crop_boxes(tmp_path, struct_first):
    numbers = load_format1(write_format1(tmp_path, "train", struct_first))
    assert numbers.names == ["train/1.png", "train/2.png"]           # 3.png has six digits
    assert numbers.images.shape == (2, 64, 64, 3) and numbers.images.dtype == np.uint8
    assert numbers.labels.tolist() == [[7, BLANK, BLANK, BLANK, BLANK],
                                       [1, 0, BLANK, BLANK, BLANK]]
    for i, name in enumerate(["1.png", "2.png"]):
        crop, boxes = expected_crop(name)
        assert np.array_equal(numbers.images[i], crop)
        assert np.array_equal(numbers.boxes[i, :len(boxes)], boxes)
        assert not numbers.boxes[i, len(boxes):].any()
    assert numbers.boxes.dtype == np.float32 and numbers.labels.dtype == np.int64


def test_format1_folder_equals_the_archive(tmp_path):
    archive = write_format1(tmp_path / "a", "test")
    with tarfile.open(archive) as tar:                  # unpack it as `tar xzf` would
        for member in tar.getmembers():
            (tmp_path / "x" / member.name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "x" / member.name).write_bytes(tar.extractfile(member).read())
    from_tar, from_folder = load_format1(archive), load_format1(tmp_path / "x" / "test")
    assert from_folder.names == from_tar.names == ["test/1.png", "test/2.png"]
    assert np.array_equal(from_folder.images, from_tar.images)
    assert np.array_equal(from_folder.boxes, from_tar.boxes)
    assert np.array_equal(from_folder.labels, from_tar.labels)


def test_damaged_format1_archives_name_the_file(tmp_path):
    archive = write_format1(tmp_path, "extra")
    data = archive.read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with raises_data_error_naming("cut.tar.gz"):
        load_format1(tmp_path / "cut.tar.gz")
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b" + bytes(100))
    with raises_data_error_naming("junk.tar.gz"):
        load_format1(tmp_path / "junk.tar.gz")
    short = write_format1(tmp_path / "short", "train", leave_out="2.png")
    with raises_data_error_naming("train.tar.gz") as caught:
        load_format1(short)
    assert "missing (e.g. 2.png)" in str(caught.value)


# ---------------------------------------------------------------- project PNG tars + CSV

def write_annotated(folder: Path, sizes: dict[str, tuple[int, int]]) -> tuple[Path, Path]:
    tar_path, csv_path = folder / "pngs.tar", folder / "annotations.csv"
    lines = ["split,filename,digit_index,label,left,top,width,height,img_width,img_height"]
    with tarfile.open(tar_path, "w") as tar:
        for name in ["2.png", "1.png"]:
            add_bytes(tar, f"test/{name}", image_bytes(png_image(name)))
            H, W = sizes[name]
            for i, (label, (x, y, w, h)) in enumerate(NUMBERS[name]):
                lines.append(f"test,{name},{i},{label},{x:g},{y:g},{w:g},{h:g},{W},{H}")
    lines.append("train,9.png,0,3,1,1,2,2,10,10")
    csv_path.write_text("\n".join(lines) + "\n")
    return tar_path, csv_path


def test_annotated_pngs_are_cropped_like_format1(tmp_path):
    tar_path, csv_path = write_annotated(tmp_path, SIZES)
    numbers = load_annotated_pngs(tar_path, csv_path, split="test")
    assert numbers.names == ["test/1.png", "test/2.png"]
    assert numbers.labels[:, :2].tolist() == [[7, BLANK], [1, 0]]
    crop, boxes = expected_crop("2.png")
    assert np.array_equal(numbers.images[1], crop)
    assert np.array_equal(numbers.boxes[1, :2], boxes)


def test_annotated_photos_are_the_whole_images_with_their_digits(tmp_path):
    tar_path, csv_path = write_annotated(tmp_path, SIZES)
    photos = list(svhn_official.annotated_photos(tar_path, csv_path, "test", {"2.png"}))
    assert [name for name, _, _ in photos] == ["2.png"]
    _, image, digits = photos[0]
    assert np.array_equal(image, png_image("2.png"))
    assert digits == [(label % 10, [float(v) for v in box]) for label, box in NUMBERS["2.png"]]
    assert len(list(svhn_official.annotated_photos(tar_path, csv_path, "test"))) == 2


def test_annotated_pngs_of_the_wrong_size_name_the_member(tmp_path):
    tar_path, csv_path = write_annotated(tmp_path, {**SIZES, "1.png": (24, 31)})
    with raises_data_error_naming("test/1.png") as caught:
        load_annotated_pngs(tar_path, csv_path)
    assert "31 x 24" in str(caught.value)


# ---------------------------------------------------------------- downloads

def test_downloads_only_the_md5_checked_files_into_the_default_folder(monkeypatch, tmp_path):
    calls = []

    def fake_fetch(urls, dest, md5):
        calls.append((urls, dest, md5))
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes(b"mat")
        return Path(dest)

    monkeypatch.setattr(svhn_official, "fetch", fake_fetch)
    monkeypatch.setattr(data.paths, "DEFAULT_DATA_DIR", tmp_path / "default")
    monkeypatch.delenv("DIGITS_DATA", raising=False)
    path = download_official("test_32x32.mat")
    assert path == tmp_path / "default" / "svhn" / "official" / "test_32x32.mat"
    assert calls == [(["http://ufldl.stanford.edu/housenumbers/test_32x32.mat"], path,
                      "eb5a983be6a315427106f1b9a5ecb4a2")]
    assert download_official("test_32x32.mat") == path and len(calls) == 1    # already there
    with raises_data_error_naming("train_32x32.mat"):
        download_official("train_32x32.mat", tmp_path / "mine")                # a named folder
    with raises_data_error_naming("train.tar.gz"):
        download_official("train.tar.gz")                                      # no md5 known
    with pytest.raises(ValueError):
        download_official("train_64x64.mat")
    assert len(calls) == 1


# ---------------------------------------------------------------- real data

FIRST = [f"{n}.png" for n in range(1, 21)]


@pytest.fixture(scope="module")
def real_pngs():
    svhn = dataset_dir("svhn")
    numbers = load_annotated_pngs(svhn / "format1_subset_png.tar", svhn / "annotations.csv",
                                  split="test")
    return numbers.subset([numbers.names.index(f"test/{n}") for n in FIRST])


@pytest.mark.realdata
def test_real_pngs_crop_to_the_stored_format1_crops(real_pngs):
    stored = load_number_crops("test", names=FIRST)
    assert stored.names == real_pngs.names
    assert np.array_equal(stored.labels, real_pngs.labels)
    assert np.abs(stored.boxes - real_pngs.boxes).max() <= 0.0051        # boxes.csv: 2 decimals
    difference = np.abs(stored.images.astype(np.int16) - real_pngs.images)
    assert difference.mean() < 0.8                                       # measured 0.68
    assert difference.reshape(len(FIRST), -1).mean(axis=1).max() < 1.2   # measured 1.08
    # the stored crops are these crops saved as JPEG (quality 95, 4:4:4): with the
    # Pillow / libjpeg that made them (Pillow 13.0.0) that is exact to the bit
    for crop, jpeg in zip(real_pngs.images, stored.images, strict=True):
        out = io.BytesIO()
        Image.fromarray(crop).save(out, "JPEG", quality=95, subsampling=0)
        assert np.array_equal(np.asarray(Image.open(out)), jpeg)


@pytest.mark.realdata
def test_real_pngs_through_a_digit_struct_folder(tmp_path, real_pngs):
    svhn = dataset_dir("svhn")
    annotations = svhn_official.read_annotations(svhn / "annotations.csv", "test")
    folder = tmp_path / "test"
    folder.mkdir()
    with tarfile.open(svhn / "format1_subset_png.tar") as tar:
        for name in FIRST:
            (folder / name).write_bytes(tar.extractfile(f"test/{name}").read())
    write_digit_struct(folder / "digitStruct.mat", {
        name: [(10 if d == 0 else d, box) for d, box in annotations[f"test/{name}"][0]]
        for name in FIRST})
    numbers = load_format1(folder)
    assert numbers.names == real_pngs.names
    assert np.array_equal(numbers.images, real_pngs.images)
    assert np.array_equal(numbers.boxes, real_pngs.boxes)
    assert np.array_equal(numbers.labels, real_pngs.labels)
