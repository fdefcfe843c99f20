"""Saving and loading models without pickle.

A model file is one ``.npz`` archive of plain arrays:

* ``__architecture__``: a JSON string describing the network — for every layer
  its class name and constructor arguments (``Layer.config()``), nested as
  Sequential / MultiHead — plus free-form ``metadata`` (what input the model
  expects, what its classes mean, how it was trained);
* one array per parameter or buffer, named by its place in the model
  (``trunk.0.W``, ``heads.2.1.b``, …).

Loading reads the JSON, rebuilds the layers from a fixed table of known classes
and copies the arrays in. ``np.load(..., allow_pickle=False)`` means a file can
only ever yield numbers and strings, never run code. Files are written to a
temporary name and renamed, so a crash mid-write never leaves half a model.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .activations import ReLU
from .batchnorm import BatchNorm1D, BatchNorm2D
from .conv import Conv2D
from .dense import Dense, Flatten
from .dropout import Dropout
from .layer import Layer
from .models import Model, MultiHead, Sequential
from .pool import MaxPool2D

FORMAT = "nn-model"
VERSION = 1
ARCHITECTURE_KEY = "__architecture__"
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Conv2D, MaxPool2D, Dense, Flatten, ReLU, Dropout, BatchNorm1D, BatchNorm2D)
}


class ModelFileError(ValueError):
    """A model file is missing, damaged, or not a model file. The message names the file."""


def describe(model: Model) -> dict[str, Any]:
    """The JSON-able architecture of ``model``."""
    if isinstance(model, Sequential):
        return {"type": "Sequential",
                "layers": [{"type": type(layer).__name__, "config": layer.config()}
                           for layer in model.layers]}
    if isinstance(model, MultiHead):
        return {"type": "MultiHead", "trunk": describe(model.trunk),
                "heads": [describe(h) for h in model.heads]}
    raise TypeError(f"cannot describe {type(model).__name__}")


def build(spec: dict[str, Any]) -> Model:
    """Rebuild an (untrained) model from :func:`describe`'s output."""
    if not isinstance(spec, dict):
        raise ValueError(f"a model description must be an object, got {type(spec).__name__}")
    kind = spec.get("type")
    if kind == "Sequential":
        layers = []
        for entry in spec["layers"]:
            cls = LAYER_TYPES.get(entry["type"])
            if cls is None:
                raise ValueError(f"unknown layer type {entry['type']!r}")
            layers.append(cls(**entry["config"]))
        return Sequential(layers)
    if kind == "MultiHead":
        return MultiHead(build(spec["trunk"]), [build(h) for h in spec["heads"]])
    raise ValueError(f"unknown model type {kind!r}")


def model_arrays(model: Model) -> dict[str, np.ndarray]:
    return {name: store[key] for name, store, key in model.named_arrays()}


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (.npz) through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the
        # permissions an ordinary new file gets (0666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(model: Model, path: str | os.PathLike, metadata: dict | None = None,
         extra: dict[str, np.ndarray] | None = None, half: bool = False) -> None:
    """Save ``model`` (and optional extra named arrays, e.g. optimizer state) to one .npz.

    ``half=True`` stores the floating-point arrays as float16, which halves
    the file of a model that ships; ``load`` copies them back into the
    dtype the model was saved with (float32 for a trained one), so it computes
    as before, with weights
    rounded to 11 significant bits.
    """
    if metadata is not None:
        model.metadata = dict(metadata)
    header = {"format": FORMAT, "version": VERSION, "model": describe(model),
              "metadata": model.metadata}
    arrays = model_arrays(model)
    if half:
        for name, value in arrays.items():
            if np.issubdtype(value.dtype, np.floating):
                if np.abs(value).max(initial=0) >= np.finfo(np.float16).max:
                    raise ValueError(f"array {name!r} does not fit in float16")
                arrays[name] = value.astype(np.float16)
    for name in extra or {}:
        if name in arrays or name == ARCHITECTURE_KEY:
            raise ValueError(f"extra array name {name!r} clashes with the model's arrays")
    arrays.update(extra or {})
    arrays[ARCHITECTURE_KEY] = np.array(json.dumps(header))
    atomic_savez(path, arrays)


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an .npz file; any failure becomes a ModelFileError naming the file."""
    if Path(path).is_dir():
        raise ModelFileError(f"{path}: is a folder, not a model file")
    if Path(path).is_file() and not zipfile.is_zipfile(path):
        # np.load would try to read it as a pickle and blame allow_pickle.
        raise ModelFileError(f"{path}: not a model file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise ModelFileError(f"{path}: not a readable .npz file ({err})") from None


def load(path: str | os.PathLike, return_arrays: bool = False
         ) -> Model | tuple[Model, dict[str, np.ndarray]]:
    """Rebuild the model saved at ``path``.

    With ``return_arrays=True`` returns (model, arrays) so callers can read the
    extra arrays a checkpoint carries.
    """
    arrays = read_npz(path)
    if ARCHITECTURE_KEY not in arrays:
        raise ModelFileError(f"{path}: not a model file (no {ARCHITECTURE_KEY} record)")
    try:
        header = json.loads(str(arrays.pop(ARCHITECTURE_KEY)))
        if not isinstance(header, dict):
            raise ValueError("the record is not a JSON object")
        if header.get("format") != FORMAT:
            raise ValueError(f"format is {header.get('format')!r}, expected {FORMAT!r}")
        if header.get("version") != VERSION:
            raise ValueError(f"version {header.get('version')!r} is not supported")
        model = build(header["model"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ModelFileError(f"{path}: damaged architecture record ({err})") from None
    except MemoryError:
        raise ModelFileError(f"{path}: damaged architecture record (its layers would not "
                             "fit in memory)") from None
    for name, store, key in model.named_arrays():
        if name not in arrays:
            raise ModelFileError(f"{path}: missing array {name!r}")
        value = arrays.pop(name)
        if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
            raise ModelFileError(f"{path}: array {name!r} holds {value.dtype}, not real numbers")
        if value.shape != store[key].shape:
            raise ModelFileError(f"{path}: array {name!r} has shape {value.shape}, "
                                 f"the architecture needs {store[key].shape}")
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"{path}: array {name!r} holds NaN or infinity")
        store[key][...] = value
    model.metadata = header.get("metadata") or {}
    return (model, arrays) if return_arrays else model
