"""Convolution and max pooling against plain-loop references.

* Conv2D forward equals the obvious nested loops (explicit zero padding,
  TensorFlow-style "same"), in float64 and, within a derived bound, float32;
  its float32 backward pass agrees with the float64 one;
* MaxPool2D forward equals the loops; a window's gradient goes to exactly one of
  its maxima when there are ties (the first in row-major order); the 2 x 2 kernels
  equal the general ones.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import conv_cases, normal, pool_cases, separated_values

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


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2)])
def test_maxpool2d_backward_after_astype_uses_the_forward_pass_before_it(kernel, stride):
    # astype clears the layers' scratch arrays; where the maxima lay must survive it
    x = separated_values((2, 3, 6, 6), 1)
    pool = nn.MaxPool2D(kernel, stride)
    y = pool.forward(x)
    expected = nn.MaxPool2D(kernel, stride)
    expected.forward(x)
    dy = normal(y.shape, 2)
    pool.astype(np.float32)
    assert np.array_equal(pool.backward(dy), expected.backward(dy))


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
