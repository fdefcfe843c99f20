"""Read the number in each image with a trained reader.

    python predict.py strip.png photo.jpg
    python predict.py --model runs/my-run/model.npz --json *.png

prints one line per image, ``path<TAB>number<TAB>confidence``, where the
confidence is the probability the model gives the whole reading (its length
and every character). ``--json`` prints a JSON list of
{"path", "number", "confidence"} objects instead. Images of any size and format
Pillow reads are converted to the model's input (reader/preprocess.py); the
model file's metadata says what input that is.

A file that cannot be read gets one line on stderr and makes the exit status
2; the other images are still read.
"""

import json
import sys
from pathlib import Path

import numpy as np

import nn
from reader.cli import OneLineParser, UserError, fail
from reader.decode import to_text
from reader.evaluate import load_reader, read_strips
from reader.preprocess import load_strip

PROG = "predict.py"
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "mnist-strips.npz"


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                   help="model file written by train.py (default models/mnist-strips.npz)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of lines")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to read")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)

    try:
        model, meta = load_reader(args.model)
    except nn.ModelFileError as err:
        fail(PROG, f"--model {err}")
    height, width = meta["input"]["height"], meta["input"]["width"]
    alphabet, blank = meta["alphabet"], meta["blank"]

    strips, paths, failed = [], [], False
    for path in args.images:
        try:
            strips.append(load_strip(path, height, width))          # (28, 140) uint8
            paths.append(path)
        except UserError as err:
            sys.stderr.write(f"{PROG}: error: {err}\n")
            failed = True
    results = []
    if strips:
        readings = read_strips(model, meta["kind"], np.stack(strips), blank)
        for path, labels, confidence in zip(paths, readings.labels, readings.confidence,
                                            strict=True):
            results.append({"path": path, "number": to_text(labels, alphabet, blank),
                            "confidence": round(float(confidence), 6)})
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            print(f"{r['path']}\t{r['number']}\t{r['confidence']:.4f}")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
