"""How well predict.py's search finds and reads numbers in whole Street View images.

    python bench/locate_svhn.py                           # models/svhn-numbers.npz, test_holdout

The shared data holds 1,111 of SVHN's full-size test images (PNGs, as
distributed). This runs reader.locate.find_number on those of ``--split``
(default ``test_holdout``, which no pooled-protocol model trained on; use a
literature-protocol model for the others) and prints, as bench/locate_scenes.py
does, the share found (IoU > 0.5 with the union of the digit boxes), the share
read exactly, and where the misses come from: the reader given a crop around
the true box, and the number being among the readings the search made.
Grouped by the number's width as a share of the image width. Writes ``--json``
(default docs/measurements/locate-svhn.json).
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measurement import bench_error, load_number_reader, save_measurement  # noqa: E402
from data.errors import DataError  # noqa: E402
from data.paths import dataset_dir  # noqa: E402
from data.svhn import split_names  # noqa: E402
from data.svhn_official import annotated_photos  # noqa: E402
from reader.cli import OneLineParser, run_command  # noqa: E402
from reader.locate import measure_search, summary_by_width, summary_line  # noqa: E402
from reader.svhn_data import WHOLE_PNGS  # noqa: E402


def main() -> int:
    p = OneLineParser(prog="bench/locate_svhn.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "svhn-numbers.npz")
    p.add_argument("--split", default="test_holdout", choices=["test_holdout", "test_pool"])
    p.add_argument("--data-dir")
    p.add_argument("--json", type=Path, default=ROOT / "docs" / "measurements" / "locate-svhn.json")
    p.add_argument("--no-second-look", dest="second_look", action="store_false",
                   help="stop at the chosen reading (the search before 2026-11-24's second look)")
    args = p.parse_args()
    model, meta = load_number_reader(args.model)
    try:
        svhn = dataset_dir("svhn", args.data_dir)
        wanted = set(split_names(args.split, args.data_dir))
        photos, truth, texts = [], [], []
        for tar in WHOLE_PNGS:
            for _, image, digits in annotated_photos(svhn / tar, svhn / "annotations.csv",
                                                     "test", wanted):
                H, W = image.shape[:2]
                boxes = np.array([box for _, box in digits])             # (L, 4) l, t, w, h
                left, top = boxes[:, :2].min(axis=0).clip(0)
                right = min(W, (boxes[:, 0] + boxes[:, 2]).max())
                bottom = min(H, (boxes[:, 1] + boxes[:, 3]).max())
                if len(digits) > 5:                 # the reader reads at most five digits
                    continue
                photos.append(image)
                truth.append((left, top, right, bottom))
                texts.append("".join(str(d) for d, _ in digits))
    except DataError as err:
        bench_error(str(err))
    truth = np.array(truth, np.float64)
    measures = measure_search(model, photos, truth, texts, meta["alphabet"], args.second_look)
    width = (truth[:, 2] - truth[:, 0]) / np.array([photo.shape[1] for photo in photos])
    results = summary_by_width(measures, width)
    for name, r in results.items():
        print(summary_line(name, r))
    save_measurement(args.json, {"model": str(args.model), "second_look": args.second_look,
                                 "split": args.split,
                                 "seconds_per_image": float(measures["seconds"].mean()),
                                 "results": results})
    return 0


if __name__ == "__main__":
    run_command("bench/locate_svhn.py", main)
