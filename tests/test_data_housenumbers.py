"""The synthetic house-number generator (data.housenumbers, data.render, data.glyphs).

The framing tests derive where SVHN's crop puts the digits: the crop window
is the union of the digit boxes grown 1.3 x about its centre (whole pixels),
resized to 64 x 64, so an unclipped union spans 64 / 1.3 = 49.2 px and starts
64 * 0.15 / 1.3 = 7.4 px from the edge (a pixel more or less from rounding
the window outwards).  Tests marked ``realdata`` read $DIGITS_DATA.
"""

import csv
import os
import tarfile

import matplotlib
import numpy as np
import pytest
from PIL import Image
from svhn_fixtures import add_bytes, image_bytes

from data.errors import DataError
from data.glyphs import GlyphCache, find_fonts, font_renders_digits
from data.housenumbers import (
    LENGTH_P,
    HouseNumberGenerator,
    background_patches,
    draw_labels,
    train_backgrounds,
)
from data.render import _warp, apply, place, plan_number, shift
from data.svhn import BLANK, NumberImages

MPL_FONTS = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")


@pytest.fixture(scope="module")
def generator() -> HouseNumberGenerator:
    return HouseNumberGenerator()


@pytest.fixture(scope="module")
def numbers(generator) -> NumberImages:
    return generator.numbers(300, np.random.default_rng(7))


def check_labels(labels: np.ndarray) -> np.ndarray:
    """Digits 0-9 up to the length, BLANK after it; returns the lengths."""
    lengths = (labels != BLANK).sum(axis=1)
    used = np.arange(5) < lengths[:, None]
    assert labels.dtype == np.int64 and labels.shape[1] == 5
    assert ((labels >= 0) & (labels <= 9))[used].all() and (labels[~used] == BLANK).all()
    assert lengths.min() >= 1
    return lengths


# ---------------------------------------------------------------- numbers


def test_same_seed_same_images_even_from_a_fresh_generator(generator):
    a = generator.numbers(12, np.random.default_rng(3))
    b = HouseNumberGenerator().numbers(12, np.random.default_rng(3))
    c = generator.numbers(12, np.random.default_rng(4))
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.boxes, b.boxes)
    assert not np.array_equal(a.images, c.images)
    s1 = generator.scenes(6, np.random.default_rng(3))
    s2 = HouseNumberGenerator().scenes(6, np.random.default_rng(3))
    assert np.array_equal(s1.images, s2.images) and np.array_equal(s1.boxes, s2.boxes)


def test_shapes_and_dtypes(generator, numbers):
    assert numbers.images.shape == (300, 64, 64, 3) and numbers.images.dtype == np.uint8
    assert numbers.labels.shape == (300, 5) and numbers.boxes.shape == (300, 5, 4)
    assert numbers.boxes.dtype == np.float32 and len(numbers.names) == 300
    small = generator.numbers(3, np.random.default_rng(0), size=32)
    assert small.images.shape == (3, 32, 32, 3)


def test_labels_are_valid_and_every_length_occurs(numbers):
    lengths = check_labels(numbers.labels)
    assert set(lengths.tolist()) == {1, 2, 3, 4, 5}
    unused = np.arange(5) >= lengths[:, None]
    assert (numbers.boxes[unused] == 0).all()
    many = check_labels(draw_labels(20000, np.random.default_rng(0)))
    share = np.bincount(many, minlength=6)[1:] / len(many)
    assert np.allclose(share, LENGTH_P, atol=0.015)
    first = draw_labels(20000, np.random.default_rng(1))[:, 0]
    assert (first == 0).mean() < 0.04 and (first == 1).mean() > (first == 9).mean()


def test_boxes_are_framed_like_svhn_crops(numbers):
    union = numbers.union_boxes()
    used = np.arange(5) < numbers.lengths()[:, None]
    assert (numbers.boxes[used][:, 2:] > 0).all()
    assert (union[:, 0] > -0.5).all() and (union[:, 1] > -0.5).all()
    assert (union[:, 0] + union[:, 2] < 64.5).all() and (union[:, 1] + union[:, 3] < 64.5).all()
    span = 64 / 1.3                       # the union's size in the crop when nothing is clipped
    edge = 64 * 0.15 / 1.3                # its distance from the crop's edge
    for start, size in ((union[:, 0], union[:, 2]), (union[:, 1], union[:, 3])):
        assert abs(np.median(size) - span) < 1.5 and abs(np.median(start) - edge) < 1.0
        framed = (np.abs(size - span) < 3) & (np.abs(start - edge) < 2)
        assert framed.mean() > 0.75        # the rest: the photo ended inside the window
        # Clipping only ever enlarges the union; rounding the window outwards to whole
        # pixels shrinks it, by up to 2 / 1.3 of the union's size in canvas pixels.
        assert (size > span - 6).all() and (size > span - 2.5).mean() > 0.95


