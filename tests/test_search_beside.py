"""The photo search's last steps: looking beside its answer (reader.locate.extend) and
reading columns of digits (reader.stacked)."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from reader.choose import Candidate
from reader.evaluate import load_reader
from reader.locate import covers, extend, extends, widened
from reader.photo_crops import pad_photo
from reader.stacked import columns, looks_stacked, read_stacked, restack

SHIPPED = Path(__file__).resolve().parent.parent / "models" / "svhn-numbers.npz"
NO_LABELS = np.zeros(5, np.int64)


def reading(text: str, box, digits=None, confidence: float = 0.9) -> Candidate:
    return Candidate(0, text, confidence, np.array(box, np.float64), NO_LABELS,
                     digits=None if digits is None else np.array(digits, np.float64))


@pytest.fixture(scope="module")
def shipped():
    return load_reader(SHIPPED)[0]


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans:bold"), size)


def test_widened_boxes_hold_the_box_and_stay_in_the_photo():
    box = np.array([100.0, 50.0, 130.0, 70.0])
    grown = widened(box, 400, 200)
    assert len(grown) == 6
    for b in grown:
        assert covers(b, box, 1.0) and 0 <= b[0] and b[2] <= 400
        assert (b[1], b[3]) == (50, 70)                      # sideways only
    assert any(b[0] < 100 and b[2] == 130 for b in grown)    # to the left alone
    assert any(b[0] == 100 and b[2] > 130 for b in grown)    # to the right alone
    assert all(b[0] >= 0 for b in widened(np.array([2.0, 0, 20, 30]), 50, 30))


def test_covers_is_the_share_of_the_inner_box_inside():
    inner = np.array([0.0, 0, 10, 10])
    assert covers(np.array([0.0, 0, 10, 10]), inner, 1.0)
    assert covers(np.array([3.0, 0, 20, 10]), inner, 0.7)
    assert not covers(np.array([4.0, 0, 20, 10]), inner, 0.7)
    assert not covers(np.array([20.0, 0, 30, 10]), inner)


def test_a_longer_reading_extends_only_with_new_digits_beside_the_chosen_box():
    chosen = reading("10", [100, 0, 130, 20])
    beside = [[60, 0, 68, 20], [80, 0, 88, 20], [100, 0, 112, 20], [118, 0, 130, 20],
              [0, 0, 0, 0]]
    assert extends(reading("1110", [60, 0, 130, 20], beside), chosen)
    # the same digits, but the reader puts its third digit inside the chosen box:
    # it read one of the chosen digits twice ("949" as "9499")
    twice = [[100, 0, 110, 20], [110, 0, 120, 20], [120, 0, 130, 20], [0, 0, 0, 0],
             [0, 0, 0, 0]]
    assert not extends(reading("100", [100, 0, 132, 20], twice), chosen)
    assert not extends(reading("1170", [60, 0, 130, 20], beside), chosen)    # "10" not in it
    assert not extends(reading("1110", [60, 0, 130, 20], beside, 0.3), chosen)  # unsure
    assert not extends(reading("1110", [0, 0, 80, 20], beside), chosen)    # elsewhere
    assert not extends(reading("10", [100, 0, 130, 20], beside), chosen)   # not longer


def test_extend_finds_the_digits_left_out_of_a_rendered_number(shipped):
    image = Image.new("RGB", (400, 200), (200, 190, 170))
    draw = ImageDraw.Draw(image)
    draw.text((100, 70), "4827", font=font(48), fill=(30, 30, 30))
    left, top, right, bottom = draw.textbbox((100, 70), "4827", font=font(48))
    middle = draw.textbbox((100, 70), "48", font=font(48))[2]
    padded, px, py = pad_photo(np.asarray(image))
    part = reading("27", [middle + 2 + px, top + py, right + px, bottom + py], confidence=0.99)
    found, tried = extend(shipped, padded, part, "0123456789")
    assert found.text == "4827" and tried
    whole = reading("4827", [left + px, top + py, right + px, bottom + py], confidence=0.99)
    assert extend(shipped, padded, whole, "0123456789")[0].text == "4827"   # nothing to add


@given(rows=st.integers(1, 5), height=st.integers(1, 6), width=st.integers(1, 5),
       extra=st.integers(0, 4), seed=st.integers(0, 2**16))
def test_restack_lays_the_rows_left_to_right(rows, height, width, extra, seed):
    extra %= rows                               # rows left over at the bottom are dropped
    column = np.random.default_rng(seed).integers(0, 256, (rows * height + extra, width, 3),
                                                  dtype=np.uint8)
    flat = restack(column, rows)
    assert flat.shape == (height, rows * width, 3)
    for i in range(rows):
        assert np.array_equal(flat[:, i * width:(i + 1) * width],
                              column[i * height:(i + 1) * height])


def test_columns_reach_up_and_down_and_stay_in_the_photo():
    box = np.array([50.0, 40.0, 70.0, 80.0])
    cols = columns(box, 100, 120)
    assert (50, 40, 70, 80) in cols                          # the box itself
    assert all(0 <= l < r <= 100 and 0 <= t < b <= 120 for l, t, r, b in cols)
    assert min(t for _, t, _, _ in cols) == 0 and max(b for _, _, _, b in cols) == 120


def test_only_several_digits_in_a_tall_box_look_stacked():
    assert looks_stacked(reading("18", [0, 0, 20, 60]))
    assert not looks_stacked(reading("1", [0, 0, 20, 60]))     # one tall digit fits
    assert not looks_stacked(reading("18", [0, 0, 40, 60]))    # two digits abreast fit


def test_a_rendered_column_is_read_from_a_box_around_part_of_it(shipped):
    image = Image.new("RGB", (300, 400), (120, 110, 100))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 60, 180, 320), fill=(235, 235, 230))
    for i, digit in enumerate("1004"):
        draw.text((136, 70 + 60 * i), digit, font=font(44), fill=(20, 20, 20))
    misread = reading("18", [120, 60, 180, 260])             # the top three digits
    column = read_stacked(shipped, np.asarray(image), misread, "0123456789")
    assert column is not None and column.text == "1004" and column.confidence > 0.9
