"""The pictures and error tables of docs/strips.md.

    python -m reader.docfigures --run runs/mnist-strips-e16 --analyse models/mnist-strips.npz

writes docs/img/strip-layouts.png (the same test digits in both layouts and
after the model's left alignment), copies the run's curves, samples and
mistakes pictures next to it as docs/img/strips-<name>.png, and prints where
the model's errors on the test strips are (by position, length, confusion).
"""

import shutil
from pathlib import Path

import numpy as np

import nn
from data import make_strips
from data.errors import DataError
from reader.cli import OneLineParser, fail, run_command
from reader.evaluate import load_reader, read_strips
from reader.models import MAX_LENGTH, align_left
from reader.plots import strip_grid
from reader.tasks import TEST_SEED, fixed_strips, get_task, load_pools


def layouts_figure(data_dir: str | None, path: Path, count: int = 4) -> None:
    """The same numbers drawn in the canonical and the free layout, and the free ones aligned."""
    pool = load_pools(get_task("mnist-strips"), data_dir).test
    # Same seed for both layouts: make_strips draws lengths and characters first,
    # so both layouts show the same numbers made of the same digit images.
    canonical, labels = make_strips(pool.images, pool.labels, count,
                                    np.random.default_rng(7), "canonical")
    free, labels_free = make_strips(pool.images, pool.labels, count,
                                    np.random.default_rng(7), "free")
    assert np.array_equal(labels, labels_free)
    text = ["".join(str(c) for c in row if c != 10) for row in labels]
    strips = np.concatenate([canonical, free, align_left(free)])
    titles = ([f"canonical: {t}  labels {row.tolist()}" for t, row in zip(text, labels,
                                                                         strict=True)]
              + [f"free: {t}" for t in text]
              + [f"free, as the strip model sees it: {t}" for t in text])
    strip_grid(strips, titles, ["black"] * len(titles), path, columns=count)


def error_analysis(model_path: Path, data_dir: str | None, count: int = 10_000) -> None:
    """Print where a reader errs on the test strips: length, position, the commonest confusions."""
    model, meta = load_reader(model_path)
    task = get_task(meta["task"])
    blank = len(task.alphabet)
    pools = load_pools(task, data_dir)
    for layout, (strips, labels) in fixed_strips(pools.test, count, TEST_SEED).items():
        readings = read_strips(model, meta["kind"], strips, blank)
        read, confidence = readings.labels, readings.confidence
        wrong = np.any(read != labels, axis=1)
        length_wrong = (read != blank).sum(1) != (labels != blank).sum(1)
        print(f"{layout}: {wrong.sum()} of {count} strips wrong, {length_wrong.sum()} of them "
              f"with the wrong length")
        for i in range(MAX_LENGTH):
            has = (labels[:, i] != blank) & ~length_wrong
            print(f"  position {i + 1}: {np.mean(read[has, i] != labels[has, i]):.2%} of "
                  f"{has.sum()} characters misread")
        pairs = {}
        for t, p in zip(labels[~length_wrong].ravel(), read[~length_wrong].ravel(), strict=True):
            if t != p:
                pairs[(task.alphabet[t], task.alphabet[p])] = pairs.get((task.alphabet[t],
                                                                         task.alphabet[p]), 0) + 1
        common = sorted(pairs.items(), key=lambda kv: -kv[1])[:8]
        print("  commonest: " + ", ".join(f"{t} read {p} ({n})" for (t, p), n in common))
        for level in (0.5, 0.9, 0.99):
            sure = confidence >= level
            print(f"  confidence >= {level}: {sure.mean():.2%} of strips, "
                  f"{1 - wrong[sure].mean():.2%} of those right; "
                  f"{np.mean(confidence[wrong] < level):.0%} of the mistakes fall below")


PROG = "python -m reader.docfigures"


def main() -> None:
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--run", type=Path, help="run folder whose pictures to copy")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--analyse", type=Path, metavar="MODEL",
                        help="print where this model errs on the test strips")
    args = parser.parse_args()
    pictures = [args.run / f"{name}.png" for name in ("curves", "samples", "mistakes")
                ] if args.run is not None else []
    for picture in pictures:
        if not picture.is_file():
            fail(PROG, f"--run {args.run}: no {picture.name} (not a finished run folder)")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        layouts_figure(args.data_dir, args.out / "strip-layouts.png")
        for picture in pictures:
            shutil.copyfile(picture, args.out / f"strips-{picture.name}")
        if args.analyse is not None:
            error_analysis(args.analyse, args.data_dir)
    except (nn.ModelFileError, DataError) as err:
        fail(PROG, str(err))
    except OSError as err:
        fail(PROG, f"--out {args.out}: cannot write ({err.strerror or err})")


if __name__ == "__main__":
    run_command("python -m reader.docfigures", main)
