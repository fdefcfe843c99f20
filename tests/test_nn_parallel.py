"""nn's own threading: slicing the batch must not change the numbers (beyond summation order)."""

import numpy as np
import pytest

import nn
from nn import conv, parallel


@pytest.fixture
def threads():
    """Restore the thread count a test changes."""
    before = parallel.num_threads()
    yield parallel.set_num_threads
    parallel.set_num_threads(before)


@pytest.fixture
def handed_out(monkeypatch):
    """The number of pieces of every job handed to the workers (parallel.run_workers_on):
    the tests below compare split and serial results, which means something only if
    the job was split."""
    sizes = []
    original = parallel.run_workers_on

    def spy(pieces, task):
        sizes.append(len(pieces))
        return original(pieces, task)

    monkeypatch.setattr(parallel, "run_workers_on", spy)
    return sizes


@pytest.mark.parametrize("n, parts", [(0, 1), (1, 2), (7, 2), (10, 3), (160, 2)])
def test_split_covers_the_range_in_order(n, parts):
    pieces = parallel.split(n, parts)
    assert len(pieces) == parts
    assert pieces[0][0] == 0 and pieces[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
    sizes = [b - a for a, b in pieces]
    assert max(sizes) - min(sizes) <= 1


def conv_step(layer, x, dy):
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    return y, dx, layer.grads["W"].copy(), layer.grads["b"].copy()


@pytest.mark.parametrize("padding, stride", [("same", 1), (1, 2), (0, 1)])
def test_conv_gives_the_same_result_on_one_thread_two_threads_and_small_chunks(
        threads, monkeypatch, handed_out, padding, stride):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 3, 11, 10))
    layer = nn.Conv2D(3, 5, 3, stride=stride, padding=padding, dtype=np.float64, rng=1)
    Ho, Wo, _, _ = layer.geometry(11, 10)
    dy = rng.standard_normal((9, 5, Ho, Wo))

    threads(1)
    reference = conv_step(layer, x, dy)
    assert set(handed_out) == {1}
    threads(2)
    two = conv_step(layer, x, dy)
    assert handed_out[-1] == 2                           # the batch was split
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)          # one image per chunk
    chunked = conv_step(layer, x, dy)
    for expected, got_two, got_chunked in zip(reference, two, chunked, strict=True):
        # float64; only the grouping of the sums over images differs
        np.testing.assert_allclose(got_two, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got_chunked, expected, rtol=1e-12, atol=1e-12)


def test_two_threads_repeat_bit_for_bit(threads):
    threads(2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 4, 12, 12)).astype(np.float32)
    dy = rng.standard_normal((32, 8, 12, 12)).astype(np.float32)
    layer = nn.Conv2D(4, 8, 5, padding="same", rng=2)
    first = conv_step(layer, x, dy)
    for _ in range(3):
        again = conv_step(layer, x, dy)
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.MaxPool2D(2)], ids=["relu", "maxpool"])
def test_elementwise_and_pooling_split_over_workers_equal_the_serial_result(
        threads, monkeypatch, handed_out, layer):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 3, 8, 8))
    dy_shape = layer.forward(x).shape
    dy = rng.standard_normal(dy_shape)
    threads(1)
    y1, dx1 = layer.forward(x), layer.backward(dy)
    threads(2)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)    # force the split
    y2, dx2 = layer.forward(x), layer.backward(dy)
    assert handed_out == [2, 2]                              # forward and backward were split
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(dx1, dx2)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_split_over_channels_equals_the_serial_result(threads, monkeypatch, handed_out,
                                                                training):
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((5, 7, 6, 4)) * 3 + 1).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma = 0.5 + rng.random(7)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 0)        # split even this small job
    results = []
    for count in (1, 2):
        threads(count)
        layer = nn.BatchNorm2D(7)
        layer.params["gamma"][...] = gamma
        y = layer.forward(x, training=training)
        dx = layer.backward(dy)
        results.append((y, dx, layer.grads["gamma"].copy(), layer.grads["beta"].copy(),
                        layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy()))
    assert max(handed_out) == 2                                  # channels were split
    for serial, split in zip(*results, strict=True):
        np.testing.assert_array_equal(serial, split)


def test_matmul_split_over_rows_equals_numpy(threads, monkeypatch):
    threads(2)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_MATMUL", 0)
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((13, 7)), rng.standard_normal((7, 5))
    np.testing.assert_allclose(parallel.matmul(a, b), a @ b, rtol=1e-14)
    np.testing.assert_allclose(parallel.matmul(a.T.copy().T, b), a @ b, rtol=1e-14)


def test_set_num_threads_rejects_zero():
    with pytest.raises(ValueError, match="at least one"):
        parallel.set_num_threads(0)
