"""The layers' other promises.

* dropout keeps the mean, is the identity in evaluation and for p = 0, is reproducible;
* batch norm keeps the momentum averages of the batch statistics and uses them in evaluation;
* wrong inputs raise a ValueError naming the layer;
* the initialisers have the documented bounds and variances;
* the params / grads contract of nn/layer.py.

Convolution and pooling against loop references: test_nn_conv_pool.py.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import image_shapes, normal, seeds

import nn

# ------------------------------------------------------------------ Dropout


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_keeps_the_mean(p):
    # y_i = x_i·m_i with E[m_i] = 1, Var[m_i] = p / (1 - p), independent. So
    # mean(y) - mean(x) has mean 0 and standard deviation
    #     sd = sqrt(Σ x_i² · p/(1-p)) / n,
    # and we allow 5 sd (a false alarm has probability 6e-7; the seed is fixed anyway).
    # Dropping without rescaling (E[y] = (1-p)·E[x]) misses by >= 0.1 · mean(x) ≈ 0.05,
    # over 10 sd even for p = 0.9 (sd ≈ 0.0017).
    n = 1_000_000
    x = np.random.default_rng(1).random(n)                  # mean ≈ 0.5, all positive
    layer = nn.Dropout(p, rng=2)
    y = layer.forward(x, training=True)
    sd = math.sqrt(np.sum(x * x) * p / (1 - p)) / n
    assert abs(y.mean() - x.mean()) < 5 * sd
    # The fraction dropped is Binomial(n, p) / n: sd sqrt(p(1-p)/n) <= 5e-4.
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)


@settings(max_examples=15, deadline=None)
@given(image_shapes(), seeds, st.sampled_from([0.0, 0.3, 0.7]))
def test_dropout_is_the_identity_in_evaluation(shape, seed, p):
    x = normal(shape, seed)
    layer = nn.Dropout(p, rng=seed)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    dy = normal(shape, seed + 1)
    np.testing.assert_array_equal(layer.backward(dy), dy)


@settings(max_examples=15, deadline=None)
@given(image_shapes(), seeds)
def test_dropout_with_p_zero_is_the_identity_in_training(shape, seed):
    x = normal(shape, seed)
    layer = nn.Dropout(0.0, rng=seed)
    np.testing.assert_array_equal(layer.forward(x, training=True), x)
    dy = normal(shape, seed + 1)
    np.testing.assert_array_equal(layer.backward(dy), dy)


def test_dropout_with_a_seed_is_reproducible():
    x = np.ones((64, 64))
    a, b, c = nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=7), nn.Dropout(0.5, rng=8)
    ya1, ya2 = a.forward(x, training=True), a.forward(x, training=True)
    yb1, yb2 = b.forward(x, training=True), b.forward(x, training=True)
    np.testing.assert_array_equal(ya1, yb1)
    np.testing.assert_array_equal(ya2, yb2)
    assert not np.array_equal(ya1, ya2)                       # a fresh mask every step
    assert not np.array_equal(ya1, c.forward(x, training=True))
    g = np.random.default_rng(3)                              # a Generator is used as given
    d = nn.Dropout(0.5, rng=g)
    np.testing.assert_array_equal(d.forward(x, training=True),
                                  nn.Dropout(0.5, rng=3).forward(x, training=True))


def test_dropout_keeps_float32():
    y = nn.Dropout(0.5, rng=0).forward(np.ones((4, 4), np.float32), training=True)
    assert y.dtype == np.float32


# ------------------------------------------------------------------ BatchNorm


@pytest.mark.parametrize("layer_cls, shape", [(nn.BatchNorm2D, (4, 3, 5, 3)),
                                              (nn.BatchNorm1D, (6, 4))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batchnorm_running_statistics_are_momentum_averages(layer_cls, shape, dtype):
    axes = (0, 2, 3) if len(shape) == 4 else (0,)
    C = shape[1]
    bshape = (1, C) + (1,) * (len(shape) - 2)
    layer = layer_cls(C, dtype=dtype)
    rng = np.random.default_rng(0)
    layer.params["gamma"][...] = 0.5 + rng.random(C)
    layer.params["beta"][...] = rng.standard_normal(C)
    gamma = layer.params["gamma"].astype(np.float64)
    beta = layer.params["beta"].astype(np.float64)
    mean, var = np.zeros(C), np.ones(C)          # documented initial running values
    for step in range(4):
        x = rng.standard_normal(shape) * (1 + step + np.arange(C).reshape(bshape)) \
            + 3.0 * rng.standard_normal(bshape)
        x = x.astype(dtype).astype(np.float64)
        y = layer.forward(x.astype(dtype), training=True)
        # Training normalises with the batch's own (biased) statistics ...
        bm, bv = x.mean(axis=axes), x.var(axis=axes)
        expected = gamma.reshape(bshape) * (x - bm.reshape(bshape)) / np.sqrt(
            bv.reshape(bshape) + 1e-5) + beta.reshape(bshape)
        tol = 1e-12 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)
        # ... and moves the running averages by momentum 0.1, with the unbiased variance.
        mean = 0.9 * mean + 0.1 * bm
        var = 0.9 * var + 0.1 * x.var(axis=axes, ddof=1)
        np.testing.assert_allclose(layer.buffers["running_mean"], mean, rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.buffers["running_var"], var, rtol=tol, atol=tol)

    # Evaluation uses the running averages and leaves them alone (to the bit).
    x = rng.standard_normal(shape)
    expected = gamma.reshape(bshape) * (x - mean.reshape(bshape)) / np.sqrt(
        var.reshape(bshape) + 1e-5) + beta.reshape(bshape)
    running = {k: v.copy() for k, v in layer.buffers.items()}
    y = layer.forward(x.astype(dtype), training=False)
    np.testing.assert_allclose(y, expected, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-12)
    for key, value in running.items():
        np.testing.assert_array_equal(layer.buffers[key], value, err_msg=key)
    # One sample in evaluation is normalised the same as in a batch (no batch statistics).
    np.testing.assert_allclose(layer.forward(x[:1].astype(dtype)), y[:1], rtol=1e-6, atol=1e-6)


def test_batchnorm2d_inference_is_the_formula_to_the_last_bit():
    # Trained models read the same after a change of kernel: in float32, evaluation
    # computes γ·((x - μ)·inv_std) + β in exactly the formula's order (nn/norm_kernels.py).
    rng = np.random.default_rng(1)
    layer = nn.BatchNorm2D(5)
    layer.params["gamma"][...] = 0.5 + rng.random(5)
    layer.params["beta"][...] = rng.standard_normal(5)
    layer.buffers["running_mean"][...] = rng.standard_normal(5)
    layer.buffers["running_var"][...] = 0.1 + rng.random(5)
    x = rng.standard_normal((3, 5, 7, 6)).astype(np.float32)

    def per_channel(v):
        return v.reshape(1, -1, 1, 1)
    inv_std = np.float32(1) / np.sqrt(layer.buffers["running_var"] + np.float32(layer.eps))
    x_hat = (x - per_channel(layer.buffers["running_mean"])) * per_channel(inv_std)
    expected = x_hat * per_channel(layer.params["gamma"]) + per_channel(layer.params["beta"])
    assert expected.dtype == np.float32
    np.testing.assert_array_equal(layer.forward(x), expected)


def test_batchnorm_dtype_is_kept():
    layer = nn.BatchNorm2D(2)
    y = layer.forward(normal((2, 2, 3, 3), 0), training=True)
    assert y.dtype == np.float32
    assert layer.buffers["running_mean"].dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


# ------------------------------------------------------------------ input validation


def _raises_naming(layer_name: str, fn):
    with pytest.raises(ValueError) as info:
        fn()
    assert layer_name in str(info.value), str(info.value)


@pytest.mark.parametrize("layer, x, name", [
    (nn.Conv2D(3, 4, 3), np.zeros((2, 3, 8)), "Conv2D"),                 # rank 3
    (nn.Conv2D(3, 4, 3), np.zeros((3, 8, 8, 2, 1)), "Conv2D"),           # rank 5
    (nn.Conv2D(3, 4, 3), np.zeros((2, 2, 8, 8)), "Conv2D"),              # 2 channels, not 3
    (nn.Conv2D(3, 4, 3), np.zeros((2, 8, 8, 3)), "Conv2D"),              # channels last
    (nn.Conv2D(1, 1, 5), np.zeros((1, 1, 4, 9)), "Conv2D"),              # smaller than kernel
    (nn.Dense(5, 2), np.zeros((2, 5, 1)), "Dense"),
    (nn.Dense(5, 2), np.zeros(5), "Dense"),
    (nn.Dense(5, 2), np.zeros((2, 4)), "Dense"),
    (nn.MaxPool2D(2), np.zeros((2, 8, 8)), "MaxPool2D"),
    (nn.MaxPool2D(3), np.zeros((1, 1, 2, 8)), "MaxPool2D"),             # smaller than window
    (nn.BatchNorm2D(3), np.zeros((2, 3, 4)), "BatchNorm2D"),
    (nn.BatchNorm2D(3), np.zeros((2, 4, 4, 4)), "BatchNorm2D"),
    (nn.BatchNorm1D(3), np.zeros((2, 3, 1)), "BatchNorm1D"),
    (nn.BatchNorm1D(3), np.zeros((2, 4)), "BatchNorm1D"),
])
@pytest.mark.parametrize("training", [False, True])
def test_wrong_input_raises_value_error_naming_the_layer(layer, x, name, training):
    _raises_naming(name, lambda: layer.forward(x, training))


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2D(1, 1, 3, padding=-1),
    lambda: nn.Conv2D(1, 1, 3, padding="valid"),
    lambda: nn.Conv2D(1, 1, 3, stride=0),
    lambda: nn.Conv2D(1, 1, 3, init="no_such_init"),
    lambda: nn.Dense(2, 2, init="no_such_init"),
    lambda: nn.MaxPool2D(0),
    lambda: nn.MaxPool2D(2, stride=0),
    lambda: nn.Dropout(1.0),
    lambda: nn.Dropout(-0.1),
])
def test_bad_constructor_arguments_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("logits, labels", [
    (np.zeros(3), np.array([0])),                       # logits not (N, K)
    (np.zeros((2, 3)), np.array([0])),                  # one label for two rows
    (np.zeros((2, 3)), np.array([[0], [1]])),
    (np.zeros((2, 3)), np.array([0, 3])),               # class 3 of 0..2
    (np.zeros((2, 3)), np.array([-1, 0])),
])
def test_loss_rejects_bad_logits_and_labels(logits, labels):
    with pytest.raises(ValueError):
        nn.SoftmaxCrossEntropy().forward(logits, labels)


# ------------------------------------------------------------------ initialisers

# Statistical tolerances: every estimate below is a mean of n i.i.d. terms, and
# we allow 5 standard deviations of it (two-sided false alarm 6e-7; seeds are
# fixed, so the tests are deterministic anyway).


@pytest.mark.parametrize("shape, fan_in, fan_out", [((300, 200), 300, 200),
                                                     ((64, 32, 3, 3), 288, 576),
                                                     ((16, 8, 5, 3), 120, 240)])
def test_glorot_uniform_bounds_and_variance(shape, fan_in, fan_out):
    W = nn.init.glorot_uniform(shape, np.random.default_rng(0), np.float64)
    assert W.shape == shape and W.dtype == np.float64
    a = math.sqrt(6.0 / (fan_in + fan_out))
    n = W.size
    assert np.abs(W).max() <= a
    # The bound is tight: P(max |W| < a(1 - 1e-2)) = 0.99^n < e^-200 for n >= 20000.
    assert np.abs(W).max() > a * (1 - 1e-2)
    # U(-a, a): E[W²] = a²/3 = 2/(fan_in + fan_out); Var[W²] = a⁴/5 - a⁴/9 = 4a⁴/45,
    # so the mean of W² has relative sd sqrt(4/45)·3/sqrt(n) = 0.894/sqrt(n).
    var = np.mean(W * W)
    assert abs(var / (2.0 / (fan_in + fan_out)) - 1) < 5 * 0.894 / math.sqrt(n)
    assert abs(W.mean()) < 5 * math.sqrt(a * a / 3 / n)


@pytest.mark.parametrize("shape, fan_in", [((400, 100), 400), ((64, 32, 3, 3), 288)])
def test_he_normal_variance(shape, fan_in):
    W = nn.init.he_normal(shape, np.random.default_rng(0), np.float64)
    assert W.shape == shape and W.dtype == np.float64
    n = W.size
    sigma2 = 2.0 / fan_in
    # N(0, σ²): Var[W²] = 2σ⁴, so the mean of W² has relative sd sqrt(2/n).
    assert abs(np.mean(W * W) / sigma2 - 1) < 5 * math.sqrt(2.0 / n)
    assert abs(W.mean()) < 5 * math.sqrt(sigma2 / n)
    # Normal, not some other law with that variance: P(|W| < σ) = 0.6827 (a uniform
    # law with the same variance gives 0.577), sd sqrt(p(1-p)/n).
    inside = np.mean(np.abs(W) < math.sqrt(sigma2))
    assert abs(inside - 0.682689) < 5 * math.sqrt(0.6827 * 0.3173 / n)


@pytest.mark.parametrize("init", [nn.init.glorot_uniform, nn.init.he_normal])
def test_initialisers_are_reproducible_and_respect_dtype(init):
    shape = (8, 3, 3, 3)
    a = init(shape, np.random.default_rng(5))
    b = init(shape, np.random.default_rng(5))
    c = init(shape, np.random.default_rng(6))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert init(shape, np.random.default_rng(5), np.float64).dtype == np.float64


def test_layers_draw_weights_from_their_seed_and_init():
    for make in (lambda s: nn.Conv2D(3, 4, 3, rng=s), lambda s: nn.Dense(5, 4, rng=s),
                 lambda s: nn.Conv2D(3, 4, 3, init="he_normal", rng=s)):
        np.testing.assert_array_equal(make(1).params["W"], make(1).params["W"])
        assert not np.array_equal(make(1).params["W"], make(2).params["W"])
        assert not make(1).params["b"].any()                     # biases start at zero
    # A large conv layer with init="he_normal" has variance 2/fan_in, not Glorot's.
    conv = nn.Conv2D(32, 64, 3, init="he_normal", rng=0, dtype=np.float64)
    n = conv.params["W"].size
    assert abs(np.mean(conv.params["W"] ** 2) / (2 / 288) - 1) < 5 * math.sqrt(2.0 / n)
    glorot = nn.Conv2D(32, 64, 3, rng=0, dtype=np.float64)
    assert np.abs(glorot.params["W"]).max() <= math.sqrt(6 / (288 + 576))


# ------------------------------------------------------------------ the layer contract


def _layers_and_inputs():
    return [
        (nn.Conv2D(2, 3, 3, padding="same", rng=0), normal((2, 2, 5, 5), 0)),
        (nn.Dense(4, 3, rng=0), normal((2, 4), 0)),
        (nn.BatchNorm2D(2), normal((2, 2, 3, 3), 0)),
        (nn.BatchNorm1D(4), normal((3, 4), 0)),
        (nn.MaxPool2D(2), normal((2, 2, 4, 4), 0)),
        (nn.ReLU(), normal((2, 3), 0)),
        (nn.Flatten(), normal((2, 2, 3, 3), 0)),
        (nn.Dropout(0.5, rng=0), normal((2, 3), 0)),
    ]


@pytest.mark.parametrize("layer, x", _layers_and_inputs(), ids=lambda v: type(v).__name__)
def test_params_and_grads_have_the_same_keys_and_shapes(layer, x):
    assert set(layer.params) == set(layer.grads)
    for key, value in layer.params.items():
        assert layer.grads[key].shape == value.shape
        assert layer.grads[key].dtype == value.dtype
    y = layer.forward(x, training=True)
    before = {key: g for key, g in layer.grads.items()}
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape
    for key, g in layer.grads.items():            # filled in place, never rebound
        assert g is before[key]


@pytest.mark.parametrize("layer, x", _layers_and_inputs()[:4], ids=lambda v: type(v).__name__)
def test_backward_overwrites_gradients_rather_than_accumulating(layer, x):
    y = layer.forward(x, training=True)
    dy = normal(y.shape, 1)
    layer.backward(dy)
    first = {k: g.copy() for k, g in layer.grads.items()}
    assert any(np.any(g != 0) for g in first.values())
    layer.backward(dy)
    for key, g in layer.grads.items():
        np.testing.assert_array_equal(g, first[key])


@pytest.mark.parametrize("layer, x", _layers_and_inputs()[:2], ids=lambda v: type(v).__name__)
def test_input_grad_false_skips_dx_but_fills_grads(layer, x):
    y = layer.forward(x)
    dy = normal(y.shape, 1)
    layer.backward(dy)
    full = {k: g.copy() for k, g in layer.grads.items()}
    layer.forward(x)
    assert layer.backward(dy, input_grad=False) is None
    for key, g in layer.grads.items():
        np.testing.assert_array_equal(g, full[key])


@pytest.mark.parametrize("layer", [nn.Conv2D(2, 3, 3, rng=0), nn.Dense(4, 3, rng=0),
                                   nn.BatchNorm2D(2)], ids=lambda v: type(v).__name__)
def test_float32_layers_compute_in_float32(layer):
    x = normal((2, 2, 4, 4) if not isinstance(layer, nn.Dense) else (2, 4), 0)   # float64 in
    y = layer.forward(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones(y.shape)).dtype == np.float32
