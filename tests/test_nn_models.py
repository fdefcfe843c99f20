"""Whole networks: end-to-end gradients, loss at initialisation, overfitting one batch.
Saving and loading: test_nn_serialize.py."""

import math

import numpy as np
import pytest
from nn_fixtures import (
    GRAD_TOL,
    assert_gradients_ok,
    deeper_cnn,
    images,
    kink_margin,
    multihead,
    small_cnn,
)
from strategies import normal

import nn

TOL = GRAD_TOL


def param_names(model) -> set[str]:
    return {name for name, _, _ in model.named_parameters()}


# ------------------------------------------------------------------ end-to-end gradients
#
# Tolerance 1e-6 as for single layers. The ReLUs and max pools are not smooth, but
# with these fixed seeds no pre-activation lies within a finite-difference step
# (1e-6 · the largest weight or input it is summed from) of zero, nor are two
# candidates of a pooling window that close; all zeros pooled after a ReLU tie, but
# the gradient there is 0 on both sides. So the networks are linear or smooth on
# every [u - ε, u + ε] probed. Each test checks that (nn_fixtures.kink_margin): every
# ReLU input and every gap in a pooling window is at least KINK = 100 steps from a kink.
KINK = 1e-4


@pytest.mark.parametrize("x, margin", [
    ([[1.0, -0.5], [0.7, 0.6]], 0.3),            # ReLU inputs >= 0.5, pooling gap 1 - 0.7
    ([[1.0, -0.5], [1.0, 0.6]], 0.0),            # a tie for the maximum
    ([[1.0, 0.0], [0.2, 0.6]], 0.0),             # a ReLU input at its kink
    ([[-1.0, -2.0], [-3.0, -4.0]], 1.0),         # a window of zeros after the ReLU: no tie
])
def test_kink_margin_sees_kinks_and_ties(x, margin):
    model = nn.Sequential([nn.ReLU(), nn.MaxPool2D(2)])
    assert kink_margin(model, np.array([[x]])) == pytest.approx(margin)


@pytest.mark.parametrize("N", [1, 3])
def test_small_cnn_gradients(N):
    model = small_cnn()
    for layer in model.layers:                      # non-zero biases
        if "b" in layer.params:
            layer.params["b"][...] = 0.1 * normal(layer.params["b"].shape, 5)
    assert kink_margin(model, images(N, 7, N)) > KINK
    errors = nn.gradcheck(model, images(N, 7, N), max_entries=40)
    assert_gradients_ok(errors, param_names(model))


# In training mode batch norm subtracts the batch mean, so anything that shifts all
# examples of a feature alike has no effect: the bias of the conv before BatchNorm2D,
# and the biases of the conv and dense layers before BatchNorm1D (through Flatten and
# Dense, a conv bias is the same shift for every example). Their true gradient is 0,
# a relative error between two rounding noises means nothing, so for them we check
# that the analytic gradient is 0 instead.
BATCH_INVARIANT = {"0.b", "4.b", "7.b"}


def test_deeper_cnn_gradients_in_training_mode_without_dropout():
    model = deeper_cnn()
    model.layers[6].p = 0.0                          # dropout would redraw its mask per call
    assert kink_margin(model, images(4, 9, 1), training=True) > KINK
    errors = nn.gradcheck(model, images(4, 9, 1), training=True, max_entries=30)
    scale = max(np.abs(layer.grads[key]).max() for _, layer, key in model.named_parameters())
    for name, layer, key in model.named_parameters():
        if name in BATCH_INVARIANT:
            assert np.abs(layer.grads[key]).max() < 1e-12 * scale, name
            errors[name] = 0.0
    assert_gradients_ok(errors, param_names(model))


def test_deeper_cnn_gradients_in_evaluation_mode():
    model = deeper_cnn()
    for seed in range(3):                            # non-trivial running statistics
        model.forward(images(4, 9, 10 + seed), training=True)
    assert kink_margin(model, images(2, 9, 1)) > KINK
    errors = nn.gradcheck(model, images(2, 9, 1), training=False, max_entries=30)
    assert_gradients_ok(errors, param_names(model))


def test_multihead_gradients():
    model = multihead()
    assert kink_margin(model, images(2, 7, 3)) > KINK
    errors = nn.gradcheck(model, images(2, 7, 3), max_entries=40)
    assert_gradients_ok(errors, param_names(model))
    assert "heads.1.2.W" in errors and "trunk.0.W" in errors


def test_multihead_with_losses_end_to_end():
    """Σ_k CE(head_k(trunk(x)), t_k): backward([dz_1, dz_2, dz_3]) against central differences."""
    model = multihead()
    x = images(3, 7, 4)
    assert kink_margin(model, x) > KINK
    labels = [np.array([0, 4, 2]), np.array([1, 1, 0]), np.array([1, 0, 1])]
    losses = [nn.SoftmaxCrossEntropy() for _ in labels]

    def total():
        zs = model.forward(x)
        return sum(loss.forward(z, t) for loss, z, t in zip(losses, zs, labels, strict=True))

    total()
    dx = model.backward([loss.backward() for loss in losses])
    assert nn.relative_error(dx, nn.numerical_gradient(total, x)) < TOL
    for name, layer, key in model.named_parameters():
        analytic = layer.grads[key].copy()        # numerical_gradient only runs forwards
        numeric = nn.numerical_gradient(total, layer.params[key])
        assert nn.relative_error(analytic, numeric) < TOL, name


