"""Hard negatives: views with no whole number that a house-number reader reads surely.

    python -m reader.hard_negatives --model models/svhn-numbers.npz --out runs/hard-negatives.npz
    python train.py --task svhn-numbers --negatives 0.125 --hard-negatives runs/hard-negatives.npz

A reader trained with ``--negatives`` has seen random windows with no number
(reader.svhn_data.empty_windows). Most of those are easy: blurred wall. The
windows that cost the photo search (reader.locate) its answers are those it
reads confidently although they hold no whole number: a railing read as "1",
a leaf read as "7", and a part of the number read as if it were all of it
("10" of "1110"; the reader learned to ignore characters at the edges of its
crops). This is the bootstrapping of classic detectors (Sung and Poggio 1998;
Dalal and Triggs 2005): run the search on images whose digits are known and
keep every view it read at least ``--min-confidence`` surely (P(number) P(L)
Π P(s_i)) that is

* **empty**: its window touches no digit box (grown by 1 px), or
* **partial**: it cuts the number (some digit box less than half inside) and
  its reading is not the number,

at most ``--per-image`` of each kind per image, skipping views whose window
overlaps one already kept by more than half (a zoom that stops moving
repeats its view). ``train.py --hard-negatives FILE`` adds them to the empty
windows it trains on: the presence head learns to say "no number" for them,
which training crops and scenes, always holding the whole number, agree with.

The images are the whole PNGs a protocol may train on (train split; and
``test_pool`` for the pooled protocol; never ``test_holdout``) and
``--scenes`` synthetic scenes with a seed of their own. The file records its
protocol, and train.py refuses it for a run of the other protocol.
"""

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

import nn
from data import DataError
from data.housenumbers import HouseNumberGenerator, touching, train_backgrounds
from data.strips import BLANK
from data.svhn import corners
from nn.serialize import atomic_savez
from reader.cli import OneLineParser, fail, output_file, probability, run_command, whole_number
from reader.evaluate import load_reader
from reader.locate import find_number
from reader.photo_crops import pad_photo
from reader.progress import announce
from reader.svhn_data import PROTOCOLS, whole_training_pngs
from reader.svhn_models import NUMBER_INPUT, PRESENCE_HEAD, box_iou, share_inside

PROG = "python -m reader.hard_negatives"
SCENE_SEED = 5151               # training uses [seed, ...] with small seeds; benches use 4242
MIN_CONFIDENCE = 0.2
PER_IMAGE = 12


def inside(window: np.ndarray, digit_boxes: np.ndarray) -> np.ndarray:
    """The share of each digit box (left, top, width, height) that lies inside a window
    (left, top, right, bottom): (L,) from 0 to 1."""
    b = np.asarray(digit_boxes, np.float64).reshape(-1, 4)
    return share_inside(corners(b), window)


def mine_image(model: nn.Model, image: np.ndarray, digit_boxes: np.ndarray, number: str,
               min_confidence: float = MIN_CONFIDENCE, per_image: int = PER_IMAGE
               ) -> dict[str, list[np.ndarray]]:
    """The search's confident views of ``image`` (H, W, 3) that hold no whole number,
    surest first: {"empty": [...], "partial": [...]}, each view (54, 54, 3) uint8.

    ``empty`` views touch no digit box; ``partial`` views cut the number (some
    digit less than half inside) and read something other than ``number``.
    """
    # the start windows and their zooms, as when the shipped hard negatives were mined
    found = find_number(model, image, keep_views=True, second_look=False)
    _, px, py = pad_photo(image)
    offset = np.array([px, py, px, py], np.float64)
    kept: dict[str, list[np.ndarray]] = {"empty": [], "partial": []}
    kept_windows: list[np.ndarray] = []
    for c in sorted(found.tried, key=lambda c: -c.confidence):
        if c.confidence < min_confidence:
            break
        window = np.array(c.window, np.float64) - offset            # photo pixels
        if not touching(window, digit_boxes)[0]:
            kind = "empty"
        elif inside(window, digit_boxes).min() < 0.5 and c.text != number:
            kind = "partial"
        else:
            continue
        if len(kept[kind]) == per_image or (
                kept_windows and (box_iou(np.array(kept_windows), window) > 0.5).any()):
            continue
        kept[kind].append(c.view)
        kept_windows.append(window)
    return kept


Source = Iterator[tuple[np.ndarray, np.ndarray, str]]     # (image, digit boxes (L, 4), number)


def whole_images(protocol: str, data_dir: str | None) -> Source:
    """Every whole PNG ``protocol`` may train on, with its digit boxes and number."""
    for image, digits in whole_training_pngs(protocol, data_dir):
        yield image, np.array([box for _, box in digits]), "".join(str(d) for d, _ in digits)


def announced(source: Source, line: str) -> Source:
    """``source``, saying ``line`` on stderr when its first item is ready."""
    for k, item in enumerate(source):
        if k == 0:
            announce(line)
        yield item


