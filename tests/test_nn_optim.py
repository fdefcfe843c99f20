"""Optimizers and learning-rate schedules against hand-computed values.

The model here is only a bag of parameters (an optimizer never runs it): a 4-D
convolution kernel and a 2-D dense matrix, which L2 weight decay must touch,
and 1-D biases and batch-norm scales, which it must leave alone. Gradients are
written straight into ``grads``, so every expected value is a few lines of
arithmetic in float64.
"""

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn

# ------------------------------------------------------------------ helpers


def parameter_bag(seed: int = 0) -> nn.Sequential:
    return nn.Sequential([
        nn.Conv2D(2, 3, 2, dtype=np.float64, rng=seed),       # W (3, 2, 2, 2), b (3,)
        nn.Dense(4, 3, dtype=np.float64, rng=seed + 1),       # W (4, 3), b (3,)
        nn.BatchNorm1D(3, dtype=np.float64),                  # gamma (3,), beta (3,)
    ])


def params_of(model) -> dict[str, np.ndarray]:
    return {name: layer.params[key].copy() for name, layer, key in model.named_parameters()}


def set_grads(model, grads: dict[str, np.ndarray]) -> None:
    for name, layer, key in model.named_parameters():
        layer.grads[key][...] = grads[name]


def gradient_sequence(model, steps: int, seed: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{name: rng.standard_normal(layer.params[key].shape)
             for name, layer, key in model.named_parameters()} for _ in range(steps)]


def decayed(name: str, theta: np.ndarray) -> bool:
    """Weight decay applies to weight matrices and kernels (2+ axes) only."""
    return theta.ndim > 1


def sgd_reference(theta, grads, lrs, momentum, nesterov, weight_decay, decays):
    """PyTorch-form SGD: v ← μv + g;  θ ← θ - lr·v  (Nesterov: θ ← θ - lr·(g + μv))."""
    theta, v = theta.copy(), np.zeros_like(theta)
    for g, lr in zip(grads, lrs, strict=True):
        if weight_decay and decays:
            g = g + weight_decay * theta
        if momentum == 0:
            theta = theta - lr * g
            continue
        v = momentum * v + g
        theta = theta - lr * (g + momentum * v if nesterov else v)
    return theta


def adam_reference(theta, grads, lrs, b1, b2, eps, weight_decay, decays):
    theta, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    for t, (g, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        if weight_decay and decays:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


# ------------------------------------------------------------------ literal small examples


def _scalar_model(theta: float) -> nn.Sequential:
    layer = nn.BatchNorm1D(1, dtype=np.float64)               # one 1-D parameter, no decay
    layer.params["gamma"][...] = theta
    del layer.params["beta"], layer.grads["beta"]
    return nn.Sequential([layer])


def _run(opt, model, grads):
    layer = model.layers[0]
    out = []
    for g in grads:
        layer.grads["gamma"][...] = g
        opt.step()
        out.append(float(layer.params["gamma"][0]))
    return out


def test_sgd_literal_values():
    model = _scalar_model(1.0)
    assert _run(nn.SGD(model, lr=0.1), model, [0.5, 0.5]) == pytest.approx([0.95, 0.9], abs=1e-15)


def test_sgd_momentum_literal_values():
    # v = 0.5, θ = 1 - 0.05 = 0.95;  v = 0.9·0.5 + 0.5 = 0.95, θ = 0.95 - 0.095 = 0.855
    model = _scalar_model(1.0)
    got = _run(nn.SGD(model, lr=0.1, momentum=0.9), model, [0.5, 0.5])
    assert got == pytest.approx([0.95, 0.855], abs=1e-15)


def test_sgd_nesterov_literal_values():
    # v = 0.5, step = 0.5 + 0.9·0.5 = 0.95, θ = 0.905;
    # v = 0.95, step = 0.5 + 0.9·0.95 = 1.355, θ = 0.905 - 0.1355 = 0.7695
    model = _scalar_model(1.0)
    got = _run(nn.SGD(model, lr=0.1, momentum=0.9, nesterov=True), model, [0.5, 0.5])
    assert got == pytest.approx([0.905, 0.7695], abs=1e-15)


def test_adam_literal_values_show_bias_correction():
    # Step 1: m = 0.1·g, v = 0.001·g², so m̂ = g, v̂ = g² and the step is lr·g/(|g| + ε) ≈ lr
    # whatever the size of g. Without bias correction it would be lr·0.1g/(0.0316|g|) ≈ 3.2 lr.
    model = _scalar_model(1.0)
    got = _run(nn.Adam(model, lr=0.01), model, [1e-3, -2e-3])
    assert got[0] == pytest.approx(1.0 - 0.01 * 1e-3 / (1e-3 + 1e-8), abs=1e-15)
    # Step 2, g = -2e-3: m = 0.9·1e-4 + 0.1·(-2e-3) = -1.1e-4, m̂ = m / (1 - 0.9²);
    # v = 0.999·1e-9 + 0.001·4e-6 = 4.999e-9, v̂ = v / (1 - 0.999²).
    m_hat = -1.1e-4 / (1 - 0.81)
    v_hat = 4.999e-9 / (1 - 0.999 ** 2)
    assert got[1] == pytest.approx(got[0] - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8), abs=1e-15)


