"""Read the number in each image with a trained reader.

    python predict.py photo.jpg door.png
    python predict.py --boxes found/ --min-confidence 0.5 *.jpg
    python predict.py --model models/mnist-strips.npz --json strip.png

prints one line per image, ``path<TAB>number<TAB>confidence``, where the
confidence is the probability the model gives the whole reading: for strip
models of its length and every character, from probabilities averaged over
nine views a pixel or two apart; for house-number models the same product from
the view of the photo the search chose, times the probability that a number is
there at all; for a single-digit model the digit's probability, averaged over
five views. ``--json``
prints a JSON list of {"path", "number", "confidence", ...} objects instead
(house-number models add the found "box", left, top, right, bottom in pixels
of the image as displayed, after its EXIF rotation).

The default model, models/svhn-numbers.npz, reads house numbers in colour
photos of any size (a JPEG over 40 megapixels, such as a phone's 48-200 MP
photo, is decoded at a half, a quarter or an eighth of its size): it searches the
photo for the number, crops it as its training crops were made and reads it
(reader/locate.py); ``--boxes OUT`` saves
each photo with the box it found and the reading drawn on it, as OUT itself
when OUT is one .png or .jpg file, else as OUT/NAME.boxes.png for the image
NAME.jpg (NAME-2.boxes.png for a second image called NAME). A strip model
(models/mnist-strips.npz) reads 28 x 140 white-on-black strips and converts
other images to that (reader/preprocess.py). The model file's metadata says
which kind it is and what input it takes.

With ``--min-confidence P`` a reading less sure than P is withheld: the
number is printed as "?" (JSON: null, with the withheld reading beside it).
The readers have five places for characters: a longer number is read as five
of its characters, with no warning, so a reading of five may be a part.

A file that cannot be read gets one line on stderr and makes the exit status
2; the other images are still read (with ``--json`` it has an entry of its own,
{"path", "error"}).
"""

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import nn
from reader.cli import OneLineParser, UserError, fail, probability, run_command
from reader.decode import to_text
from reader.evaluate import load_reader, read_strips
from reader.preprocess import is_flat, load_strip, open_photo

PROG = "predict.py"
MODELS = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS / "svhn-numbers.npz"


PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")     # --boxes names a file, not a folder


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                   help="model file written by train.py (default models/svhn-numbers.npz)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of lines")
    p.add_argument("--min-confidence", type=probability, default=0.0, metavar="P",
                   help="withhold readings less sure than P (printed as '?'); default 0")
    p.add_argument("--boxes", type=Path, metavar="OUT",
                   help="house-number models: save each photo with the found box drawn; "
                        "OUT is a .png or .jpg file for one image, else a folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to read")
    return p.parse_args(argv)


def box_path(out: Path, image: str, used: set[Path]) -> Path:
    """Where --boxes OUT puts the picture of ``image``: OUT itself if it names a
    picture file, else a file in the folder OUT named after the image and not in
    ``used`` (two images a/door.jpg and b/door.jpg: door.boxes.png, door-2.boxes.png)."""
    if out.suffix.lower() in PICTURE_SUFFIXES:
        return out
    stem = Path(image).stem
    target, k = out / f"{stem}.boxes.png", 2
    while target in used:
        target, k = out / f"{stem}-{k}.boxes.png", k + 1
    used.add(target)
    return target


def unreadable(path: str, err: UserError) -> dict:
    """Say on stderr that ``path`` cannot be read; its entry in the results."""
    sys.stderr.write(f"{PROG}: error: {err}\n")
    return {"path": path, "error": str(err)}


