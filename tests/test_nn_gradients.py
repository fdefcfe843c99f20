"""Every layer's backward pass, and the loss's, against central differences (float64).

nn.gradcheck projects the output on a fixed random R and compares ∂(Σ R⊙f)/∂u
from ``backward`` with (L(u+ε) - L(u-ε)) / 2ε for the input and every
parameter, returning one relative error ‖a - n‖ / max(‖a‖, ‖n‖) per array.

Tolerance. For a smooth f the central difference has truncation error O(ε²)
and rounding error O(u·|L|/ε) ≈ 1e-16·|L|/1e-6 = 1e-10·|L|; both are far below
1e-6 for these tensors (|L| of order 10), so 1e-6 is the bar everywhere. ReLU
and max pooling are not smooth, and the usual bar for them is 1e-4, but they
are piecewise linear: with inputs from ``separated_values`` (every |x| and
every gap between two inputs >= 1e-3, a thousand steps ε) no difference
crosses a kink, the function is exactly linear on [u-ε, u+ε], and 1e-6 holds
for them too.

The first tests check the checker itself, so that a passing gradcheck means
something.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_fixtures import GRAD_TOL, assert_gradients_ok
from strategies import (
    conv_cases,
    dense_cases,
    image_shapes,
    margin_of,
    matrix_shapes,
    normal,
    pool_cases,
    seeds,
    separated_values,
)

import nn

TOL = GRAD_TOL
ENTRIES = 48        # entries of each array checked per example (keeps the run short)
FAST = settings(max_examples=30, deadline=None)


# ------------------------------------------------------------------ the checker itself


def test_numerical_gradient_of_a_known_function():
    rng = np.random.default_rng(1)
    u = rng.standard_normal((3, 4))
    before = u.copy()
    grad = nn.numerical_gradient(lambda: float(np.sum(np.sin(u) * u)), u)
    np.testing.assert_allclose(grad, np.cos(before) * before + np.sin(before),
                               rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(u, before)         # perturbed in place, then restored


def test_numerical_gradient_only_estimates_the_requested_entries():
    u = np.arange(1.0, 7.0)
    grad = nn.numerical_gradient(lambda: float(np.sum(u ** 2)), u, indices=np.array([1, 4]))
    np.testing.assert_allclose(grad, [0, 4.0, 0, 0, 10.0, 0], atol=1e-7)


class _WrongInputGradDense(nn.Dense):
    def backward(self, dy, input_grad=True):
        dx = super().backward(dy, input_grad)
        return 1.01 * dx                                 # 1 % too large


class _WrongBiasGradDense(nn.Dense):
    def backward(self, dy, input_grad=True):
        dx = super().backward(dy, input_grad)
        self.grads["b"][...] = 0.0                       # forgets the bias gradient
        return dx


def test_gradcheck_detects_a_wrong_input_gradient():
    layer = _WrongInputGradDense(4, 3, dtype=np.float64, rng=0)
    errors = nn.gradcheck(layer, normal((2, 4), 0))
    assert errors["W"] < TOL and errors["b"] < TOL
    assert errors["input"] > 1e-3


def test_gradcheck_detects_a_wrong_parameter_gradient():
    layer = _WrongBiasGradDense(4, 3, dtype=np.float64, rng=0)
    errors = nn.gradcheck(layer, normal((2, 4), 0))
    assert errors["input"] < TOL and errors["W"] < TOL
    assert errors["b"] > 0.5


def _one_weight_two_pixels(seed: int) -> tuple[nn.Conv2D, np.ndarray]:
    """A 1 x 1 convolution of a 2 x 1 image, padded by 2: its weight's gradient is
    x₁R₁ + x₂R₂, which for this seed cancels to 4.7e-5 while L is about 10."""
    layer = nn.Conv2D(1, 1, 1, padding=2, dtype=np.float64, rng=seed)
    layer.params["b"][...] = normal((1,), seed + 1)
    return layer, normal((1, 1, 2, 1), seed + 2)


class _WrongWeightGradConv(nn.Conv2D):
    def backward(self, dy, input_grad=True):
        dx = super().backward(dy, input_grad)
        self.grads["W"] *= 1.5                           # half as large again
        return dx


def test_gradcheck_judges_a_gradient_that_cancels_on_the_differences_resolution():
    layer, x = _one_weight_two_pixels(160)
    layer.forward(x)
    layer.backward(np.random.default_rng((160, 0x5EED)).standard_normal((1, 1, 6, 5)))
    assert abs(layer.grads["W"].item()) < 1e-4                    # it does cancel
    # judged on its own size, the differences' rounding (1.2e-9) would be 2.6e-5
    assert nn.gradcheck(layer, x, seed=160)["W"] < TOL
    wrong = _WrongWeightGradConv(1, 1, 1, padding=2, dtype=np.float64, rng=160)
    wrong.params["b"][...] = layer.params["b"]
    assert nn.gradcheck(wrong, x, seed=160)["W"] > 1e-4   # 2.3e-5 off: 1.0e-3, still seen


def test_gradcheck_refuses_float32_parameters():
    with pytest.raises(TypeError):
        nn.gradcheck(nn.Dense(3, 2, rng=0), normal((2, 3), 0))


# ------------------------------------------------------------------ layers


@FAST
@given(conv_cases())
def test_conv2d_gradients(case):
    layer = nn.Conv2D(case.C, case.F, case.kernel_size, stride=case.stride,
                      padding=case.padding, dtype=np.float64, rng=case.seed)
    layer.params["b"][...] = normal((case.F,), case.seed + 1)    # a non-zero bias
    x = normal(case.input_shape, case.seed + 2)
    errors = nn.gradcheck(layer, x, seed=case.seed, max_entries=ENTRIES)
    assert_gradients_ok(errors, ("W", "b"))


@FAST
@given(pool_cases())
def test_maxpool2d_gradients(case):
    layer = nn.MaxPool2D(case.kernel, case.stride)
    x = separated_values(case.input_shape, case.seed)
    assert margin_of(x) >= 1e-3
    errors = nn.gradcheck(layer, x, seed=case.seed, max_entries=ENTRIES)
    assert_gradients_ok(errors, ())


@FAST
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple), seeds)
def test_relu_gradients(shape, seed):
    x = separated_values(shape, seed)
    assert margin_of(x) >= 1e-3
    assert_gradients_ok(nn.gradcheck(nn.ReLU(), x, seed=seed), ())


def test_relu_gradient_at_the_kink_is_zero():
    relu = nn.ReLU()
    x = np.array([-1.0, 0.0, 2.0, -0.0])
    np.testing.assert_array_equal(relu.forward(x), [0.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(relu.backward(np.array([5.0, 5.0, 5.0, 5.0])),
                                  [0.0, 0.0, 5.0, 0.0])


@FAST
@given(dense_cases())
def test_dense_gradients(case):
    layer = nn.Dense(case.D_in, case.D_out, dtype=np.float64, rng=case.seed)
    layer.params["b"][...] = normal((case.D_out,), case.seed + 1)
    errors = nn.gradcheck(layer, normal((case.N, case.D_in), case.seed + 2), seed=case.seed)
    assert_gradients_ok(errors, ("W", "b"))


@settings(max_examples=15, deadline=None)
@given(image_shapes(), seeds)
def test_flatten_gradients(shape, seed):
    layer = nn.Flatten()
    x = normal(shape, seed)
    assert layer.forward(x).shape == (shape[0], int(np.prod(shape[1:])))
    assert_gradients_ok(nn.gradcheck(layer, x, seed=seed), ())


def _random_affine(layer, seed):
    """Non-trivial gamma and beta, so their gradients and the scaling are exercised."""
    n = layer.num_features
    layer.params["gamma"][...] = 0.5 + np.random.default_rng(seed).random(n)
    layer.params["beta"][...] = normal((n,), seed + 1)


def _batchnorm_input(shape, seed):
    """Distinct values (variance bounded away from 0), a different mean and scale per feature."""
    rng = np.random.default_rng(seed + 2)
    bshape = (1, shape[1]) + (1,) * (len(shape) - 2)
    x = separated_values(shape, seed) * (0.5 + 2 * rng.random(bshape))
    return x + rng.standard_normal(bshape)


# At least 3 values per feature: with 2, x̂ = ±d/sqrt(d² + ε_bn) is ±1 up to ε_bn = 1e-5,
# the true ∂L/∂x is ~1e-5 and the finite difference's rounding noise (~1e-10) alone
# makes a relative error of 1e-5. That is conditioning, not a wrong backward pass.
@FAST
@given(image_shapes(min_values_per_channel=3), seeds, st.booleans())
def test_batchnorm2d_gradients(shape, seed, training):
    layer = nn.BatchNorm2D(shape[1], dtype=np.float64)
    _random_affine(layer, seed)
    x = _batchnorm_input(shape, seed)
    if not training:                    # evaluation uses running statistics: make them non-trivial
        for k in range(3):
            layer.forward(_batchnorm_input(shape, seed + 10 + k), training=True)
    errors = nn.gradcheck(layer, x, training=training, seed=seed, max_entries=ENTRIES)
    assert_gradients_ok(errors, ("gamma", "beta"))


@FAST
@given(matrix_shapes(min_rows=3), seeds, st.booleans())
def test_batchnorm1d_gradients(shape, seed, training):
    layer = nn.BatchNorm1D(shape[1], dtype=np.float64)
    _random_affine(layer, seed)
    x = _batchnorm_input(shape, seed)
    if not training:
        for k in range(3):
            layer.forward(_batchnorm_input(shape, seed + 10 + k), training=True)
    errors = nn.gradcheck(layer, x, training=training, seed=seed)
    assert_gradients_ok(errors, ("gamma", "beta"))


@settings(max_examples=15, deadline=None)
@given(image_shapes(), seeds)
def test_dropout_gradients_in_evaluation(shape, seed):
    layer = nn.Dropout(0.5, rng=seed)
    assert_gradients_ok(nn.gradcheck(layer, normal(shape, seed), training=False), ())


@FAST
@given(image_shapes(), seeds, st.sampled_from([0.1, 0.5, 0.8]))
def test_dropout_gradient_in_training_is_the_forward_mask(shape, seed, p):
    x = separated_values(shape, seed)                  # no zeros: y / x recovers the mask
    layer = nn.Dropout(p, rng=seed)
    y = layer.forward(x, training=True)
    kept = y != 0
    mask = kept / (1.0 - p)                            # the mask this forward drew
    np.testing.assert_allclose(y, x * mask, rtol=1e-15, atol=0)
    dy = normal(shape, seed + 1)
    np.testing.assert_allclose(layer.backward(dy), dy * mask, rtol=1e-12, atol=0)
    dy2 = normal(shape, seed + 2)                      # the mask stays fixed until the next forward
    np.testing.assert_allclose(layer.backward(dy2), dy2 * mask, rtol=1e-12, atol=0)

    # The same against central differences: a layer re-created with the same seed
    # draws the same mask, so L(x) = Σ R ⊙ dropout(x) is a fixed linear function.
    R = normal(shape, seed + 3)
    u = x.copy()
    numeric = nn.numerical_gradient(
        lambda: float(np.sum(R * nn.Dropout(p, rng=seed).forward(u, training=True))), u)
    fresh = nn.Dropout(p, rng=seed)
    fresh.forward(x, training=True)
    assert nn.relative_error(fresh.backward(R), numeric) < TOL


# ------------------------------------------------------------------ the loss


@st.composite
def logits_and_labels(draw, scales=(0.1, 1.0, 5.0)):
    N, K = draw(st.integers(1, 5)), draw(st.integers(2, 6))
    seed = draw(seeds)
    logits = normal((N, K), seed, scale=draw(st.sampled_from(scales)))
    labels = np.random.default_rng(seed + 1).integers(0, K, N)
    return logits, labels


# Logits of scale 5 can saturate the softmax (p = 1 - 1e-6 for the label): the
# loss is then ~1e-6 and its central difference carries ~1e-16/ε = 1e-10 of
# rounding, a relative error of 1e-4 that says nothing about the gradient. At
# scale <= 1 every |∂L/∂z| is above ~1e-3, where 1e-6 is a meaningful bar.
@FAST
@given(logits_and_labels(scales=(0.1, 1.0)))
def test_softmax_cross_entropy_gradient(case):
    logits, labels = case
    loss = nn.SoftmaxCrossEntropy()
    z = logits.copy()
    numeric = nn.numerical_gradient(lambda: loss.forward(z, labels), z)
    loss.forward(logits, labels)
    analytic = loss.backward()
    assert analytic.shape == logits.shape
    assert nn.relative_error(analytic, numeric) < TOL


@FAST
@given(logits_and_labels())
def test_softmax_cross_entropy_value(case):
    logits, labels = case
    N = logits.shape[0]
    # Direct formula, fine in float64 for |z| <= ~30 (these are).
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(N), labels]))
    loss = nn.SoftmaxCrossEntropy()
    assert loss.forward(logits, labels) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(loss.probabilities, p, rtol=1e-12, atol=1e-15)


@FAST
@given(logits_and_labels(), st.sampled_from([-1e4, 50.0, 1e4]))
def test_softmax_cross_entropy_is_shift_invariant_and_stable(case, shift):
    logits, labels = case
    loss = nn.SoftmaxCrossEntropy()
    base = loss.forward(logits, labels)
    shifted = loss.forward(logits + shift, labels)
    assert np.isfinite(shifted)
    # logits + 1e4 loses ~1e4 · 1e-16 = 1e-12 of every logit to rounding.
    assert shifted == pytest.approx(base, rel=1e-9, abs=1e-9)
    assert np.all(np.isfinite(loss.backward()))