def test_boxes_sit_tight_on_the_ink():
    """Through place()'s map, each number's digit boxes (before the annotator's margin)
    bound exactly the ink that paint() draws, to within a pixel."""
    cache, fonts, rng = GlyphCache(), find_fonts(), np.random.default_rng(0)
    for _ in range(60):
        digits = [int(d) for d in rng.integers(0, 10, rng.integers(1, 6))]
        height = float(rng.uniform(10, 70))
        plan = plan_number(digits, height, cache, fonts, rng, neighbours=False)
        h, boxes = place(plan, height, rng)
        q = apply(h, plan.points)
        lo, hi = np.minimum.reduceat(q, plan.starts), np.maximum.reduceat(q, plan.starts)
        h = shift(h, 20 - lo[:, 0].min(), 20 - lo[:, 1].min())
        offset = np.array([20 - lo[:, 0].min(), 20 - lo[:, 1].min()])
        lo, hi = lo + offset, hi + offset
        size = (int(hi[:, 0].max()) + 20, int(hi[:, 1].max()) + 20)
        cover, (x, y) = _warp(Image.fromarray(plan.mask), h, size)
        ys, xs = np.nonzero(np.asarray(cover) >= 128)
        ink = np.array([xs.min() + x, ys.min() + y, xs.max() + x + 1, ys.max() + y + 1])
        union = np.array([*lo.min(0), *hi.max(0)])
        assert np.abs(union - ink).max() <= 1.5, (digits, union, ink)
        # The returned boxes add a margin of a few % of the height around that ink.
        got = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        raw = np.concatenate([lo, hi], axis=1) - np.tile(offset, 2)
        assert np.abs(got - raw).max() < 0.12 * height + plan.grow * height / plan.level + 1


def test_generator_takes_background_patches_and_checks_them(generator):
    patches = np.random.default_rng(0).integers(0, 256, (5, 20, 24, 3), dtype=np.uint8)
    out = HouseNumberGenerator(backgrounds=patches).numbers(20, np.random.default_rng(1))
    assert out.images.shape == (20, 64, 64, 3)
    # The patches are used: the same draw without them gives the same numbers on other walls.
    plain = generator.numbers(20, np.random.default_rng(1))
    assert np.array_equal(out.labels, plain.labels)
    assert all(not np.array_equal(a, b) for a, b in zip(out.images, plain.images, strict=True))
    with pytest.raises(ValueError):
        HouseNumberGenerator(backgrounds=patches[..., 0])


# ---------------------------------------------------------------- scenes


def test_scenes_place_one_number_inside_the_image(generator):
    scenes = generator.scenes(150, np.random.default_rng(2), size=64)
    assert scenes.images.shape == (150, 64, 64, 3) and scenes.images.dtype == np.uint8
    lengths = check_labels(scenes.labels)
    union = scenes.union_boxes()
    assert (union[:, :2] > -0.5).all() and (union[:, :2] + union[:, 2:] < 64.5).all()
    used = np.arange(5) < lengths[:, None]
    assert (scenes.boxes[used][:, 2:] > 0).all() and (scenes.boxes[~used] == 0).all()
    width = union[:, 2] / 64
    assert width.min() > 0.04 and width.max() < 0.95 and width.max() > 0.5
    assert np.median(width) < 0.4            # log-uniform between 8 and 90 %: mostly small


# ---------------------------------------------------------------- fonts


def test_find_fonts_keeps_only_fonts_that_draw_digits(tmp_path):
    fonts = find_fonts()
    names = {os.path.basename(f) for f in fonts}
    assert "DejaVuSans.ttf" in names and len(fonts) >= 10
    for bad in ("cmex10.ttf", "cmsy10.ttf", "cmmi10.ttf", "LastResortHE-Regular.ttf",
                "STIXSizOneSymReg.ttf"):
        assert bad not in names
        if os.path.exists(os.path.join(MPL_FONTS, bad)):
            assert not font_renders_digits(os.path.join(MPL_FONTS, bad))
    for name in ("DejaVuSerif.ttf", "cmr10.ttf", "DejaVuSans-Oblique.ttf"):
        assert font_renders_digits(os.path.join(MPL_FONTS, name))
    for name in ("DejaVuSans.ttf", "cmsy10.ttf"):
        (tmp_path / name).write_bytes(open(os.path.join(MPL_FONTS, name), "rb").read())
    (tmp_path / "broken.ttf").write_bytes(b"not a font")
    assert find_fonts([str(tmp_path)]) == [str(tmp_path / "DejaVuSans.ttf")]


# ---------------------------------------------------------------- backgrounds

RED = (255, 0, 0)