def read_photos(model: nn.Model, meta: dict, paths: list[str], boxes: Path | None,
                min_confidence: float = 0.0) -> Iterator[dict]:
    """House-number and digit models: read each colour photo on its own, and give
    its result as soon as it is read (a search takes about a second)."""
    from reader.locate import draw_found, find_number
    used = set()
    for path in paths:
        try:
            photo, (width, height) = open_photo(path)
            if is_flat(photo):
                raise UserError(f"{path}: nothing to read (the image is one flat colour)")
        except UserError as err:
            yield unreadable(path, err)
            continue
        if meta["kind"] == "digit":          # the whole image is the digit, as svhn_eval reads it
            from reader.photo_crops import squash
            from reader.svhn_models import DIGIT_INPUT
            from reader.svhn_read import mean_digit_probabilities
            digit = squash(photo, (0, 0, photo.shape[1], photo.shape[0]), DIGIT_INPUT)
            p = mean_digit_probabilities(model, digit[None])[0]                # (10,)
            yield {"path": path, "number": meta["alphabet"][int(p.argmax())],
                   "confidence": round(float(p.max()), 6)}
            continue
        found = find_number(model, photo, meta["alphabet"])
        # the box in the pixels of the image in full (a JPEG may have been read smaller)
        scale = np.tile([width / photo.shape[1], height / photo.shape[0]], 2)
        box = np.clip(np.array(found.box) * scale, 0, [width, height, width, height])
        result = {"path": path, "number": found.number,
                  "confidence": round(found.confidence, 6),
                  "box": [round(float(v), 1) for v in box]}
        if boxes is not None:
            target = box_path(boxes, path, used)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                draw_found(photo, found, target,
                           withheld=found.confidence < min_confidence)
            except OSError as err:
                fail(PROG, f"--boxes {target}: cannot write ({err.strerror or err})")
            result["boxes_image"] = str(target)
        yield result


def read_strip_images(model: nn.Model, meta: dict, paths: list[str]) -> list[dict]:
    """Strip models: every image becomes a 28 x 140 strip; all are read in one batch."""
    height, width = meta["input"]["height"], meta["input"]["width"]
    alphabet, blank = meta["alphabet"], meta["blank"]
    results, strips = [], []
    for path in paths:
        try:
            strips.append(load_strip(path, height, width))          # (28, 140) uint8
            results.append({"path": path})
        except UserError as err:
            results.append(unreadable(path, err))
    if strips:
        readings = read_strips(model, meta["kind"], np.stack(strips), blank)
        read = [r for r in results if "error" not in r]
        for result, labels, confidence in zip(read, readings.labels, readings.confidence,
                                              strict=True):
            result.update(number=to_text(labels, alphabet, blank),
                          confidence=round(float(confidence), 6))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        model, meta = load_reader(args.model)
    except nn.ModelFileError as err:
        fail(PROG, f"--model {err}")
    if meta["kind"] == "digit" and args.boxes is not None:
        fail(PROG, f"--boxes: {args.model} is a single-digit classifier, which does not "
                   "locate numbers")
    if meta["kind"] in ("number", "digit"):
        if args.boxes is not None and args.boxes.suffix.lower() in PICTURE_SUFFIXES \
                and len(args.images) > 1:
            fail(PROG, f"--boxes {args.boxes}: one picture file holds one image's boxes; "
                       f"give a folder for {len(args.images)} images")
        if args.boxes is not None and args.boxes.suffix.lower() not in PICTURE_SUFFIXES \
                and args.boxes.exists() and not args.boxes.is_dir():
            fail(PROG, f"--boxes {args.boxes}: is a file, not a folder (give a folder, or a "
                       ".png or .jpg name for one image)")
        readings = read_photos(model, meta, args.images, args.boxes, args.min_confidence)
    else:
        if args.boxes is not None:
            fail(PROG, f"--boxes: {args.model} is a strip reader, which does not locate numbers")
        readings = read_strip_images(model, meta, args.images)
    results = []                # unreadable images were named on stderr as they came
    for r in readings:
        if "error" not in r and r["confidence"] < args.min_confidence:
            r["withheld"], r["number"] = r["number"], None
        if "error" not in r and not args.json:          # each line as soon as it is read
            number = "?" if r["number"] is None else r["number"]
            print(f"{r['path']}\t{number}\t{r['confidence']:.4f}", flush=True)
        results.append(r)
    if args.json:
        print(json.dumps(results, indent=1))
    read = [r for r in results if "error" not in r]
    return 2 if len(read) < len(results) else 0


if __name__ == "__main__":
    run_command(PROG, main)