def synthetic_scenes(count: int, size: int, data_dir: str | None) -> Source:
    """``count`` synthetic scenes, size x size, with their digit boxes and numbers."""
    rng = np.random.default_rng(SCENE_SEED)
    drawn = HouseNumberGenerator(train_backgrounds(data_dir, rng=rng)).scenes(count, rng, size)
    for image, boxes, labels in zip(drawn.images, drawn.boxes, drawn.labels, strict=True):
        digits = labels[labels != BLANK]
        yield image, boxes[:len(digits)], "".join(str(d) for d in digits)


def mine(model: nn.Model, images: Iterable[tuple[np.ndarray, np.ndarray, str]],
         min_confidence: float = MIN_CONFIDENCE, per_image: int = PER_IMAGE,
         report: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """Hard negatives of all ``images``: {"empty": (K, 54, 54, 3), "partial": (K', ...)}."""
    views: dict[str, list[np.ndarray]] = {"empty": [], "partial": []}
    for n, (image, boxes, number) in enumerate(images, 1):
        for kind, kept in mine_image(model, image, boxes, number, min_confidence,
                                     per_image).items():
            views[kind] += kept
        if report is not None and n % 100 == 0:
            report(f"{n} images: {len(views['empty'])} empty, {len(views['partial'])} partial")
    return {kind: np.stack(v) if v else np.zeros((0, NUMBER_INPUT, NUMBER_INPUT, 3), np.uint8)
            for kind, v in views.items()}


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a house-number reader with a presence head")
    p.add_argument("--out", type=output_file, required=True, help="the .npz to write")
    p.add_argument("--protocol", choices=PROTOCOLS, default="pooled",
                   help="which whole images may be searched (default pooled)")
    p.add_argument("--images", type=whole_number(0), metavar="N",
                   help="search only the first N whole images (default all; about a second "
                        "each)")
    p.add_argument("--scenes", type=whole_number(0), default=1000,
                   help="synthetic scenes to search as well (default 1000)")
    p.add_argument("--scene-size", type=whole_number(64), default=256,
                   help="their side in pixels (default 256)")
    p.add_argument("--min-confidence", type=probability, default=MIN_CONFIDENCE,
                   help=f"keep views read at least this surely (default {MIN_CONFIDENCE})")
    p.add_argument("--per-image", type=whole_number(1), default=PER_IMAGE,
                   help=f"at most this many views of each kind per image (default {PER_IMAGE})")
    p.add_argument("--data-dir")
    args = p.parse_args(argv)
    try:
        model, meta = load_reader(args.model)
    except nn.ModelFileError as err:
        fail(PROG, str(err))
    if meta["kind"] != "number":
        fail(PROG, f"--model {args.model}: a {meta['kind']} reader; this needs a house-number one")
    if len(model.heads) <= PRESENCE_HEAD:
        fail(PROG, f"--model {args.model}: has no presence head (train it with --negatives); "
                   "without one every empty window reads as a number")
    start = time.perf_counter()

    def report(line: str) -> None:
        print(f"{line} ({time.perf_counter() - start:.0f} s)", flush=True)
    try:
        # said once the first image is read, so that missing data stays a one-line error
        images = announced(itertools.islice(whole_images(args.protocol, args.data_dir),
                                            args.images),
                           f"searching the whole training images of the {args.protocol} "
                           f"protocol, then {args.scenes:,} synthetic scenes (about a second "
                           "each; a line every 100 images)")
        found = {"whole_images": mine(model, images,
                                      args.min_confidence, args.per_image, report),
                 "scenes": mine(model, synthetic_scenes(args.scenes, args.scene_size,
                                                        args.data_dir),
                                args.min_confidence, args.per_image, report)}
    except DataError as err:
        fail(PROG, str(err))
    counts = {f"{kind}_from_{source}": len(views)
              for source, by_kind in found.items() for kind, views in by_kind.items()}
    report(", ".join(f"{name} {n}" for name, n in counts.items()))
    windows = np.concatenate([v for by_kind in found.values() for v in by_kind.values()])
    metadata = {"protocol": args.protocol, "model": str(args.model), **counts,
                "images": args.images, "scenes": args.scenes, "scene_size": args.scene_size,
                "scene_seed": SCENE_SEED,
                "min_confidence": args.min_confidence, "per_image": args.per_image,
                "command": " ".join([PROG, *(sys.argv[1:] if argv is None else argv)])}
    try:
        atomic_savez(args.out, {"windows": windows, "metadata": np.array(json.dumps(metadata))})
    except OSError as err:
        fail(PROG, f"--out {args.out}: cannot write ({err.strerror or err})")
    print(f"wrote {args.out}: {len(windows)} windows")
    return 0


if __name__ == "__main__":
    run_command(PROG, main)
