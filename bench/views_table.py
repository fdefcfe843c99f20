"""Render the test-time-views measurements as the tables docs/results.md quotes.

    python bench/views_table.py docs/measurements/strips-views-*.json \
        "dense 512 (shipped then)=docs/measurements/strips-views-test-h512.json"

Each file is what ``python -m reader.strips_eval`` or ``python -m reader.svhn_eval``
wrote with ``--json``: the figures read with several views and with one; an
argument ``LABEL=FILE`` names the model LABEL instead of its path. Prints
one markdown row per file and test set, figures as measured (two decimals of a
percentage); nothing is typed by hand.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measurement import bench_error, read_record  # noqa: E402
from reader.cli import OneLineParser  # noqa: E402


def pct(share: float) -> str:
    return f"{100 * share:.2f} %"


def rows(path: Path, label: str = "") -> list[str]:
    """Markdown rows for one measurement file: model, split, set, one view -> views;
    one line on stderr and exit 2 for a file of another kind."""
    record = read_record(path)
    try:
        return _rows(path, record, label)
    except KeyError as err:
        bench_error(f"{path}: not a views measurement (made by python -m reader.strips_eval "
                    f"or svhn_eval --json; it has no {err})")
    except (TypeError, AttributeError, ValueError) as err:
        bench_error(f"{path}: a malformed views measurement ({err})")


def _rows(path: Path, record: dict, label: str) -> list[str]:
    model = label or f"`{record['model']}`"
    views, one = record["views"], record["one_view"]
    lines = []
    for name, measures in views.items():
        single = one[name]
        if "sequence_accuracy" in measures:          # strips and house numbers
            figures = [("sequence", "sequence_accuracy"), ("per char", "per_char_accuracy")]
            if "coverage_at_98" in measures:
                figures = [("sequence", "sequence_accuracy"),
                           ("per digit", "char_accuracy_in_number"),
                           ("coverage at 98 %", "coverage_at_98")]
        else:                                        # single digits
            figures = [("accuracy", "accuracy")]
        cells = "; ".join(f"{label} {pct(single[key])} → **{pct(measures[key])}**"
                          for label, key in figures)
        where = name if name == record["split"] else f"{record['split']}: {name}"
        lines.append(f"| {model} | {where} ({measures['count']:,}) | {cells} "
                     f"| `{path.name}` |")
    return lines


def main(paths: list[str]) -> int:
    lines = ["| model | set (count) | one view → views | file |", "|---|---|---|---|"]
    for arg in paths:                       # every file read before anything is printed
        label, _, path = arg.rpartition("=")
        lines += rows(Path(path), label)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    parser = OneLineParser(prog="bench/views_table.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="[LABEL=]FILE")
    sys.exit(main(parser.parse_args().files))
