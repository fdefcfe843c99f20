"""Layer forward passes against plain-loop references, and the layers' other promises.

* Conv2D and MaxPool2D forward equal the obvious nested loops (explicit zero
  padding, TensorFlow-style "same"), in float64 and, within a derived bound, float32;
* max pooling sends a window's gradient to exactly one of its maxima when there are ties;
* dropout keeps the mean, is the identity in evaluation and for p = 0, is reproducible;
* batch norm keeps the momentum averages of the batch statistics and uses them in evaluation;
* wrong inputs raise a ValueError naming the layer;
* the initialisers have the documented bounds and variances;
* the params / grads contract of nn/layer.py.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    conv_cases,
    image_shapes,
    normal,
    pool_cases,
    seeds,
    separated_values,
)

import nn
from nn import kernels

FAST = settings(max_examples=30, deadline=None)

# ------------------------------------------------------------------ loop references


def tf_same_padding(size: int, k: int, s: int) -> tuple[int, int, int]:
    """(output size, pad before, pad after), TensorFlow's "same": the extra pixel goes after."""
    out = -(-size // s)                                   # ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def conv2d_reference(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int,
                     padding: int | str) -> np.ndarray:
    """The textbook convolution (cross-correlation), one multiply-add at a time, in float64."""
    N, C, H, Wd = x.shape
    F, C2, kh, kw = W.shape
    assert C == C2
    if padding == "same":
        Ho, top, bottom = tf_same_padding(H, kh, stride)
        Wo, left, right = tf_same_padding(Wd, kw, stride)
    else:
        top = bottom = left = right = padding
        Ho = (H + 2 * padding - kh) // stride + 1
        Wo = (Wd + 2 * padding - kw) // stride + 1
    xp = np.zeros((N, C, H + top + bottom, Wd + left + right))
    xp[:, :, top:top + H, left:left + Wd] = x
    assert (Ho - 1) * stride + kh <= xp.shape[2] and (Wo - 1) * stride + kw <= xp.shape[3]
    y = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for oh in range(Ho):
                for ow in range(Wo):
                    acc = float(b[f])
                    for c in range(C):
                        for i in range(kh):
                            for j in range(kw):
                                acc += float(W[f, c, i, j]) * float(
                                    xp[n, c, oh * stride + i, ow * stride + j])
                    y[n, f, oh, ow] = acc
    return y


