"""Read the photos in <data dir>/photos with a house-number model and count the exact readings.

    python bench/photos.py                                   # models/svhn-numbers.npz
    python bench/photos.py --model runs/X/model.npz --out runs/photos

Writes ``--json`` (default docs/measurements/photos.json): per photo the truth,
the reading, its confidence and the box found, and the total read exactly.
The photos with their boxes drawn go to ``--out`` (default runs/photos/),
which is not committed: the photos' SOURCE.md allows internal evaluation
only, not redistribution.
"""

import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measurement import bench_error, load_number_reader, save_measurement  # noqa: E402
from data.paths import resolve_data_dir  # noqa: E402
from reader.cli import OneLineParser, UserError, run_command  # noqa: E402
from reader.locate import draw_found, find_number  # noqa: E402
from reader.preprocess import open_rgb  # noqa: E402


def main() -> int:
    p = OneLineParser(prog="bench/photos.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "svhn-numbers.npz")
    p.add_argument("--data-dir")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "photos")
    p.add_argument("--json", type=Path, default=ROOT / "docs" / "measurements" / "photos.json")
    p.add_argument("--no-second-look", dest="second_look", action="store_false",
                   help="stop at the chosen reading (the search before 2026-11-24's second look)")
    args = p.parse_args()
    folder = resolve_data_dir(args.data_dir) / "photos"
    model, meta = load_number_reader(args.model)
    if not (folder / "labels.csv").is_file():
        bench_error(f"{folder / 'labels.csv'}: missing (the photos and their labels go there)")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(folder / "labels.csv", newline="") as f:
        labels = list(csv.DictReader(f))
    rows, start = [], time.perf_counter()
    for row in labels:
        try:
            photo = open_rgb(folder / row["filename"])
        except (UserError, KeyError) as err:
            bench_error(f"{folder / 'labels.csv'}: {err}")
        t = time.perf_counter()
        found = find_number(model, photo, meta["alphabet"], second_look=args.second_look)
        seconds = time.perf_counter() - t
        draw_found(photo, found, args.out / f"{Path(row['filename']).stem}.boxes.png")
        rows.append({"photo": row["filename"], "size": [photo.shape[1], photo.shape[0]],
                     "truth": row["number"], "read": found.number,
                     "confidence": round(found.confidence, 4),
                     "box": [round(v) for v in found.box], "exact": found.number == row["number"],
                     "seconds": round(seconds, 3)})
        print(f"{row['filename']}\t{row['number']}\t{found.number}\t{found.confidence:.3f}"
              f"\t{'ok' if rows[-1]['exact'] else 'WRONG'}")
    exact = sum(r["exact"] for r in rows)
    save_measurement(args.json, {"model": str(args.model), "second_look": args.second_look,
                                 "read_exactly": exact,
                                 "photos": len(rows),
                                 "seconds": round(time.perf_counter() - start, 2),
                                 "readings": rows})
    print(f"read exactly: {exact} of {len(rows)}")
    return 0


if __name__ == "__main__":
    run_command("bench/photos.py", main)
