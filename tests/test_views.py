"""Test-time views (reader.views): the shifts, the averaging, and the readers that use them."""

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from reader_fixtures import assert_one_line_error, run_cli, save_untrained_reader, write_tiny_mnist
from strategies import seeds
from svhn_fixtures import save_untrained_number_reader, write_tiny_svhn

from data.svhn import load_number_crops
from reader.decode import decode
from reader.evaluate import read_strips
from reader.models import build, probabilities, to_input
from reader.svhn_data import centre_window
from reader.svhn_read import read_numbers, read_windows
from reader.views import CENTRE_WINDOW, ONE_VIEW, STRIP_SHIFTS, WINDOW_OFFSETS, shift

offsets = st.integers(-3, 3)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(4, 9), st.integers(4, 9), offsets, offsets,
       st.sampled_from(["constant", "edge"]), seeds)
def test_shift_moves_every_pixel_and_fills_the_rest(n, h, w, dx, dy, mode, seed):
    images = np.random.default_rng(seed).integers(1, 256, (n, h, w), dtype=np.uint8)
    out = shift(images, dx, dy, mode=mode)
    assert out.shape == images.shape and out.dtype == images.dtype
    for y in range(h):
        for x in range(w):
            sy, sx = y - dy, x - dx                       # where this pixel came from
            if 0 <= sy < h and 0 <= sx < w:
                assert np.array_equal(out[:, y, x], images[:, sy, sx])
            elif mode == "constant":
                assert not out[:, y, x].any()
            else:                                         # the nearest edge pixel
                assert np.array_equal(out[:, y, x],
                                      images[:, min(max(sy, 0), h - 1), min(max(sx, 0), w - 1)])


def test_shift_of_channels_last_images_moves_only_height_and_width():
    images = np.arange(2 * 5 * 6 * 3, dtype=np.int64).reshape(2, 5, 6, 3)
    out = shift(images, 1, -2, axes=(1, 2))
    assert np.array_equal(out[:, :3, 1:], images[:, 2:, :5])
    assert not out[:, 3:].any() and not out[:, :, 0].any()


def test_strip_reading_averages_the_probabilities_of_the_shifted_strips():
    rng = np.random.default_rng(0)
    strips = np.zeros((6, 28, 140), np.uint8)
    strips[:, 6:22, 10:60] = rng.integers(0, 256, (6, 16, 50), dtype=np.uint8)
    model = build("strip", seed=1)
    x = to_input(strips)
    # shifted by hand: one pixel right is column c -> c + 1, one pixel up is row r -> r - 1
    right, up = np.zeros_like(x), np.zeros_like(x)
    right[..., 1:] = x[..., :-1]
    up[..., :-1, :] = x[..., 1:, :]
    by_hand = [probabilities(model, "strip", v) for v in (x, right, up)]
    length_p = np.mean([p[0] for p in by_hand], axis=0)
    char_p = np.mean([p[1] for p in by_hand], axis=0)
    labels, confidence = decode(length_p, char_p, 10)
    read = read_strips(model, "strip", strips, 10, shifts=((0, 0), (1, 0), (0, -1)))
    assert np.array_equal(read.labels, labels)
    assert np.allclose(read.confidence, confidence, rtol=1e-9)
    one = read_strips(model, "strip", strips, 10, shifts=ONE_VIEW)
    assert np.allclose(one.length_probs, by_hand[0][0], rtol=1e-9)
    assert not np.allclose(read.length_probs, one.length_probs)       # the views do differ


class WhereIsTheBrightest:
    """A stand-in reader whose union 'box' is the brightest pixel of its window, as a
    fraction of 54: moved into the centre window's frame, every view must agree."""

    def forward(self, x, training=False):
        n = len(x)
        flat = x.sum(axis=1).reshape(n, -1).argmax(axis=1)             # (N,) over 54 x 54
        y, x_ = np.divmod(flat, 54)
        boxes = np.zeros((n, 24), np.float32)
        boxes[:, 0::2], boxes[:, 1::2] = x_[:, None] / 54, y[:, None] / 54
        return [np.zeros((n, 5), np.float32), *[np.zeros((n, 10), np.float32)] * 5, boxes]


