"""Whole networks: end-to-end gradients, loss at initialisation, overfitting one batch,
saving and loading (and refusing damaged files without ever unpickling)."""

import io
import json
import math
import os
import pickle
import zipfile

import numpy as np
import pytest
from strategies import normal

import nn

TOL = 1e-6

# ------------------------------------------------------------------ models


def small_cnn(K: int = 4, dtype=np.float64, seed: int = 0, C: int = 3) -> nn.Sequential:
    """conv → relu → pool → flatten → dense, for 1 x 7 x 7 images (7 → pool → 3)."""
    return nn.Sequential([
        nn.Conv2D(1, C, 3, padding="same", dtype=dtype, rng=seed),
        nn.ReLU(),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(C * 3 * 3, K, dtype=dtype, rng=seed + 1),
    ])


def deeper_cnn(dtype=np.float64, seed: int = 0) -> nn.Sequential:
    """Every layer type: a strided even-kernel conv, batch norm, overlapping pooling,
    dropout, two dense layers and batch norm 1-D; for 1 x 9 x 9 images."""
    return nn.Sequential([
        nn.Conv2D(1, 4, 2, stride=2, padding="same", dtype=dtype, rng=seed),    # 9 → 5
        nn.BatchNorm2D(4, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2D(2, stride=1),                                              # 5 → 4
        nn.Conv2D(4, 3, (2, 1), padding=1, dtype=dtype, rng=seed + 1),          # 4x4 → 5x6
        nn.Flatten(),
        nn.Dropout(0.3, rng=seed),
        nn.Dense(90, 6, dtype=dtype, rng=seed + 2),
        nn.BatchNorm1D(6, dtype=dtype),
        nn.ReLU(),
        nn.Dense(6, 3, dtype=dtype, rng=seed + 3),
    ])


def multihead(dtype=np.float64, seed: int = 0, sizes=(5, 3, 2)) -> nn.MultiHead:
    trunk = [nn.Conv2D(1, 3, 3, padding="same", dtype=dtype, rng=seed), nn.ReLU(),
             nn.MaxPool2D(2), nn.Flatten()]
    heads = []
    for k, K in enumerate(sizes):
        if k == 1:                                   # one head with a hidden layer of its own
            heads.append([nn.Dense(27, 4, dtype=dtype, rng=seed + 10 + k), nn.ReLU(),
                          nn.Dense(4, K, dtype=dtype, rng=seed + 20 + k)])
        else:
            heads.append(nn.Sequential([nn.Dense(27, K, dtype=dtype, rng=seed + 10 + k)]))
    return nn.MultiHead(trunk, heads)


def images(N: int, size: int, seed: int, dtype=np.float64) -> np.ndarray:
    """Pixel-like inputs in [0, 1), as the data loaders produce."""
    return np.random.default_rng(seed).random((N, 1, size, size)).astype(dtype)


def param_names(model) -> set[str]:
    return {name for name, _, _ in model.named_parameters()}


def assert_gradients_ok(errors, model, tol=TOL):
    assert set(errors) == {"input"} | param_names(model)
    bad = {k: e for k, e in errors.items() if not e < tol}
    assert not bad, f"relative errors above {tol}: {bad}"


# ------------------------------------------------------------------ end-to-end gradients
#
# Tolerance 1e-6 as for single layers. The ReLUs and max pools are not smooth, but
# with these fixed seeds no pre-activation lies within a finite-difference step
# (1e-6 · the largest weight or input it is summed from) of zero, nor are two
# candidates of a pooling window that close; all zeros pooled after a ReLU tie, but
# the gradient there is 0 on both sides. So the networks are linear or smooth on
# every [u - ε, u + ε] probed.


@pytest.mark.parametrize("N", [1, 3])
def test_small_cnn_gradients(N):
    model = small_cnn()
    for layer in model.layers:                      # non-zero biases
        if "b" in layer.params:
            layer.params["b"][...] = 0.1 * normal(layer.params["b"].shape, 5)
    errors = nn.gradcheck(model, images(N, 7, N), max_entries=40)
    assert_gradients_ok(errors, model)


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
    errors = nn.gradcheck(model, images(4, 9, 1), training=True, max_entries=30)
    scale = max(np.abs(layer.grads[key]).max() for _, layer, key in model.named_parameters())
    for name, layer, key in model.named_parameters():
        if name in BATCH_INVARIANT:
            assert np.abs(layer.grads[key]).max() < 1e-12 * scale, name
            errors[name] = 0.0
    assert_gradients_ok(errors, model)


def test_deeper_cnn_gradients_in_evaluation_mode():
    model = deeper_cnn()
    for seed in range(3):                            # non-trivial running statistics
        model.forward(images(4, 9, 10 + seed), training=True)
    errors = nn.gradcheck(model, images(2, 9, 1), training=False, max_entries=30)
    assert_gradients_ok(errors, model)


def test_multihead_gradients():
    model = multihead()
    errors = nn.gradcheck(model, images(2, 7, 3), max_entries=40)
    assert_gradients_ok(errors, model)
    assert "heads.1.2.W" in errors and "trunk.0.W" in errors


def test_multihead_with_losses_end_to_end():
    """Σ_k CE(head_k(trunk(x)), t_k): backward([dz_1, dz_2, dz_3]) against central differences."""
    model = multihead()
    x = images(3, 7, 4)
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


# ------------------------------------------------------------------ save and load

METADATA = {"input": {"shape": [1, 9, 9], "scale": 1 / 255}, "classes": list("0123456789"),
            "note": "números ☃", "trained_steps": 3, "nested": {"a": [1, 2.5, None, True]}}


def trained(model, x, steps=3):
    """A few training steps so the parameters and BatchNorm's running statistics are not
    at their initial values."""
    opt = nn.SGD(model, lr=0.05, momentum=0.9)
    for _ in range(steps):
        out = model.forward(x, training=True)
        outs = out if isinstance(out, list) else [out]
        model.backward([np.ones_like(o) / o.size for o in outs]
                       if isinstance(out, list) else np.ones_like(out) / out.size)
        opt.step()
    return model


def assert_same_model(a, b):
    assert repr(a) == repr(b)                                    # same layers and configs
    arrays_a, arrays_b = list(a.named_arrays()), list(b.named_arrays())
    assert [n for n, _, _ in arrays_a] == [n for n, _, _ in arrays_b]
    for (name, sa, ka), (_, sb, kb) in zip(arrays_a, arrays_b, strict=True):
        assert sa[ka].dtype == sb[kb].dtype, name
        np.testing.assert_array_equal(sa[ka], sb[kb], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_sequential_gives_identical_outputs(tmp_path, dtype):
    model = trained(deeper_cnn(dtype=dtype), images(6, 9, 0, dtype))
    assert not np.all(model.layers[1].buffers["running_mean"] == 0)
    path = tmp_path / "model.npz"
    model.save(path, METADATA)
    assert os.listdir(tmp_path) == ["model.npz"]                 # no temporary left behind
    loaded = nn.load(path)
    assert isinstance(loaded, nn.Sequential)
    assert_same_model(model, loaded)
    x = images(5, 9, 1, dtype)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    assert loaded.metadata == METADATA
    assert json.loads(json.dumps(loaded.metadata)) == METADATA


def test_save_load_multihead_gives_identical_outputs(tmp_path):
    model = trained(multihead(dtype=np.float32), images(4, 7, 0, np.float32))
    path = tmp_path / "reader.npz"
    model.save(str(path), metadata={"heads": ["d1", "d2", "length"]})
    loaded = nn.load(str(path))
    assert isinstance(loaded, nn.MultiHead) and len(loaded.heads) == 3
    assert_same_model(model, loaded)
    x = images(3, 7, 1, np.float32)
    for got, want in zip(loaded.forward(x), model.forward(x), strict=True):
        np.testing.assert_array_equal(got, want)
    assert loaded.metadata == {"heads": ["d1", "d2", "length"]}


def test_half_storage_halves_the_file_and_loads_back_into_float32(tmp_path):
    model = trained(multihead(dtype=np.float32), images(4, 7, 0, np.float32))
    model.save(tmp_path / "full.npz")
    nn.save(model, tmp_path / "half.npz", half=True)
    big = nn.Sequential([nn.Dense(300, 200, rng=0)])               # arrays outweigh the header
    big.save(tmp_path / "big-full.npz")
    nn.save(big, tmp_path / "big-half.npz", half=True)
    full, half = ((tmp_path / f"big-{k}.npz").stat().st_size for k in ("full", "half"))
    assert half < 0.55 * full
    loaded = nn.load(tmp_path / "half.npz")
    for (name, sa, ka), (_, sb, kb) in zip(model.named_arrays(), loaded.named_arrays(),
                                          strict=True):
        assert sb[kb].dtype == np.float32, name
        np.testing.assert_allclose(sb[kb], sa[ka], rtol=1e-3, atol=1e-4, err_msg=name)
    x = images(3, 7, 1, np.float32)
    for got, want in zip(loaded.forward(x), model.forward(x), strict=True):
        np.testing.assert_allclose(got, want, rtol=0.02, atol=0.02)
    model.trunk.layers[0].params["W"][0, 0, 0, 0] = 1e6
    with pytest.raises(ValueError, match="float16"):
        nn.save(model, tmp_path / "big.npz", half=True)


def test_load_uses_no_pickle_for_a_valid_file(tmp_path, monkeypatch):
    model = small_cnn(dtype=np.float32)
    model.save(tmp_path / "m.npz", {"k": 1})

    def refuse(*args, **kwargs):
        raise AssertionError("nn.load unpickled something")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    loaded = nn.load(tmp_path / "m.npz")
    assert_same_model(model, loaded)


# ------------------------------------------------------------------ damaged files


def _arrays_of_saved(tmp_path) -> dict[str, np.ndarray]:
    """The arrays of a freshly saved small model (to be damaged and rewritten)."""
    src = tmp_path / "source.npz"
    small_cnn(dtype=np.float32).save(src, {"k": 1})
    with np.load(src, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _architecture(arrays) -> dict:
    return json.loads(str(arrays["__architecture__"]))


def _damage(kind: str, tmp_path) -> bytes | dict[str, np.ndarray]:
    arrays = _arrays_of_saved(tmp_path)
    good = (tmp_path / "source.npz").read_bytes()
    rng = np.random.default_rng(0)
    if kind == "empty":
        return b""
    if kind == "truncated-half":
        return good[: len(good) // 2]
    if kind == "truncated-tail":
        return good[:-7]
    if kind == "random-bytes":
        return rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    if kind == "zip-of-text":                                 # a zip, but of no arrays
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("readme.txt", "not an array")
        return buf.getvalue()
    if kind == "no-architecture":
        del arrays["__architecture__"]
    elif kind == "wrong-shape":
        arrays["0.W"] = np.zeros((3, 1, 3, 4), np.float32)
    elif kind == "wrong-shape-bias":
        arrays["4.b"] = np.zeros((5,), np.float32)
    elif kind == "missing-array":
        del arrays["4.W"]
    elif kind == "nan":
        arrays["4.W"] = np.full_like(arrays["4.W"], np.nan)
    elif kind == "architecture-not-json":
        arrays["__architecture__"] = np.array("{this is not json")
    elif kind == "wrong-format":
        header = _architecture(arrays) | {"format": "something-else"}
        arrays["__architecture__"] = np.array(json.dumps(header))
    elif kind == "future-version":
        header = _architecture(arrays) | {"version": 99}
        arrays["__architecture__"] = np.array(json.dumps(header))
    elif kind == "unknown-layer":
        header = _architecture(arrays)
        header["model"]["layers"][1]["type"] = "os.system"
        arrays["__architecture__"] = np.array(json.dumps(header))
    elif kind == "bad-layer-config":
        header = _architecture(arrays)
        header["model"]["layers"][0]["config"]["no_such_argument"] = 1
        arrays["__architecture__"] = np.array(json.dumps(header))
    elif kind == "architecture-is-a-list":
        arrays["__architecture__"] = np.array(json.dumps([1, 2, 3]))
    elif kind == "model-is-a-list":
        header = _architecture(arrays) | {"model": ["Sequential"]}
        arrays["__architecture__"] = np.array(json.dumps(header))
    elif kind == "string-array":
        arrays["4.b"] = np.array(["x"] * arrays["4.b"].size)
    elif kind == "complex-array":
        arrays["4.b"] = arrays["4.b"].astype(np.complex64)
    elif kind == "layer-of-complex-numbers":
        header = _architecture(arrays)
        header["model"]["layers"][0]["config"]["dtype"] = "complex64"
        arrays["__architecture__"] = np.array(json.dumps(header))
    elif kind == "layer-too-large-for-memory":
        header = _architecture(arrays)
        header["model"]["layers"][0]["config"] |= {"in_channels": 10**6, "out_channels": 10**5}
        arrays["__architecture__"] = np.array(json.dumps(header))
    else:
        raise AssertionError(kind)
    return arrays


DAMAGES = ["empty", "truncated-half", "truncated-tail", "random-bytes", "zip-of-text",
           "no-architecture", "wrong-shape", "wrong-shape-bias", "missing-array", "nan",
           "architecture-not-json", "wrong-format", "future-version", "unknown-layer",
           "bad-layer-config", "architecture-is-a-list", "model-is-a-list", "string-array",
           "complex-array", "layer-of-complex-numbers", "layer-too-large-for-memory"]


@pytest.mark.parametrize("kind", DAMAGES)
def test_damaged_file_raises_model_file_error_naming_the_file(tmp_path, kind):
    path = tmp_path / f"damaged-{kind}.npz"
    damaged = _damage(kind, tmp_path)
    if isinstance(damaged, bytes):
        path.write_bytes(damaged)
    else:
        np.savez(path, **damaged)
    with pytest.raises(nn.ModelFileError) as info:
        nn.load(path)
    assert path.name in str(info.value)
    assert isinstance(info.value, ValueError)                    # documented base class


def test_missing_file_raises_model_file_error_naming_the_file(tmp_path):
    with pytest.raises(nn.ModelFileError) as info:
        nn.load(tmp_path / "never-saved.npz")
    assert "never-saved.npz" in str(info.value)


def test_the_damage_cases_start_from_a_loadable_file(tmp_path):
    # Guards the test above: without damage, the same file loads.
    arrays = _arrays_of_saved(tmp_path)
    np.savez(tmp_path / "rewritten.npz", **arrays)
    nn.load(tmp_path / "rewritten.npz")


class _Trap:
    """Unpickling this runs os.mkdir(marker): evidence that a loader used pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("where", ["parameter", "architecture", "extra"])
def test_object_arrays_are_refused_without_unpickling(tmp_path, where):
    marker = tmp_path / "pickle-was-used"
    arrays = _arrays_of_saved(tmp_path)
    trap = np.empty(1, dtype=object)
    trap[0] = _Trap(str(marker))
    if where == "parameter":
        arrays["4.b"] = trap
    elif where == "architecture":
        arrays["__architecture__"] = np.array([_Trap(str(marker)), str(
            arrays["__architecture__"])], dtype=object)
    else:
        arrays["notes"] = trap
    path = tmp_path / f"pickled-{where}.npz"
    np.savez(path, **arrays)                           # np.savez pickles object arrays
    with pytest.raises(nn.ModelFileError) as info:
        nn.load(path)
    assert path.name in str(info.value)
    assert not marker.exists(), "loading unpickled the object array"
    # The trap is real: reading that array with pickle allowed does run it.
    key = {"parameter": "4.b", "architecture": "__architecture__", "extra": "notes"}[where]
    with np.load(path, allow_pickle=True) as f:
        f[key]
    assert marker.exists()


def test_a_saved_model_gets_ordinary_file_permissions(tmp_path):
    import os
    umask = os.umask(0o022)
    try:
        path = tmp_path / "m.npz"
        nn.Sequential([nn.Dense(3, 2, rng=0)]).save(path)
        assert (path.stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(umask)


def test_a_file_that_is_no_archive_is_named_without_mentioning_pickle(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("just some text\n")
    with pytest.raises(nn.ModelFileError, match="notes.npz: not a model file") as info:
        nn.load(path)
    assert "pickle" not in str(info.value)
