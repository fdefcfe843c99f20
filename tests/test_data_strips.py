"""Properties of the synthetic number-strip generator (data.strips).

Most tests use pools of *constant* images: every image of a pool is filled with
its own grey value, so any pixel of a strip tells which pool image it came
from.  A bilinear resize of a constant image is the same constant, so this
works for the free layout too.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import seeds

from data.strips import (
    BLANK,
    FREE_MAX_GAP,
    LAYOUTS,
    MAX_LENGTH,
    STRIP_HEIGHT,
    STRIP_WIDTH,
    StripStream,
    distort_characters,
    ink_boxes,
    make_fixed_strips,
    make_strips,
)

FAST = settings(max_examples=25, deadline=None)
layouts = st.sampled_from(LAYOUTS)


def constant_pool(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """One 28 x 28 image per value, filled with it; image i has label i % 10."""
    images = np.array(values, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
    return images, np.arange(len(values)) % 10


# Two disjoint pools, like a train and a validation split: train values are even.
TRAIN_VALUES = list(range(40, 240, 4))          # 50 images, values 40, 44, ..., 236
VALIDATION_VALUES = list(range(42, 242, 20))    # 10 images, values 42, 62, ..., 222
# One image per class: value 50 + 20 * label, so a value names its class.
DIGIT_VALUES = [50 + 20 * label for label in range(10)]


def lengths_of(labels: np.ndarray) -> np.ndarray:
    return (labels != BLANK).sum(axis=1)


@FAST
@given(seed=seeds, layout=layouts)
def test_shapes_dtypes_and_label_layout(seed, layout):
    images, labels = constant_pool(TRAIN_VALUES)
    strips, strip_labels = make_strips(images, labels, 40, np.random.default_rng(seed), layout)
    assert strips.shape == (40, STRIP_HEIGHT, STRIP_WIDTH) and strips.dtype == np.uint8
    assert strip_labels.shape == (40, MAX_LENGTH) and strip_labels.dtype == np.int64
    # blanks (10) come exactly after the length: no digit after a blank, at least one digit
    lengths = lengths_of(strip_labels)
    slot = np.arange(MAX_LENGTH)
    assert np.all((strip_labels == BLANK) == (slot >= lengths[:, None]))
    assert np.all(lengths >= 1)
    assert np.all(strip_labels[strip_labels != BLANK] < 10)


@FAST
@given(seed=seeds, layout=layouts)
def test_all_lengths_occur(seed, layout):
    images, labels = constant_pool(TRAIN_VALUES)
    _, strip_labels = make_strips(images, labels, 300, np.random.default_rng(seed), layout)
    assert set(lengths_of(strip_labels)) == {1, 2, 3, 4, 5}


@FAST
@given(seed=seeds, layout=layouts)
def test_characters_come_only_from_the_given_pool(seed, layout):
    train_images, train_labels = constant_pool(TRAIN_VALUES)
    strips, _ = make_strips(train_images, train_labels, 50, np.random.default_rng(seed), layout)
    assert set(np.unique(strips)) <= {0, *TRAIN_VALUES}

    val_images, val_labels = constant_pool(VALIDATION_VALUES)
    strips, _ = make_fixed_strips(val_images, val_labels, 50, seed % 1000, layout)
    assert set(np.unique(strips)) <= {0, *VALIDATION_VALUES}


@FAST
@given(seed=seeds)
def test_canonical_slots_hold_the_labelled_character_and_empty_slots_are_zero(seed):
    images, labels = constant_pool(DIGIT_VALUES)
    strips, strip_labels = make_strips(images, labels, 50, np.random.default_rng(seed))
    slots = strips.reshape(50, 28, MAX_LENGTH, 28).transpose(0, 2, 1, 3)  # (50, 5, 28, 28)
    for strip_slots, slot_labels in zip(slots, strip_labels, strict=True):
        for slot_image, label in zip(strip_slots, slot_labels, strict=True):
            expected = 0 if label == BLANK else DIGIT_VALUES[label]
            assert np.all(slot_image == expected)


def runs_of_columns(strip: np.ndarray) -> list[int]:
    """Grey values met scanning the strip's columns left to right, repeats merged."""
    column_values = strip.max(axis=0)
    values = [int(v) for v in column_values if v]
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


@FAST
@given(seed=seeds)
def test_free_layout_reads_left_to_right_and_stays_inside(seed):
    images, labels = constant_pool(DIGIT_VALUES)
    strips, strip_labels = make_strips(images, labels, 50, np.random.default_rng(seed), "free")
    for strip, strip_label in zip(strips, strip_labels, strict=True):
        digits = [DIGIT_VALUES[d] for d in strip_label if d != BLANK]
        expected = [v for i, v in enumerate(digits) if i == 0 or v != digits[i - 1]]
        assert runs_of_columns(strip) == expected
        # glyph heights are 0.8..1.0 of the 28-px crop: 22..28 rows, vertically inside
        ink_rows = np.flatnonzero(strip.any(axis=1))
        assert 22 <= len(ink_rows) <= 28
        # gaps between glyphs are at most FREE_MAX_GAP columns
        ink_cols = np.flatnonzero(strip.any(axis=0))
        assert np.diff(ink_cols).max(initial=1) <= FREE_MAX_GAP + 1


