"""Hard negatives: mining the views the search read confidently with no whole number in them."""

import json

import numpy as np
import pytest
from reader_fixtures import assert_one_line_error, run_cli
from svhn_fixtures import save_untrained_number_reader, use_tiny_number_reader

import nn
import train
from data import DataError
from data.housenumbers import touching
from reader.hard_negatives import PER_IMAGE, inside, mine_image
from reader.hard_negatives import main as mine_main
from reader.svhn_data import NumberBatches, empty_windows, load_hard_negatives
from reader.svhn_job import EMPTY_PER_IMAGE
from reader.svhn_models import build_number_reader
from reader.training import default_config


def tiny_reader(seed: int = 0) -> nn.Model:
    return build_number_reader(seed, width=8, hidden=16, presence=True)


@pytest.fixture(scope="module")
def reader_file(tmp_path_factory):
    return save_untrained_number_reader(tmp_path_factory.mktemp("model") / "reader.npz",
                                        vars(default_config("svhn-numbers")), hidden=16,
                                        presence=True)


def test_a_window_touches_a_digit_box_grown_by_one_pixel():
    box = np.array([[10, 20, 5, 8]])                      # left, top, width, height
    windows = np.array([[0, 0, 11, 21],                   # overlaps the corner
                        [15.5, 20, 30, 30],               # within the 1 px margin
                        [16.5, 0, 40, 40],                # clear of it
                        [0, 29.5, 40, 40]])
    assert touching(windows, box).tolist() == [True, True, False, False]


def test_the_share_of_each_digit_inside_a_window():
    boxes = np.array([[10, 0, 10, 10], [30, 0, 10, 10]])
    assert np.allclose(inside(np.array([0, 0, 35, 10]), boxes), [1.0, 0.5])
    assert np.allclose(inside(np.array([0, 5, 100, 100]), boxes), [0.5, 0.5])


def test_mined_views_hold_no_whole_number_and_come_surest_first():
    rng = np.random.default_rng(4)
    photo = rng.integers(0, 100, (120, 200, 3), dtype=np.uint8)
    photo[40:60, 90:130] = 255                     # the "digits": nothing else is this bright
    boxes = np.array([[90, 40, 20, 20], [110, 40, 20, 20]])
    kept = mine_image(tiny_reader(), photo, boxes, "12", min_confidence=0.0, per_image=50)
    assert 0 < len(kept["empty"]) <= 50 and 0 < len(kept["partial"]) <= 50
    assert all(v.shape == (54, 54, 3) for v in kept["empty"] + kept["partial"])
    assert max(int(v.max()) for v in kept["empty"]) < 255
    assert max(int(v.max()) for v in kept["partial"]) > 200    # they show part of the digits
    few = mine_image(tiny_reader(), photo, boxes, "12", min_confidence=0.0, per_image=3)
    assert len(few["empty"]) == 3
    assert mine_image(tiny_reader(), photo, boxes, "12", min_confidence=1.01) == \
        {"empty": [], "partial": []}


def test_the_file_trains_a_run_of_its_own_protocol_only(tiny_svhn, reader_file, tmp_path,
                                                        monkeypatch):
    out = tmp_path / "hard.npz"
    assert mine_main(["--model", str(reader_file), "--out", str(out), "--protocol", "literature",
                      "--scenes", "2", "--min-confidence", "0.01",
                      "--data-dir", str(tiny_svhn)]) == 0
    windows = load_hard_negatives(out, "literature")
    assert windows.dtype == np.uint8 and windows.shape[1:] == (54, 54, 3) and len(windows) > 0
    with pytest.raises(DataError, match="literature protocol, not pooled"):
        load_hard_negatives(out, "pooled")
    with pytest.raises(DataError, match="not a hard-negatives file"):
        load_hard_negatives(reader_file, "literature")
    few = tmp_path / "few.npz"                          # --images: the first N whole images
    assert mine_main(["--model", str(reader_file), "--out", str(few), "--protocol", "literature",
                      "--images", "1", "--scenes", "0", "--min-confidence", "0.01",
                      "--data-dir", str(tiny_svhn)]) == 0
    meta, every = (json.loads(str(np.load(f)["metadata"])) for f in (few, out))
    assert meta["images"] == 1 and every["images"] is None
    assert 0 < meta["empty_from_whole_images"] <= PER_IMAGE < every["empty_from_whole_images"]

    seen = {}

    def batches(*args, **kw):
        seen["empty"] = args[5]
        return NumberBatches(*args, **kw)
    monkeypatch.setattr("reader.svhn_job.NumberBatches", batches)
    use_tiny_number_reader(monkeypatch)
    assert train.main(["--task", "svhn-numbers", "--protocol", "literature", "--synthetic", "0",
                       "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8",
                       "--negatives", "0.25", "--hard-negatives", str(out), str(out),
                       "--data-dir", str(tiny_svhn), "--out", str(tmp_path / "run")]) == 0
    plain = empty_windows("literature", EMPTY_PER_IMAGE, 0, tiny_svhn, scenes=0)
    assert len(seen["empty"]) == 2 * len(plain)           # half random, half hard (repeated)
    assert np.array_equal(seen["empty"][:len(plain)], plain)
    both = np.concatenate([windows, windows])             # two files (rounds) given
    assert np.array_equal(seen["empty"][len(plain):], np.resize(both, plain.shape))


def test_hard_negatives_option_errors(tiny_svhn, reader_file, tmp_path):
    assert_one_line_error(run_cli("train.py", "--task", "svhn-numbers", "--hard-negatives",
                                  str(reader_file), "--data-dir", str(tiny_svhn)),
                          "--hard-negatives")
    assert_one_line_error(run_cli("train.py", "--task", "svhn-numbers", "--negatives", "0.1",
                                  "--hard-negatives", str(tmp_path / "none.npz"),
                                  "--data-dir", str(tiny_svhn), "--out", str(tmp_path / "r")),
                          "none.npz")
    assert_one_line_error(run_cli("-m", "reader.hard_negatives", "--model", str(tmp_path / "x"),
                                  "--out", str(tmp_path / "h.npz")), "x")