def test_window_views_move_their_boxes_into_the_centre_window(tmp_path):
    numbers = load_number_crops("test", write_tiny_svhn(tmp_path, n_train=2, n_test=4))
    numbers.images[:] = 0
    numbers.images[np.arange(4), [20, 30, 40, 25], [12, 33, 50, 17]] = 255   # inside every view
    _, centre = read_windows(WhereIsTheBrightest(), numbers, CENTRE_WINDOW)
    _, views = read_windows(WhereIsTheBrightest(), numbers, WINDOW_OFFSETS)
    assert np.allclose(views, centre)
    assert np.allclose(centre[:, 0] * 54, [12 - 5, 33 - 5, 50 - 5, 17 - 5])


def test_the_centre_window_alone_reads_as_before(tmp_path):
    from reader.svhn_models import build_number_reader
    numbers = load_number_crops("test", write_tiny_svhn(tmp_path, n_train=2, n_test=6))
    model = build_number_reader(0, width=8, hidden=16)
    plain, boxes, _ = read_numbers(model, centre_window(numbers)[0])
    readings, centre_boxes = read_windows(model, numbers, CENTRE_WINDOW)
    assert np.array_equal(readings.labels, plain.labels)
    assert np.allclose(readings.confidence, plain.confidence) and np.allclose(centre_boxes, boxes)


def test_strips_eval_prints_both_readings_and_refuses_bad_input(tmp_path):
    data = write_tiny_mnist(tmp_path / "data")
    model = save_untrained_reader(tmp_path / "strip.npz")
    out = tmp_path / "m.json"
    result = run_cli("-m", "reader.strips_eval", str(model), "--data-dir", str(data),
                     "--count", "30", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("one view") == 2 and "test strips, 30 per layout" in result.stdout
    saved = json.loads(out.read_text())
    assert saved["views"]["free"]["count"] == 30 and len(saved["shifts"]) == len(STRIP_SHIFTS)
    assert set(saved["one_view"]) == {"canonical", "free"} and saved["split"] == "test"
    validation = run_cli("-m", "reader.strips_eval", str(model), "--data-dir", str(data),
                         "--count", "30", "--validation", "--json", str(out))
    assert validation.returncode == 0 and "validation strips, 30 per layout" in validation.stdout
    assert json.loads(out.read_text())["split"] == "validation"
    assert_one_line_error(run_cli("-m", "reader.strips_eval", str(tmp_path / "none.npz")),
                          "none.npz")
    assert_one_line_error(run_cli("-m", "reader.strips_eval", str(model), "--data-dir",
                                  str(tmp_path / "nowhere")), "mnist")


def test_svhn_eval_measures_both_kinds_of_reader_both_ways(tmp_path, capsys):
    from reader import svhn_eval
    from reader.svhn_job import svhn_metadata
    from reader.svhn_models import build_digit_classifier
    data = write_tiny_svhn(tmp_path / "data")
    number = save_untrained_number_reader(tmp_path / "number.npz", {"protocol": "pooled"},
                                          hidden=16)
    digit = tmp_path / "digit.npz"
    build_digit_classifier(0, width=8, hidden=16).save(
        str(digit), svhn_metadata("digit", "svhn-digits", {"protocol": "literature"}, "test"))
    for model, sets, how in ((number, {"holdout", "holdout_strict"}, "9 windows"),
                             (digit, {"test", "strict"}, "one view")):
        out = tmp_path / f"{model.stem}.json"
        assert svhn_eval.main([str(model), "--data-dir", str(data), "--json", str(out)]) == 0
        saved = json.loads(out.read_text())
        assert set(saved["views"]) == set(saved["one_view"]) == sets
        assert how in capsys.readouterr().out
        assert svhn_eval.main([str(model), "--data-dir", str(data), "--validation",
                               "--json", str(out)]) == 0
        assert set(json.loads(out.read_text())["views"]) == {"validation"}
        assert svhn_eval.main([str(model), "--data-dir", str(data), "--limit", "3",
                               "--json", str(out)]) == 0
        counts = [r["count"] for r in json.loads(out.read_text())["views"].values()]
        # three images of each set: three numbers, or the digits of three numbers
        assert counts == [3, 3] if model == number else all(3 <= n <= 15 for n in counts)
        assert "reading 3 " in capsys.readouterr().err
    assert_one_line_error(run_cli("-m", "reader.svhn_eval", str(number), "--data-dir",
                                  str(tmp_path / "nowhere")), "svhn")