# ------------------------------------------------------------------ against references


@settings(max_examples=25, deadline=None)
@given(momentum=st.sampled_from([0.0, 0.5, 0.9]), nesterov=st.booleans(),
       weight_decay=st.sampled_from([0.0, 1e-2, 0.5]), seed=st.integers(0, 2**16))
def test_sgd_matches_hand_computed_steps(momentum, nesterov, weight_decay, seed):
    nesterov = nesterov and momentum > 0
    model = parameter_bag(seed)
    start = params_of(model)
    grads = gradient_sequence(model, 5, seed)
    lr = nn.ExponentialDecay(0.1, 0.5, 2)                    # the rate changes during the run
    opt = nn.SGD(model, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    for g in grads:
        set_grads(model, g)
        opt.step()
    assert opt.step_count == 5
    lrs = [lr(t) for t in range(5)]
    for name, theta in params_of(model).items():
        expected = sgd_reference(start[name], [g[name] for g in grads], lrs, momentum, nesterov,
                                 weight_decay, decayed(name, start[name]))
        np.testing.assert_allclose(theta, expected, rtol=1e-12, atol=1e-14, err_msg=name)


@settings(max_examples=25, deadline=None)
@given(betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]), eps=st.sampled_from([1e-8, 1e-3]),
       weight_decay=st.sampled_from([0.0, 1e-2, 0.5]), seed=st.integers(0, 2**16))
