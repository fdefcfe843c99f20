"""Copy a trained reader into models/ with its weights stored as float16.

    python -m reader.ship runs/svhn-numbers-pooled/model.npz models/svhn-numbers.npz

Half-precision storage halves the file (a 2.3-million-parameter reader: 9 MB
-> 4.6 MB); the loaded model computes in float32 as before. The command
checks what the rounding costs before it writes: it reads the validation
images of the model's task with the original and with the float16 copy, and
writes the copy only if every reading is the same (``--allow-changes``
writes it anyway, saying how many changed).
"""

import os
import tempfile
from pathlib import Path

import numpy as np

import nn
from data.errors import DataError
from reader.cli import OneLineParser, fail, output_file, run_command
from reader.evaluate import load_reader, read_strips
from reader.progress import announce

PROG = "python -m reader.ship"


def validation_inputs(meta: dict, data_dir: str | None) -> np.ndarray:
    """The validation inputs of a reader's task, as its reader takes them: house-number
    centre windows, digit crops, or the strips its run validated on."""
    config = meta["config"]
    if meta["kind"] in ("number", "digit"):
        from data.svhn import digit_crops
        from reader.svhn_data import centre_window, load_splits
        validation = load_splits(config["protocol"], data_dir).validation
        return (centre_window(validation) if meta["kind"] == "number"
                else digit_crops(validation))[0]
    from reader.tasks import VALIDATION_SEED, fixed_strips, get_task, load_pools
    pools = load_pools(get_task(meta["task"]), data_dir)
    count = config.get("validation_count", 1000)           # the strips the run validated on
    return np.concatenate([s for s, _ in fixed_strips(pools.validation, count,
                                                      VALIDATION_SEED).values()])


def readings(model: nn.Model, meta: dict, inputs: np.ndarray) -> np.ndarray:
    """The reader's readings of ``validation_inputs``, one row per input."""
    if meta["kind"] == "number":
        from reader.svhn_read import read_numbers
        return read_numbers(model, inputs)[0].labels
    if meta["kind"] == "digit":
        from reader.svhn_read import classify
        return classify(model, inputs)[:, None]
    return read_strips(model, meta["kind"], inputs, meta["blank"]).labels


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="a run's model.npz")
    p.add_argument("out", type=output_file, help="where to write the shipped file")
    p.add_argument("--data-dir")
    p.add_argument("--allow-changes", action="store_true",
                   help="write the float16 file even if some validation readings change")
    args = p.parse_args(argv)
    if args.out.exists() and args.out.resolve() == args.model.resolve():
        fail(PROG, f"{args.out}: is the model file itself; write the shipped copy elsewhere")
    # The float16 copy is written next to OUT under a temporary name, read back and
    # compared; only then does it take OUT's name (or is removed).
    try:
        fd, name = tempfile.mkstemp(suffix=".npz", prefix=".ship-", dir=args.out.parent)
    except OSError as err:
        fail(PROG, f"{args.out}: cannot write there ({err.strerror or err})")
    os.close(fd)
    candidate = Path(name)
    try:
        model, meta = load_reader(args.model)
        nn.save(model, candidate, model.metadata, half=True)
        shipped, _ = load_reader(candidate)
        inputs = validation_inputs(meta, args.data_dir)               # DataError if missing
        announce(f"reading {len(inputs):,} validation inputs with the float32 and the "
                 "float16 weights")
        before, after = readings(model, meta, inputs), readings(shipped, meta, inputs)
        same = int(np.all(before == after, axis=1).sum())
        if same < len(before) and not args.allow_changes:
            fail(PROG, f"{args.model}: {len(before) - same} of {len(before)} validation "
                       f"readings change in float16, so {args.out} was not written "
                       "(--allow-changes writes it anyway)")
        size = candidate.stat().st_size
        os.replace(candidate, args.out)
    except (nn.ModelFileError, DataError) as err:
        fail(PROG, str(err))
    except (OSError, ValueError) as err:             # cannot write there; weights past float16
        fail(PROG, f"{args.out}: {err}")
    finally:
        candidate.unlink(missing_ok=True)
    print(f"{args.out}: {size / 1e6:.1f} MB (was {args.model.stat().st_size / 1e6:.1f} MB); "
          f"{same} of {len(before)} validation readings unchanged")
    return 0


if __name__ == "__main__":
    run_command(PROG, main)
