"""Measure a saved SVHN reader on the test images of its protocol.

    python -m reader.svhn_eval models/svhn-numbers.npz
    python -m reader.svhn_eval runs/X/model.npz --json out.json

For a house-number reader, prints one line per test set (sequence, per-digit
and length accuracy, coverage at 98 % accuracy, union-box IoU) read through
nine windows (reader.views), then the same read from the centre window alone,
as train.py measures at the end of a run. The pooled protocol's sets are
``holdout`` and ``holdout_strict`` (those of its images whose file name is
certain). For a single-digit classifier, prints its accuracy on every test
digit, with the shifted views and with one view. ``--validation`` measures
on the protocol's validation images instead: that is where choices are made.
"""

import json
from pathlib import Path

import numpy as np

import nn
from data import DataError
from data.svhn import digit_crops
from reader.cli import OneLineParser, fail, output_file, run_command, whole_number
from reader.evaluate import load_reader
from reader.progress import announce
from reader.svhn_data import load_splits
from reader.svhn_read import (
    NINE_WINDOWS,
    ONE_WINDOW,
    digit_lines,
    measure_digits,
    measure_numbers_and_centre,
    summary_lines,
)
from reader.views import DIGIT_SHIFTS, WINDOW_OFFSETS

PROG = "python -m reader.svhn_eval"


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--data-dir")
    p.add_argument("--validation", action="store_true",
                   help="measure on the validation images, not the test sets")
    p.add_argument("--limit", type=whole_number(1), metavar="N",
                   help="only the first N images of each set (a quick try; default all)")
    p.add_argument("--json", type=output_file, help="also write the measures here")
    args = p.parse_args(argv)
    try:
        model, meta = load_reader(args.model)
        if meta["kind"] not in ("number", "digit"):
            fail(PROG, f"{args.model}: a {meta['kind']} reader, not an SVHN one")
        protocol = meta["config"]["protocol"]
        splits = load_splits(protocol, args.data_dir)
        tests = {"validation": splits.validation} if args.validation else splits.tests
    except (nn.ModelFileError, DataError) as err:
        fail(PROG, str(err))
    if args.limit:
        tests = {name: numbers.subset(np.arange(min(args.limit, len(numbers))))
                 for name, numbers in tests.items()}
    reads = f"{len(WINDOW_OFFSETS)} windows" if meta["kind"] == "number" else \
        f"{len(DIGIT_SHIFTS)} views of each digit"
    announce(f"reading {', '.join(f'{len(n):,} {name}' for name, n in tests.items())} "
             f"images through {reads}")
    if meta["kind"] == "number":
        views, views_key = WINDOW_OFFSETS, "windows"
        results, single = {}, {}
        for name, numbers in tests.items():
            results[name], single[name], _, _ = measure_numbers_and_centre(model, numbers)
        lines = summary_lines(results, NINE_WINDOWS) + summary_lines(single, ONE_WINDOW)
    else:
        views, views_key = DIGIT_SHIFTS, "shifts"
        digits = {name: digit_crops(numbers) for name, numbers in tests.items()}
        results, single = measure_digits(model, digits)
        lines = digit_lines(results) + digit_lines(single, " (one view)")
    for line in lines:
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "protocol": protocol,
                                         "limit": args.limit,
                                         "split": "validation" if args.validation else "test",
                                         views_key: views, "views": results,
                                         "one_view": single}, indent=1))
    return 0


if __name__ == "__main__":
    run_command(PROG, main)
