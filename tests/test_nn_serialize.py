"""Saving and loading whole networks: identical outputs after a round trip, float16
storage, and damaged files refused with a ModelFileError naming the file, without
ever unpickling."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from nn_fixtures import deeper_cnn, images, multihead, small_cnn

import nn

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
        # each array is its float16 rounding (relative error <= 2^-11), nothing else
        np.testing.assert_array_equal(sb[kb], sa[ka].astype(np.float16).astype(np.float32),
                                      err_msg=name)
    x = images(3, 7, 1, np.float32)
    for got, want in zip(loaded.forward(x), model.forward(x), strict=True):
        # outputs of size <= 1.5 through two or three layers of rounded weights: measured
        # 3.4e-4 away; a weight stored wrong moves them by its own size.
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-3)
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
    with pytest.raises(nn.ModelFileError, match="is a folder, not a model file"):
        nn.load(tmp_path)


def test_the_damage_cases_start_from_a_loadable_file(tmp_path):
    # Guards the test above: without damage, the same file loads, as the model it was.
    arrays = _arrays_of_saved(tmp_path)
    np.savez(tmp_path / "rewritten.npz", **arrays)
    loaded = nn.load(tmp_path / "rewritten.npz")
    assert_same_model(small_cnn(dtype=np.float32), loaded)
    assert loaded.metadata == {"k": 1}


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