def test_free_layout_positions_vary():
    images, labels = constant_pool(DIGIT_VALUES)
    strips, _ = make_strips(images, labels, 200, np.random.default_rng(0), "free")
    first_ink_column = strips.any(axis=1).argmax(axis=1)
    assert len(set(first_ink_column)) > 20


@FAST
@given(seed=seeds, layout=layouts)
def test_same_seed_gives_same_strips(seed, layout):
    images, labels = constant_pool(TRAIN_VALUES)
    first = make_strips(images, labels, 20, np.random.default_rng(seed), layout)
    second = make_strips(images, labels, 20, np.random.default_rng(seed), layout)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_stream_is_reproducible_and_fresh_each_epoch(layout):
    images, labels = constant_pool(TRAIN_VALUES)
    stream = StripStream(images, labels, batch_size=16, steps_per_epoch=4, seed=7, layout=layout)
    again = StripStream(images, labels, batch_size=16, steps_per_epoch=4, seed=7, layout=layout)
    epoch_2 = list(stream.epoch(2))
    assert len(epoch_2) == len(stream) == 4
    for batch, batch_again in zip(epoch_2, again.epoch(2), strict=True):
        assert np.array_equal(batch[0], batch_again[0]) and np.array_equal(batch[1], batch_again[1])
    # resuming at step 2 sees exactly the last two batches
    resumed = list(stream.epoch(2, start_step=2))
    assert len(resumed) == 2
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(resumed, epoch_2[2:], strict=True))
    # another epoch, or another seed, gives other strips
    epoch_3 = list(stream.epoch(3))
    assert not any(np.array_equal(a[0], b[0]) for a, b in zip(epoch_2, epoch_3, strict=True))
    other_seed = StripStream(images, labels, 16, 4, seed=8, layout=layout)
    assert not np.array_equal(next(other_seed.epoch(2))[0], epoch_2[0][0])
    # batches within an epoch differ too
    assert not np.array_equal(epoch_2[0][0], epoch_2[1][0])


def test_ink_boxes():
    images = np.zeros((3, 28, 28), np.uint8)
    images[0, 5:20, 3:9] = 200
    images[1, 0, 27] = 255
    images[2, 10, 10] = 10  # below the ink threshold: treated as empty
    assert ink_boxes(images).tolist() == [[5, 3, 15, 6], [0, 27, 1, 1], [0, 0, 28, 28]]


def test_free_layout_on_real_looking_glyphs_keeps_ink_range():
    rng = np.random.default_rng(1)
    images = np.zeros((20, 28, 28), np.uint8)
    for image in images:  # a random filled rectangle per image
        top, left = rng.integers(0, 10, 2)
        image[top:top + rng.integers(8, 18), left:left + rng.integers(3, 18)] = 255
    strips, _ = make_strips(images, np.arange(20) % 10, 100, rng, "free")
    assert strips.max() == 255 and strips.min() == 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_zero_count_and_bad_arguments(layout):
    images, labels = constant_pool(TRAIN_VALUES)
    strips, strip_labels = make_strips(images, labels, 0, np.random.default_rng(0), layout)
    assert strips.shape == (0, 28, 140) and strip_labels.shape == (0, 5)
    with pytest.raises(ValueError):
        make_strips(images, labels, 5, np.random.default_rng(0), "diagonal")
    with pytest.raises(ValueError):
        make_strips(images.astype(np.float32), labels, 5, np.random.default_rng(0), layout)
    with pytest.raises(ValueError):
        StripStream(images, labels[:-1], 8, 2, seed=0, layout=layout)


# ---------------------------------------------------------------- distortion

def bar_images(n: int) -> np.ndarray:
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255                     # a vertical bar, like a "1"
    return images


def test_distortion_with_nothing_to_draw_is_the_identity(monkeypatch):
    import data.strips as strips
    for name, value in [("DISTORT_ANGLE", 0.0), ("DISTORT_SCALE", (1.0, 1.0)),
                        ("DISTORT_SHEAR", 0.0), ("DISTORT_SHIFT", 0.0)]:
        monkeypatch.setattr(strips, name, value)
    images = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    assert np.array_equal(distort_characters(images, np.random.default_rng(1)), images)


def test_distortion_warps_each_character_its_own_way_and_keeps_its_ink():
    images = bar_images(50)
    out = distort_characters(images, np.random.default_rng(2))
    assert out.shape == images.shape and out.dtype == np.uint8
    assert len({o.tobytes() for o in out}) == 50               # no two warped alike
    ink = out.reshape(50, -1).sum(axis=1) / images[0].sum()
    assert np.all((0.75 < ink) & (ink < 1.3))                  # scale 0.9-1.1 in each direction
    again = distort_characters(images, np.random.default_rng(2))
    assert np.array_equal(out, again)


@given(seeds, layouts)
@FAST
def test_distorted_strips_keep_the_labels_of_the_same_draw(seed, layout):
    images, labels = constant_pool(TRAIN_VALUES)
    plain, plain_labels = make_strips(images, labels, 12, np.random.default_rng(seed), layout)
    warped, warped_labels = make_strips(images, labels, 12, np.random.default_rng(seed), layout,
                                        distort=True)
    assert np.array_equal(plain_labels, warped_labels)
    assert warped.shape == plain.shape and warped.dtype == np.uint8
    # ... and are warped: a character may come out as it was (a draw close to the
    # identity), most do not.
    changed = [not np.array_equal(w, p) for w, p in zip(warped, plain, strict=True)]
    assert sum(changed) >= len(changed) // 2, changed
