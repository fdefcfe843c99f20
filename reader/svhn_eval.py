"""Measure a saved house-number reader on the test images of its protocol.

    python -m reader.svhn_eval models/svhn-numbers.npz
    python -m reader.svhn_eval runs/X/model.npz --json out.json

Prints one line per test set (sequence, per-digit and length accuracy,
coverage at 98 % accuracy, union-box IoU), the same measures train.py writes
at the end of a run; the pooled protocol's sets are ``holdout`` and
``holdout_strict`` (those of its images whose file name is certain).
"""

import argparse
import json
import sys
from pathlib import Path

from reader.evaluate import load_reader
from reader.svhn_data import load_splits
from reader.svhn_job import measure_numbers, summary_lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--data-dir")
    p.add_argument("--json", type=Path, help="also write the measures here")
    args = p.parse_args(argv)
    model, meta = load_reader(args.model)
    if meta["kind"] != "number":
        p.error(f"{args.model} is a {meta['kind']} model, not a house-number reader")
    protocol = meta["config"]["protocol"]
    results = {name: measure_numbers(model, numbers)[0]
               for name, numbers in load_splits(protocol, args.data_dir).tests.items()}
    for line in summary_lines(results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "protocol": protocol,
                                         "test": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