def red_digit_image(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A blue-grey image whose digit box is pure red: patches must never contain red."""
    image = np.zeros((height, width, 3), np.uint8)
    image[...] = (40, 60, 90)
    image[::3] = (70, 80, 100)
    left, top, w, h = box
    image[top:top + h, left:left + w] = RED
    return image


def has_red(patches: np.ndarray) -> bool:
    return bool(((patches[..., 0] > 100) & (patches[..., 1] < 80)).any())


def write_svhn(folder, members: dict[str, bytes], rows: list[list]) -> None:
    svhn = folder / "svhn"
    svhn.mkdir(parents=True, exist_ok=True)
    with open(svhn / "annotations.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["split", "filename", "digit_index", "label", "left", "top", "width",
                    "height", "img_width", "img_height"])
        w.writerows(rows)
    with tarfile.open(svhn / "format1_subset_png.tar", "w") as tar:
        for name, data in members.items():
            add_bytes(tar, name, data)


def test_background_patches_avoid_the_digit_boxes():
    images = np.stack([red_digit_image(64, 64, (9, 7, 46, 50)) for _ in range(4)])
    boxes = np.zeros((4, 5, 4), np.float32)
    boxes[:, 0] = (9, 7, 46, 50)
    labels = np.full((4, 5), BLANK, np.int64)
    labels[:, 0] = 3
    crops = NumberImages(images, labels, boxes, ["a", "b", "c", "d"])
    patches = background_patches(crops, 16, 40, np.random.default_rng(0))
    assert patches.shape == (40, 16, 16, 3) and patches.dtype == np.uint8
    assert not has_red(patches)
    full = [(red_digit_image(200, 90, (80, 20, 40, 50)), np.array([[80, 20, 40, 50]]))]
    patches = background_patches(full, 32, 30, np.random.default_rng(1))
    assert len(patches) == 30 and not has_red(patches)


def test_train_backgrounds_reads_only_train_images(tmp_path):
    image = red_digit_image(160, 80, (60, 15, 30, 50))
    write_svhn(tmp_path, {"train/1.png": image_bytes(image), "test/1.png": b"not even a png"},
               [["train", "1.png", 0, 5, 60, 15, 30, 50, 160, 80],
                ["test", "1.png", 0, 2, 0, 0, 10, 10, 20, 20]])
    patches = train_backgrounds(tmp_path, size=16, per_image=6, rng=np.random.default_rng(0))
    assert patches.shape == (6, 16, 16, 3) and not has_red(patches)
    again = train_backgrounds(tmp_path, size=16, per_image=6, rng=np.random.default_rng(0))
    assert np.array_equal(patches, again)


def test_train_backgrounds_names_missing_or_damaged_files(tmp_path):
    with pytest.raises(DataError, match="annotations.csv"):
        train_backgrounds(tmp_path)
    rows = [["train", "1.png", 0, 5, 10, 10, 10, 10, 64, 48]]
    write_svhn(tmp_path, {}, rows)
    (tmp_path / "svhn" / "format1_subset_png.tar").unlink()
    with pytest.raises(DataError, match="format1_subset_png.tar"):
        train_backgrounds(tmp_path)
    (tmp_path / "svhn" / "format1_subset_png.tar").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(DataError, match="format1_subset_png.tar"):
        train_backgrounds(tmp_path)
    write_svhn(tmp_path, {"train/1.png": b"\x89PNG broken"}, rows)
    with pytest.raises(DataError, match="train/1.png"):
        train_backgrounds(tmp_path)
    write_svhn(tmp_path, {"train/2.png": image_bytes(red_digit_image(64, 48, (1, 1, 5, 5)))}, rows)
    with pytest.raises(DataError, match="train/2.png"):
        train_backgrounds(tmp_path)                  # an image without boxes


@pytest.mark.realdata
def test_real_train_backgrounds_feed_the_generator():
    from data.svhn import load_number_crops

    patches = train_backgrounds(size=32, per_image=4, rng=np.random.default_rng(0))
    assert patches.shape[1:] == (32, 32, 3) and len(patches) > 257 * 3
    crops = load_number_crops("train")
    more = background_patches(crops, 32, 200, np.random.default_rng(0))
    assert more.shape == (200, 32, 32, 3)
    generator = HouseNumberGenerator(backgrounds=np.concatenate([patches, more]))
    out = generator.numbers(50, np.random.default_rng(0))
    check_labels(out.labels)
    assert out.images.std() > 10


def test_box_corners_and_sizes_are_inverse():
    from data.svhn import corners, sizes
    boxes = np.array([[[2.0, 3.0, 4.0, 5.0], [0.5, 1.5, 2.5, 0.5]]])         # (1, 2, 4) l, t, w, h
    assert np.array_equal(corners(boxes), [[[2.0, 3.0, 6.0, 8.0], [0.5, 1.5, 3.0, 2.0]]])
    assert np.array_equal(sizes(corners(boxes)), boxes)