def test_adam_matches_hand_computed_steps(betas, eps, weight_decay, seed):
    model = parameter_bag(seed)
    start = params_of(model)
    grads = gradient_sequence(model, 6, seed)
    opt = nn.Adam(model, lr=0.05, betas=betas, eps=eps, weight_decay=weight_decay)
    for g in grads:
        set_grads(model, g)
        opt.step()
    for name, theta in params_of(model).items():
        expected = adam_reference(start[name], [g[name] for g in grads], [0.05] * 6, *betas,
                                  eps, weight_decay, decayed(name, start[name]))
        np.testing.assert_allclose(theta, expected, rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("make", [lambda m: nn.SGD(m, lr=0.1, weight_decay=0.5),
                                  lambda m: nn.SGD(m, lr=0.1, momentum=0.9, weight_decay=0.5),
                                  lambda m: nn.Adam(m, lr=0.1, weight_decay=0.5)])
def test_weight_decay_touches_weights_only(make):
    # Zero gradients: only the decay term λθ can move anything.
    model = parameter_bag()
    start = params_of(model)
    opt = make(model)
    opt.step()
    for name, theta in params_of(model).items():
        if start[name].ndim > 1:                              # 0.W (conv kernel), 1.W (dense)
            assert np.all((theta - start[name]) * start[name] < 0), name   # towards 0
        else:                                                 # biases, gamma, beta
            np.testing.assert_array_equal(theta, start[name], err_msg=name)
    assert {n for n, v in start.items() if v.ndim > 1} == {"0.W", "1.W"}


def test_sgd_weight_decay_is_l2():
    # Zero gradient, no momentum: θ ← θ - lr·λ·θ = θ·(1 - 0.05), exactly.
    model = parameter_bag()
    start = params_of(model)
    nn.SGD(model, lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(params_of(model)["1.W"], 0.95 * start["1.W"], rtol=1e-15)


def test_optimizers_update_parameters_in_place():
    model = parameter_bag()
    arrays = [layer.params[key] for _, layer, key in model.named_parameters()]
    start = params_of(model)
    for opt in (nn.SGD(model, lr=0.1, momentum=0.9), nn.Adam(model)):
        set_grads(model, gradient_sequence(model, 1, 0)[0])
        opt.step()
        for a, (name, layer, key) in zip(arrays, model.named_parameters(), strict=True):
            assert a is layer.params[key], name              # never rebound ...
            assert not np.array_equal(a, start[name]), name   # ... but changed


def test_float32_parameters_stay_float32():
    model = nn.Sequential([nn.Dense(3, 2, rng=0)])
    for opt in (nn.SGD(model, lr=0.1, momentum=0.9, weight_decay=1e-3), nn.Adam(model)):
        model.layers[0].grads["W"][...] = 1.0
        opt.step()
        assert model.layers[0].params["W"].dtype == np.float32


def test_nesterov_needs_momentum():
    with pytest.raises(ValueError):
        nn.SGD(parameter_bag(), lr=0.1, nesterov=True)


# ------------------------------------------------------------------ schedules


def test_notebook_schedule_exponential_staircase():
    sched = nn.ExponentialDecay(0.01, 0.95, 500)              # staircase by default
    for step in (0, 1, 250, 499, 500, 501, 999, 1000, 1499, 1500, 10_000, 123_457):
        assert sched(step) == pytest.approx(0.01 * 0.95 ** (step // 500), rel=1e-14), step
    assert sched(499) == 0.01 and sched(500) < 0.01


def test_exponential_decay_continuous():
    sched = nn.ExponentialDecay(0.01, 0.95, 500, staircase=False)
    for step in (0, 1, 250, 500, 777, 10_000):
        assert sched(step) == pytest.approx(0.01 * 0.95 ** (step / 500), rel=1e-14), step


def test_step_decay():
    sched = nn.StepDecay(0.1, step_size=30)
    assert [sched(s) for s in (0, 29, 30, 59, 60, 95)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.0001], rel=1e-12)
    assert nn.StepDecay(1.0, 10, gamma=0.5)(25) == 0.25


def test_constant():
    assert [nn.Constant(0.3)(s) for s in (0, 1, 10**6)] == [0.3, 0.3, 0.3]


def test_warmup_cosine():
    peak, warm, total, final = 0.5, 10, 110, 0.05
    sched = nn.WarmupCosine(peak, warm, total, final)
    warmup = np.array([sched(s) for s in range(warm)])
    # Linear rise: equal increments peak/warm, reaching the peak at the end of warm-up.
    np.testing.assert_allclose(np.diff(warmup), peak / warm, rtol=1e-12)
    assert warmup[0] == pytest.approx(peak / warm) and warmup[-1] == pytest.approx(peak)
    for s in range(warm, total):
        t = (s - warm) / (total - warm)
        assert sched(s) == pytest.approx(final + (peak - final) * 0.5 * (1 + math.cos(math.pi * t)),
                                         rel=1e-12), s
    assert sched(warm) == pytest.approx(peak)
    assert sched(warm + (total - warm) // 2) == pytest.approx((peak + final) / 2)
    assert sched(total) == final and sched(10 * total) == final
    values = [sched(s) for s in range(warm - 1, total + 1)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))   # never rises again


def test_warmup_cosine_without_warmup_starts_at_peak():
    assert nn.WarmupCosine(1.0, 0, 100)(0) == 1.0


@pytest.mark.parametrize("make", [lambda: nn.ExponentialDecay(0.1, 0.9, 0),
                                  lambda: nn.StepDecay(0.1, 0),
                                  lambda: nn.WarmupCosine(0.1, 10, 10)])
def test_schedule_arguments_are_checked(make):
    with pytest.raises(ValueError):
        make()


def test_optimizer_feeds_the_step_count_to_the_schedule():
    model = _scalar_model(0.0)
    sched = nn.ExponentialDecay(0.01, 0.95, 500)
    opt = nn.SGD(model, lr=sched)
    assert opt.lr == 0.01
    opt.step_count = 499
    got = _run(opt, model, [1.0, 1.0])                        # steps 499 and 500
    assert got == pytest.approx([-0.01, -0.01 - 0.0095], rel=1e-12)
    assert opt.step_count == 501 and opt.lr == pytest.approx(0.0095)


# ------------------------------------------------------------------ state round trip


def _train_steps(model, opt, data):
    loss = nn.SoftmaxCrossEntropy()
    for x, t in data:
        loss.forward(model.forward(x, training=True), t)
        model.backward(loss.backward(), input_grad=False)
        opt.step()


def _small_net(seed):
    return nn.Sequential([nn.Dense(6, 8, rng=seed), nn.BatchNorm1D(8), nn.ReLU(),
                          nn.Dense(8, 3, rng=seed + 1)])


@pytest.mark.parametrize("make_opt", [
    lambda m: nn.SGD(m, lr=nn.ExponentialDecay(0.1, 0.5, 2), momentum=0.9, nesterov=True,
                     weight_decay=1e-3),
    lambda m: nn.Adam(m, lr=nn.StepDecay(0.01, 3), weight_decay=1e-3),
], ids=["sgd-nesterov", "adam"])
def test_state_dict_round_trip_continues_identically(make_opt):
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 3, 5))
            for _ in range(8)]
    a = _small_net(0)
    opt_a = make_opt(a)
    _train_steps(a, opt_a, data[:4])

    # Checkpoint: parameters, buffers and optimizer state through an .npz without pickle.
    buf = io.BytesIO()
    np.savez(buf, **opt_a.state_dict(),
             **{"model/" + name: store[key] for name, store, key in a.named_arrays()})
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        saved = {k: f[k] for k in f.files}
    assert int(saved["optimizer/step_count"]) == 4
    assert len([k for k in saved if k.startswith("optimizer/")]) > 1

    _train_steps(a, opt_a, data[4:])

    b = _small_net(99)                                        # different initial weights
    for name, store, key in b.named_arrays():
        store[key][...] = saved["model/" + name]
    opt_b = make_opt(b)
    opt_b.load_state_dict({k: v for k, v in saved.items() if k.startswith("optimizer/")})
    assert opt_b.step_count == 4 and opt_b.lr == opt_a.schedule(4)
    _train_steps(b, opt_b, data[4:])

    for (name, sa, ka), (_, sb, kb) in zip(a.named_arrays(), b.named_arrays(), strict=True):
        np.testing.assert_array_equal(sa[ka], sb[kb], err_msg=name)
    assert opt_b.step_count == opt_a.step_count == 8


def test_a_fresh_optimizer_without_the_state_does_not_continue_identically():
    # The round trip test above is meaningful only if the state matters.
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 3, 5))
            for _ in range(6)]
    a = _small_net(0)
    opt_a = nn.Adam(a, lr=0.01)
    _train_steps(a, opt_a, data[:3])
    b = _small_net(99)
    for (_, sa, ka), (_, sb, kb) in zip(a.named_arrays(), b.named_arrays(), strict=True):
        sb[kb][...] = sa[ka]
    opt_b = nn.Adam(b, lr=0.01)
    _train_steps(a, opt_a, data[3:])
    _train_steps(b, opt_b, data[3:])
    assert not np.array_equal(a.layers[0].params["W"], b.layers[0].params["W"])
