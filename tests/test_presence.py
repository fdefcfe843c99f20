"""Windows with no number: the presence head, its batches, and train.py --negatives."""

import json

import numpy as np
import pytest
from reader_fixtures import assert_one_line_error, run_cli
from svhn_fixtures import use_tiny_number_reader

import nn
import train
from data.strips import BLANK
from reader.losses import strip_loss
from reader.svhn_data import NumberBatches, empty_windows, load_splits
from reader.svhn_job import svhn_metadata
from reader.svhn_models import box_targets, build_number_reader
from reader.svhn_read import read_numbers
from reader.training import default_config, start_from


def test_a_window_with_no_number_has_no_box_and_no_reading_loss():
    boxes = np.zeros((2, 5, 4), np.float32)
    boxes[0, 0] = (10, 12, 20, 30)
    targets, mask = box_targets(boxes, np.array([1, 0]), 54)
    assert np.all(np.isfinite(targets)) and mask[1].sum() == 0 and mask[0, :8].sum() == 8
    assert np.allclose(targets[0, :4], np.array([10, 12, 30, 42]) / 54)
    labels = np.full((2, 5), BLANK)
    labels[0, 0] = 4
    rng = np.random.default_rng(1)
    outputs = [rng.normal(size=(2, 5))] + [rng.normal(size=(2, 10)) for _ in range(5)]
    loss, grads = strip_loss(outputs, labels, BLANK, np.array([1.0, 0.0]))
    assert np.isfinite(loss) and all(np.all(g[1] == 0) for g in grads)


def test_batches_mix_in_windows_with_no_number(tiny_svhn):
    splits = load_splits("pooled", tiny_svhn)
    empty = np.full((5, 54, 54, 3), 7, np.uint8)
    batches = NumberBatches(splits.train, None, None, 16, seed=0, empty=empty, empty_share=0.25)
    b = batches.batch(0, 0)
    assert batches.counts == (12, 0, 0, 4)
    assert b.present.tolist() == [True] * 12 + [False] * 4
    assert np.all(b.images[~b.present] == 7) and np.all(b.labels[~b.present] == BLANK)
    assert np.all(b.read_weight[~b.present] == 0)


def test_empty_windows_touch_no_digit_and_keep_test_images_out(tiny_svhn):
    literature = empty_windows("literature", 4, 0, tiny_svhn, scenes=0)
    pooled = empty_windows("pooled", 4, 0, tiny_svhn, scenes=0)
    assert literature.shape[1:] == (54, 54, 3) and len(pooled) > len(literature) > 0
    # the whole PNGs are grey 40 with a noisy number plate (20-60) holding bars of 230
    assert literature.max() < 230
    assert np.array_equal(literature, empty_windows("literature", 4, 0, tiny_svhn, scenes=0))


def test_read_numbers_gives_presence_only_with_the_head():
    images = np.random.default_rng(2).integers(0, 256, (3, 54, 54, 3), dtype=np.uint8)
    *_, plain = read_numbers(build_number_reader(0, width=8, hidden=16), images)
    *_, present = read_numbers(build_number_reader(0, width=8, hidden=16, presence=True), images)
    assert np.all(plain == 1) and np.all((0 < present) & (present < 1))


def test_init_may_add_the_presence_head_but_not_drop_one(tmp_path):
    cfg = default_config("svhn-numbers")
    old = build_number_reader(0, width=8, hidden=16)
    old.save(str(tmp_path / "old.npz"), svhn_metadata("number", cfg.task, vars(cfg), "test"))
    new = build_number_reader(1, width=8, hidden=16, presence=True)
    assert start_from(new, str(tmp_path / "old.npz"), cfg) == ["heads.7.0.W", "heads.7.0.b"]
    assert np.array_equal(new.heads[0].layers[0].params["W"], old.heads[0].layers[0].params["W"])
    new.save(str(tmp_path / "new.npz"), svhn_metadata("number", cfg.task, vars(cfg), "test"))
    with pytest.raises(nn.ModelFileError, match="architecture differs"):
        start_from(build_number_reader(0, width=8, hidden=16), str(tmp_path / "new.npz"), cfg)
    # said before any data is prepared, with what to do about it
    trained = vars(cfg) | {"negatives": 0.25}
    new.save(str(tmp_path / "new.npz"), svhn_metadata("number", cfg.task, trained, "test"))
    assert_one_line_error(run_cli("train.py", "--task", "svhn-numbers", "--init",
                                  str(tmp_path / "new.npz"), "--data-dir",
                                  str(tmp_path / "no-data"), "--out", str(tmp_path / "run")),
                          "has a presence head", "--negatives")
    assert not (tmp_path / "run").exists()


def test_train_with_negatives_on_tiny_data(tiny_svhn, tmp_path, monkeypatch):
    use_tiny_number_reader(monkeypatch)
    assert train.main(["--task", "svhn-numbers", "--synthetic", "0", "--epochs", "1",
                       "--steps-per-epoch", "2", "--batch-size", "8", "--negatives", "0.25",
                       "--data-dir", str(tiny_svhn), "--out", str(tmp_path / "run")]) == 0
    model = nn.load(tmp_path / "run" / "model.npz")
    assert len(model.heads) == 8
    assert model.metadata["reader"]["outputs"][-1].startswith("presence (2)")
    assert json.loads((tmp_path / "run" / "config.json").read_text())["negatives"] == 0.25


def test_negatives_option_errors(tiny_svhn):
    assert_one_line_error(run_cli("train.py", "--negatives", "0.2", "--data-dir",
                                  str(tiny_svhn)), "--negatives")
    assert_one_line_error(run_cli("train.py", "--task", "svhn-numbers", "--negatives", "0.7",
                                  "--data-dir", str(tiny_svhn)), "--negatives")


def test_the_search_weighs_each_reading_by_the_chance_of_a_number():
    from reader.locate import find_number
    photo = np.random.default_rng(3).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    plain = build_number_reader(0, width=8, hidden=16)
    with_head = build_number_reader(0, width=8, hidden=16, presence=True)   # same other weights
    head = with_head.heads[7].layers[0]
    head.params["W"][:] = 0
    head.params["b"][:] = np.log([3.0, 1.0])                                # P(number) = 1/4
    a, b = find_number(plain, photo), find_number(with_head, photo)
    assert [c.text for c in a.tried] == [c.text for c in b.tried]
    assert np.allclose([c.confidence / 4 for c in a.tried], [c.confidence for c in b.tried],
                       rtol=1e-5)