def test_multihead_trunk_gradient_is_the_sum_over_heads():
    model = multihead()
    x = images(2, 7, 5)
    zs = model.forward(x)
    dys = [normal(z.shape, k) for k, z in enumerate(zs)]
    dx_all = model.backward(dys)
    trunk_w_all = model.trunk.layers[0].grads["W"].copy()
    dx_sum, trunk_w_sum = 0.0, 0.0
    for k in range(len(zs)):
        only = [dy if j == k else np.zeros_like(dy) for j, dy in enumerate(dys)]
        model.forward(x)
        dx_sum = dx_sum + model.backward(only)
        trunk_w_sum = trunk_w_sum + model.trunk.layers[0].grads["W"]
    np.testing.assert_allclose(dx_all, dx_sum, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trunk_w_all, trunk_w_sum, rtol=1e-10, atol=1e-12)


def test_multihead_checks_the_number_of_gradients():
    model = multihead()
    zs = model.forward(images(2, 7, 0))
    with pytest.raises(ValueError):
        model.backward([np.ones_like(z) for z in zs[:2]])
    with pytest.raises(ValueError):
        nn.MultiHead([nn.Flatten()], [])


def test_sequential_input_grad_false_returns_none_with_the_same_parameter_gradients():
    model = small_cnn()
    x = images(2, 7, 0)
    dy = normal(model.forward(x).shape, 1)
    model.backward(dy)
    full = {n: layer.grads[k].copy() for n, layer, k in model.named_parameters()}
    model.forward(x)
    assert model.backward(dy, input_grad=False) is None
    for name, layer, key in model.named_parameters():
        np.testing.assert_array_equal(layer.grads[key], full[name], err_msg=name)


# ------------------------------------------------------------------ loss at initialisation


def _init_loss_tolerance(z: np.ndarray) -> float:
    """How far from ln K the mean cross-entropy of small random logits may be.

    Per example CE = lse(z) - z_t = ln K + (mean_k z - z_t) + ½·Var_k(z) + O(|z|³).
    The middle term has mean 0 over the labels and standard deviation <= σ (the
    logits' spread), so its mean over N examples is within 4σ/√N; the variance
    term adds at most σ²/2, and we allow σ³ for the rest. Hence |L - ln K| <=
    σ²/2 + 4σ/√N + σ³, about 0.15 for σ = 0.3 and N = 256, while a loss summed
    instead of averaged, in another base, or of the wrong sign misses by far more.
    """
    sigma = float(z.std())
    return sigma * sigma / 2 + 4 * sigma / math.sqrt(z.shape[0]) + sigma ** 3


def test_loss_at_initialisation_is_about_ln_k():
    K, N = 10, 256
    model = nn.Sequential([nn.Conv2D(1, 8, 3, padding="same", rng=0), nn.ReLU(),
                           nn.MaxPool2D(2), nn.Flatten(), nn.Dense(128, K, rng=1)])
    z = model.forward(images(N, 8, 0, np.float32))
    assert z.std() < 0.4                               # Glorot keeps the initial logits small
    labels = np.random.default_rng(1).integers(0, K, N)
    loss = nn.SoftmaxCrossEntropy().forward(z, labels)
    assert abs(loss - math.log(K)) < _init_loss_tolerance(z)


def test_multihead_loss_at_initialisation_is_about_ln_k_per_head():
    model = multihead(dtype=np.float32, sizes=(10, 4, 2))
    x = images(256, 7, 2, np.float32)
    rng = np.random.default_rng(3)
    for z, K in zip(model.forward(x), (10, 4, 2), strict=True):
        assert z.shape == (256, K)
        loss = nn.SoftmaxCrossEntropy().forward(z, rng.integers(0, K, 256))
        assert abs(loss - math.log(K)) < _init_loss_tolerance(z)


# ------------------------------------------------------------------ overfitting one batch


def test_small_cnn_overfits_one_batch():
    model = nn.Sequential([nn.Conv2D(1, 8, 3, padding="same", rng=0), nn.ReLU(),
                           nn.MaxPool2D(2), nn.Flatten(), nn.Dense(128, 10, rng=1)])
    x = images(8, 8, 0, np.float32)
    t = np.arange(8)
    loss = nn.SoftmaxCrossEntropy()
    opt = nn.Adam(model, lr=0.01)
    history = []
    for _ in range(300):
        history.append(loss.forward(model.forward(x, training=True), t))
        if history[-1] < 0.02:
            break
        model.backward(loss.backward(), input_grad=False)
        opt.step()
    assert history[0] > 1.5                            # it started untrained ...
    final = loss.forward(model.forward(x), t)
    assert final < 0.05, f"loss {final} after {len(history)} steps"   # ... and memorised
    assert np.array_equal(model.forward(x).argmax(axis=1), t)


def test_multihead_overfits_one_batch():
    trunk = [nn.Conv2D(1, 8, 3, padding="same", rng=0), nn.ReLU(), nn.MaxPool2D(2),
             nn.Flatten()]
    model = nn.MultiHead(trunk, [[nn.Dense(72, 6, rng=1)], [nn.Dense(72, 3, rng=2)]])
    x = images(8, 7, 1, np.float32)
    labels = [np.arange(8) % 6, np.arange(8) % 3]
    losses = [nn.SoftmaxCrossEntropy() for _ in labels]
    opt = nn.Adam(model, lr=0.01)
    for _ in range(400):
        zs = model.forward(x, training=True)
        values = [loss.forward(z, t) for loss, z, t in zip(losses, zs, labels, strict=True)]
        if max(values) < 0.02:
            break
        model.backward([loss.backward() for loss in losses], input_grad=False)
        opt.step()
    zs = model.forward(x)
    for loss, z, t in zip(losses, zs, labels, strict=True):
        assert loss.forward(z, t) < 0.05
