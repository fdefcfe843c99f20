"""The two readers (reader.models), their losses (reader.losses) and model files."""

import numpy as np
import pytest
from nn_fixtures import GRAD_TOL
from reader_fixtures import save_untrained_reader

import nn
from reader.evaluate import load_reader, read_strips
from reader.losses import strip_loss, tower_loss
from reader.models import align_left, build, logits, to_input, to_tiles

B = 10


def test_to_tiles_cuts_the_five_slots_in_order():
    x = np.arange(2 * 28 * 140, dtype=np.float32).reshape(2, 1, 28, 140)
    tiles = to_tiles(x)
    assert tiles.shape == (10, 1, 28, 28)
    assert np.array_equal(tiles[5 + 3, 0], x[1, 0, :, 84:112])     # strip 1, slot 3


def test_align_left_moves_the_first_inked_column_to_the_margin():
    strips = np.zeros((3, 28, 140), np.uint8)
    strips[0, 5:20, 60:70] = 200                   # ink from column 60
    strips[1, 5:20, 1:9] = 255                     # already left of the margin: kept
    strips[1, 0, 100] = 40                         # faint (below the threshold): not ink
    aligned = align_left(strips, margin=2, threshold=64)
    assert np.array_equal(aligned[0, :, 2:80], strips[0, :, 60:138])
    assert not aligned[0, :, 80:].any() and not aligned[0, :, :2].any()
    assert np.array_equal(aligned[1], strips[1])
    assert np.array_equal(aligned[2], strips[2])   # blank strip: unchanged
    assert to_input(strips, "strip")[0, 0, 10, 2] == pytest.approx(200 / 255)
    assert to_input(strips, "tower")[0, 0, 10, 60] == pytest.approx(200 / 255)


@pytest.mark.parametrize("kind", ["strip", "tower"])
def test_output_shapes(kind):
    model = build(kind, num_classes=10, seed=1)
    x = to_input(np.zeros((3, 28, 140), np.uint8))
    out = logits(model, kind, x)
    if kind == "tower":
        assert out.shape == (3, 5, 11)
    else:
        assert [z.shape for z in out] == [(3, 5)] + [(3, 10)] * 5


# Gradients against central differences in float64: relative error < GRAD_TOL (1e-6),
# as for every layer (test_nn_gradients.py); the losses are smooth.


def test_strip_loss_gradient_and_masking():
    rng = np.random.default_rng(0)
    labels = np.array([[3, B, B, B, B], [1, 2, 3, 4, 5], [7, 7, B, B, B]])
    outputs = [rng.normal(size=(3, 5))] + [rng.normal(size=(3, 10)) for _ in range(5)]
    loss, grads = strip_loss(outputs, labels, B)
    for k in range(6):
        assert grads[k].dtype == np.float64 and grads[k].shape == outputs[k].shape
        expected = nn.numerical_gradient(lambda: strip_loss(outputs, labels, B)[0], outputs[k])
        assert nn.relative_error(grads[k], expected) < GRAD_TOL, k
    # positions past the length get no gradient: strip 0 uses only character head 1
    assert np.all(grads[2][0] == 0) and np.all(grads[5][2] == 0)
    assert loss > 0


def test_tower_loss_gradient():
    rng = np.random.default_rng(1)
    labels = np.array([[3, B, B, B, B], [1, 2, 3, 4, 5]])
    z = rng.normal(size=(2, 5, 11))
    loss, grad = tower_loss(z, labels)
    assert grad.dtype == np.float64 and grad.shape == z.shape
    expected = nn.numerical_gradient(lambda: tower_loss(z, labels)[0], z)
    assert nn.relative_error(grad, expected) < GRAD_TOL


@pytest.mark.parametrize("kind", ["strip", "tower"])
def test_saved_reader_reads_the_same_after_loading(tmp_path, kind):
    path = save_untrained_reader(tmp_path / "m.npz", kind)
    model, meta = load_reader(path)
    assert meta["kind"] == kind and meta["input"]["width"] == 140
    strips = np.random.default_rng(2).integers(0, 256, (4, 28, 140), dtype=np.uint8)
    fresh = read_strips(build(kind, seed=0), kind, strips, B)
    loaded = read_strips(model, kind, strips, B)
    assert np.array_equal(fresh.labels, loaded.labels)
    assert np.array_equal(fresh.confidence, loaded.confidence)     # the same weights, exactly


def test_a_model_file_without_reader_metadata_is_refused(tmp_path):
    nn.save(nn.Sequential([nn.Flatten()]), tmp_path / "plain.npz")
    with pytest.raises(nn.ModelFileError, match="plain.npz: not a number-reader model"):
        load_reader(tmp_path / "plain.npz")
