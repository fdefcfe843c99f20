"""Measure a saved strip reader on the test strips, read once and with the test-time views.

    python -m reader.strips_eval models/mnist-strips.npz
    python -m reader.strips_eval runs/X/model.npz --json out.json

The test strips are the ones train.py measures at the end of a run (seed
reader.tasks.TEST_SEED, drawn from the test pool only), so a model shipped
before the views existed can be measured with them on the same strips.
``--validation`` measures on strips of the validation pool instead (seed
VALIDATION_SEED): that is where choices are made.
"""

import json
from pathlib import Path

import nn
from data import DataError
from reader.cli import OneLineParser, fail, output_file, run_command, whole_number
from reader.evaluate import evaluate_views_and_one, load_reader
from reader.progress import announce
from reader.strip_job import strip_summary_lines
from reader.tasks import TEST_SEED, VALIDATION_SEED, fixed_strips, get_task, load_pools
from reader.views import STRIP_SHIFTS

PROG = "python -m reader.strips_eval"


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--data-dir")
    p.add_argument("--count", type=whole_number(1), default=10_000,
                   help="strips per layout (default 10000)")
    p.add_argument("--validation", action="store_true",
                   help="measure on validation strips, not test strips")
    p.add_argument("--json", type=output_file, help="also write the measures here")
    args = p.parse_args(argv)
    split, seed = ("validation", VALIDATION_SEED) if args.validation else ("test", TEST_SEED)
    try:
        model, meta = load_reader(args.model)
        if meta["kind"] not in ("strip", "tower"):
            fail(PROG, f"{args.model}: a {meta['kind']} reader, not a strip reader")
        task = get_task(meta["task"])
        pool = getattr(load_pools(task, args.data_dir), split)
        test_sets = fixed_strips(pool, args.count, seed)
    except (nn.ModelFileError, DataError) as err:
        fail(PROG, str(err))
    blank = len(task.alphabet)
    announce(f"reading {args.count:,} {split} strips per layout through "
             f"{len(STRIP_SHIFTS)} views")
    views, one_view = {}, {}
    for layout, (strips, labels) in test_sets.items():
        views[layout], one_view[layout], _ = evaluate_views_and_one(model, meta["kind"], strips,
                                                                    labels, blank)
    print(f"{args.model}: {split} strips, {args.count:,} per layout (seed {seed})")
    for line in strip_summary_lines(views, one_view):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "split": split, "seed": seed,
                                         "shifts": STRIP_SHIFTS, "views": views,
                                         "one_view": one_view}, indent=1))
    return 0


if __name__ == "__main__":
    run_command(PROG, main)