def maxpool_reference(x: np.ndarray, k: int, s: int) -> np.ndarray:
    N, C, H, W = x.shape
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    y = np.empty((N, C, Ho, Wo), x.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(Ho):
                for ow in range(Wo):
                    best = -math.inf
                    for i in range(k):
                        for j in range(k):
                            best = max(best, x[n, c, oh * s + i, ow * s + j])
                    y[n, c, oh, ow] = best
    return y


def make_conv_pair(case):
    """The same convolution as a float64 and a float32 layer (float32-representable weights)."""
    conv32 = nn.Conv2D(case.C, case.F, case.kernel_size, stride=case.stride,
                       padding=case.padding, rng=case.seed)
    conv32.params["b"][...] = normal((case.F,), case.seed + 1)
    conv64 = nn.Conv2D(case.C, case.F, case.kernel_size, stride=case.stride,
                       padding=case.padding, dtype=np.float64, rng=case.seed)
    for key in ("W", "b"):
        conv64.params[key][...] = conv32.params[key]
    return conv32, conv64


# ------------------------------------------------------------------ Conv2D forward


# Float32 tolerance. Inputs and weights are float32 numbers, so the only error of
# the float32 layer is rounding in the sum of n = C·kh·kw + 1 <= 49 products. Any
# summation order (BLAS blocks it however it likes) errs by at most
# γ_n·Σ|w·x| with γ_n ≈ n·u = 49 · 2^-24 ≈ 3e-6. We allow 1e-5·Σ|w·x| (+1e-30 for
# all-zero windows): three times the worst case, yet a wrong tap, a shifted
# padding or a dropped bias (errors of order |w·x|) is far outside it. A plain
# rtol=1e-4/atol=1e-5 would be looser where |y| is large and could fail honestly
# on cancellation (y ≈ 0 with Σ|w·x| ≈ 50), hence the bound per output.
F32_REL = 1e-5
# Float64: the same bound with u = 2^-53: γ_49 ≈ 5.4e-15; we allow 1e-13.
F64_REL = 1e-13


@FAST
@given(conv_cases())
def test_conv2d_forward_matches_loop_reference(case):
    conv32, conv64 = make_conv_pair(case)
    x = normal(case.input_shape, case.seed + 2).astype(np.float32)
    W, b = conv64.params["W"], conv64.params["b"]
    expected = conv2d_reference(x.astype(np.float64), W, b, case.stride, case.padding)
    magnitude = conv2d_reference(np.abs(x.astype(np.float64)), np.abs(W), np.abs(b),
                                 case.stride, case.padding)            # Σ|w·x| + |b|

    if case.padding == "same":                                         # ceil(H / s) x ceil(W / s)
        assert expected.shape[2:] == (-(-case.H // case.stride), -(-case.W // case.stride))
    y64 = conv64.forward(x.astype(np.float64))
    assert y64.dtype == np.float64 and y64.shape == expected.shape
    assert np.all(np.abs(y64 - expected) <= F64_REL * magnitude + 1e-30)

    y32 = conv32.forward(x)
    assert y32.dtype == np.float32 and y32.shape == expected.shape
    err = np.abs(y32.astype(np.float64) - expected)
    assert np.all(err <= F32_REL * magnitude + 1e-30), f"max excess {np.max(err / magnitude)}"


@FAST
@given(conv_cases())
def test_conv2d_backward_float32_matches_float64(case):
    """Gradients in float32 agree with float64 within the same kind of derived bound.

    Each entry of dW sums N·Ho·Wo <= 3·49 products, of dx at most F·kh·kw <= 48:
    γ_147 ≈ 9e-6, so 3e-5 · (the same sum over absolute values) bounds the error.
    """
    conv32, conv64 = make_conv_pair(case)
    x = normal(case.input_shape, case.seed + 2).astype(np.float32)
    conv32.forward(x)
    y64 = conv64.forward(x.astype(np.float64))
    dy = normal(y64.shape, case.seed + 3).astype(np.float32)
    dx32 = conv32.backward(dy)
    dx64 = conv64.backward(dy.astype(np.float64))
    assert dx32.dtype == np.float32 and conv32.grads["W"].dtype == np.float32

    absolute = nn.Conv2D(case.C, case.F, case.kernel_size, stride=case.stride,
                         padding=case.padding, dtype=np.float64)
    absolute.params["W"][...] = np.abs(conv64.params["W"])
    absolute.forward(np.abs(x.astype(np.float64)))
    dx_mag = absolute.backward(np.abs(dy.astype(np.float64)))         # Σ|w·dy|
    for got, want, mag in ((dx32, dx64, dx_mag),
                           (conv32.grads["W"], conv64.grads["W"], absolute.grads["W"]),
                           (conv32.grads["b"], conv64.grads["b"], absolute.grads["b"])):
        assert np.all(np.abs(got.astype(np.float64) - want) <= 3e-5 * mag + 1e-30)


def test_conv2d_same_padding_with_even_kernel_puts_the_extra_pixel_after():
    # 2x2 kernel of ones, stride 1, "same": total padding 1, 0 before and 1 after,
    # so y[i, j] = x[i, j] + x[i, j+1] + x[i+1, j] + x[i+1, j+1] (zeros past the edge).
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    conv = nn.Conv2D(1, 1, 2, padding="same", dtype=np.float64)
    conv.params["W"][...] = 1.0
    xp = np.pad(x[0, 0], ((0, 1), (0, 1)))
    expected = xp[:-1, :-1] + xp[:-1, 1:] + xp[1:, :-1] + xp[1:, 1:]
    np.testing.assert_array_equal(conv.forward(x)[0, 0], expected)


def test_conv2d_same_padding_with_stride_two():
    # H = 5, k = 3, s = 2: out = 3, total = (3-1)·2 + 3 - 5 = 2, one row before and after.
    # H = 6, k = 3, s = 2: out = 3, total = 1, none before and one after.
    for size, before in ((5, 1), (6, 0)):
        x = np.arange(float(size * size)).reshape(1, 1, size, size)
        conv = nn.Conv2D(1, 1, 3, stride=2, padding="same", dtype=np.float64)
        conv.params["W"][...] = 0.0
        conv.params["W"][0, 0, 1, 1] = 1.0                  # picks the window's centre pixel
        y = conv.forward(x)[0, 0]
        centres = np.arange(3) * 2 + 1 - before
        np.testing.assert_array_equal(y, x[0, 0][np.ix_(centres, centres)])


def test_conv2d_bias_is_added_per_filter():
    conv = nn.Conv2D(2, 3, 3, padding=1, dtype=np.float64, rng=0)
    conv.params["W"][...] = 0.0
    conv.params["b"][...] = [1.0, -2.0, 3.5]
    y = conv.forward(normal((2, 2, 4, 5), 0))
    np.testing.assert_array_equal(y, np.broadcast_to(np.array([1.0, -2.0, 3.5])[:, None, None],
                                                     (2, 3, 4, 5)))


# ------------------------------------------------------------------ MaxPool2D


@FAST
@given(pool_cases(), st.booleans())
def test_maxpool2d_forward_matches_loop_reference(case, with_ties):
    rng = np.random.default_rng(case.seed)
    x = (rng.integers(-2, 3, case.input_shape).astype(np.float64) if with_ties
         else rng.standard_normal(case.input_shape))
    layer = nn.MaxPool2D(case.kernel, case.stride)
    expected = maxpool_reference(x, case.kernel, case.effective_stride)
    np.testing.assert_array_equal(layer.forward(x), expected)
    y32 = layer.forward(x.astype(np.float32))              # max is exact in any precision
    assert y32.dtype == np.float32
    np.testing.assert_array_equal(y32, expected.astype(np.float32))


def _windows_and_single_backward(case, x):
    """For every output position (oh, ow), the gradient of a one-hot dy there (all n, c at once)."""
    layer = nn.MaxPool2D(case.kernel, case.stride)
    y = layer.forward(x)
    Ho, Wo = y.shape[2:]
    for oh in range(Ho):
        for ow in range(Wo):
            dy = np.zeros_like(y)
            dy[:, :, oh, ow] = 1.0
            yield oh, ow, layer.backward(dy)


@FAST
@given(pool_cases())
def test_maxpool2d_ties_send_the_gradient_to_exactly_one_maximum(case):
    # Integers from {0, 1, 2}: most windows have several equal maxima.
    x = np.random.default_rng(case.seed).integers(0, 3, case.input_shape).astype(np.float64)
    k, s = case.kernel, case.effective_stride
    for oh, ow, dx in _windows_and_single_backward(case, x):
        window = (slice(oh * s, oh * s + k), slice(ow * s, ow * s + k))
        outside = dx.copy()
        outside[:, :, window[0], window[1]] = 0
        assert not outside.any(), "gradient left the window"
        for n in range(case.N):
            for c in range(case.C):
                g, v = dx[n, c][window], x[n, c][window]
                assert np.count_nonzero(g) == 1 and g.sum() == 1.0
                assert v[g != 0][0] == v.max()


@FAST
@given(pool_cases())
def test_maxpool2d_ties_go_to_the_first_maximum_in_row_major_order(case):
    # What nn/pool.py documents: "the first maximum in row-major order".
    x = np.random.default_rng(case.seed).integers(0, 2, case.input_shape).astype(np.float64)
    k, s = case.kernel, case.effective_stride
    for oh, ow, dx in _windows_and_single_backward(case, x):
        for n in range(case.N):
            for c in range(case.C):
                g = dx[n, c, oh * s:oh * s + k, ow * s:ow * s + k]
                v = x[n, c, oh * s:oh * s + k, ow * s:ow * s + k]
                assert np.argmax(g.reshape(-1)) == np.argmax(v.reshape(-1))


def test_maxpool2d_overlapping_windows_add_their_gradients():
    # Stride 1, kernel 2 on a 1x3 row pair: the middle column wins both windows.
    x = np.array([[[[0.0, 5.0, 1.0], [0.0, 0.0, 0.0]]]])
    layer = nn.MaxPool2D(2, stride=1)
    np.testing.assert_array_equal(layer.forward(x), [[[[5.0, 5.0]]]])
    dx = layer.backward(np.array([[[[2.0, 3.0]]]]))
    np.testing.assert_array_equal(dx, [[[[0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_maxpool2d_drops_windows_past_the_edge():
    x = separated_values((1, 1, 5, 7), 0)
    assert nn.MaxPool2D(2).forward(x).shape == (1, 1, 2, 3)
    assert nn.MaxPool2D(3, stride=2).forward(x).shape == (1, 1, 2, 3)
    dx = nn.MaxPool2D(2)
    dx.forward(x)
    g = dx.backward(np.ones((1, 1, 2, 3)))
    assert not g[0, 0, 4, :].any() and not g[0, 0, :, 6].any()      # never-pooled pixels


@FAST
@given(pool_cases(), st.booleans())
def test_maxpool2d_2x2_kernels_equal_the_general_ones(case, with_ties):
    # MaxPool2D(2) runs kernels of its own (nn/kernels.py); the loops for any k and s
    # are the reference, ties and odd sizes included.
    rng = np.random.default_rng(case.seed)
    N, C, H, W = case.input_shape
    x = (rng.integers(0, 2, (N, C, H + 1, W + 2)) if with_ties
         else rng.standard_normal((N, C, H + 1, W + 2))).astype(np.float32)
    Ho, Wo = (H + 1) // 2, (W + 2) // 2
    outputs = []
    for forward in (lambda y, am: kernels.maxpool_forward(x, 2, 2, y, am),
                    lambda y, am: kernels.maxpool2x2_forward(x, y, am)):
        y, argmax = np.empty((N, C, Ho, Wo), np.float32), np.empty((N, C, Ho, Wo), np.uint8)
        forward(y, argmax)
        outputs.append((y, argmax))
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])
    dy = rng.standard_normal((N, C, Ho, Wo)).astype(np.float32)
    general, special = np.full_like(x, np.nan), np.full_like(x, np.nan)
    kernels.maxpool_backward(dy, outputs[0][1], 2, 2, general)
    kernels.maxpool2x2_backward(dy, outputs[0][1], special)
    np.testing.assert_array_equal(general, special)


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

    # Evaluation uses the running averages and leaves them alone.
    x = rng.standard_normal(shape)
    expected = gamma.reshape(bshape) * (x - mean.reshape(bshape)) / np.sqrt(
        var.reshape(bshape) + 1e-5) + beta.reshape(bshape)
    y = layer.forward(x.astype(dtype), training=False)
    np.testing.assert_allclose(y, expected, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(layer.buffers["running_mean"], mean, rtol=1e-4)
    np.testing.assert_allclose(layer.buffers["running_var"], var, rtol=1e-4)
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
