"""Render photo-search measurements as the tables docs/results.md quotes.

    python bench/search_table.py docs/measurements/locate-svhn.json
    python bench/search_table.py --compare docs/measurements/locate-scenes-seed777-*.json

Each file is what bench/locate_svhn.py or bench/locate_scenes.py wrote with
``--json``. Without ``--compare``: one markdown row per group of one file (all
images, then by the number's width). With it: one row per file, its label
``LABEL=FILE`` or the file's name, the figures over all images. Shares are
printed as measured (one decimal of a percentage, three of an IoU); nothing
is typed by hand.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measurement import bench_error, read_record  # noqa: E402
from reader.cli import OneLineParser  # noqa: E402

HEADER = ("| {first} | images | mean IoU of the found box | found (IoU > 0.5) | read exactly "
          "| read from the true box | among the search's readings |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
GROUPS = {"all": "all", "width < 25 %": "< 25 %", "width 25-50 %": "25–50 %",
          "width >= 50 %": "≥ 50 %"}


def row(name: str, r: dict) -> str:
    shares = [r["found_iou_over_0.5"], r["read_exactly"], r["read_from_true_box"],
              r["among_search_readings"]]
    return (f"| {name} | {r['count']} | {r['mean_iou']:.3f} | "
            + " | ".join(f"{100 * v:.1f} %" for v in shares) + " |")


MEASURES = ("count", "mean_iou", "found_iou_over_0.5", "read_exactly", "read_from_true_box",
            "among_search_readings")


def results_of(path: Path) -> dict:
    """The ``results`` of a search measurement, or one line saying the file is another kind."""
    results = read_record(path).get("results")
    if not isinstance(results, dict) or "all" not in results or not set(results) <= set(GROUPS) \
            or not all(isinstance(r, dict) and set(MEASURES) <= set(r) for r in results.values()):
        bench_error(f"{path}: not a search measurement (made by bench/locate_svhn.py or "
                    "bench/locate_scenes.py)")
    return results


def by_width(path: Path) -> str:
    results = results_of(path)
    return "\n".join([HEADER.format(first="number width / image width")]
                     + [row(GROUPS[k], r) for k, r in results.items()])


def compare(args: list[str]) -> str:
    lines = [HEADER.format(first="search")]
    for arg in args:
        label, _, file = arg.rpartition("=")
        path = Path(file)
        lines.append(row(label or path.stem, results_of(path)["all"]))
    return "\n".join(lines)


if __name__ == "__main__":
    parser = OneLineParser(prog="bench/search_table.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE", help="LABEL=FILE with --compare")
    parser.add_argument("--compare", action="store_true",
                        help="one row per file, the figures over all images")
    args = parser.parse_args()
    if args.compare:
        print(compare(args.files))
    else:
        print("\n\n".join(by_width(Path(a)) for a in args.files))
