"""Draw the SVHN figures of the docs: synthetic house numbers beside real SVHN crops,
and the jittered cuts of real training digits.

    DIGITS_DATA=/path/to/data .venv/bin/python docs/make_svhn_figures.py

writes docs/img/svhn_synthetic_vs_real.png: 6 x 8 crops from
``data.housenumbers.HouseNumberGenerator.numbers`` (seed 2014, backgrounds cut
from the SVHN train images, as a reader's training would use them) beside
6 x 8 random crops of ``data.svhn.load_number_crops("train")`` (seed 0).  The
digit boxes are drawn, thinly, on the top row of each panel.

It also writes docs/img/svhn_digit_cuts.png: eight digits of the train crops
(seed 3), each as ``data.svhn.digit_crops`` cuts it (the left column, as the
test digits are cut) and seven times as ``jittered_digit_crops`` cuts it for
``train.py --task svhn-digits --cuts 8`` (seed 4).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from data.housenumbers import (  # noqa: E402
    HouseNumberGenerator,
    background_patches,
    train_backgrounds,
)
from data.svhn import (  # noqa: E402
    NumberImages,
    digit_crops,
    jittered_digit_crops,
    load_number_crops,
)

OUT = Path(__file__).resolve().parent / "img"
ROWS, COLS, GAP, SIZE = 6, 8, 2, 64


def mosaic(images: np.ndarray) -> np.ndarray:
    """ROWS x COLS images of SIZE x SIZE in one white-gapped picture."""
    step = SIZE + GAP
    out = np.full((ROWS * step - GAP, COLS * step - GAP, 3), 255, np.uint8)
    for k, image in enumerate(images[:ROWS * COLS]):
        r, c = divmod(k, COLS)
        out[r * step:r * step + SIZE, c * step:c * step + SIZE] = image
    return out


def panel(ax, numbers: NumberImages, title: str) -> None:
    ax.imshow(mosaic(numbers.images), interpolation="nearest")
    lengths = numbers.lengths()
    for k in range(COLS):                                  # the boxes on the top row
        for left, top, width, height in numbers.boxes[k, :lengths[k]]:
            x, y = (k % COLS) * (SIZE + GAP) + left - 0.5, top - 0.5
            ax.add_patch(Rectangle((x, y), width, height, fill=False, lw=0.6, ec="#ff3030"))
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()


def main() -> None:
    real = load_number_crops("train")
    pick = np.random.default_rng(0).choice(len(real), ROWS * COLS, replace=False)
    patches = np.concatenate([train_backgrounds(size=32, per_image=8,
                                                rng=np.random.default_rng(1)),
                              background_patches(real, 32, 2000, np.random.default_rng(2))])
    synthetic = HouseNumberGenerator(backgrounds=patches).numbers(
        ROWS * COLS, np.random.default_rng(2014))
    fig, axes = plt.subplots(1, 2, figsize=(12.4, 4.9), dpi=130)
    panel(axes[0], synthetic, "synthetic (data.housenumbers)")
    panel(axes[1], real.subset(pick), "real SVHN train crops")
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    path = OUT / "svhn_synthetic_vs_real.png"
    fig.savefig(path)
    print(f"wrote {path}")
    digit_cuts(real)


def digit_cuts(real: NumberImages, digits: int = 8, copies: int = 7, size: int = 32) -> None:
    """One row per digit: its fixed cut, then ``copies`` jittered ones."""
    fixed, _ = digit_crops(real)
    jittered, _ = jittered_digit_crops(real, copies, np.random.default_rng(4))
    jittered = jittered.reshape(copies, len(fixed), size, size, 3)
    step = size + GAP
    out = np.full((digits * step - GAP, (copies + 1) * step + GAP, 3), 255, np.uint8)
    for r, k in enumerate(np.random.default_rng(3).choice(len(fixed), digits, replace=False)):
        for c, image in enumerate([fixed[k], *jittered[:, k]]):
            x = c * step + (2 * GAP if c else 0)           # a wider gap after the fixed cut
            out[r * step:r * step + size, x:x + size] = image
    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=130)
    ax.imshow(out, interpolation="nearest")
    ax.set_title("a training digit as the test digits are cut (left), then 7 jittered cuts",
                 fontsize=8)
    ax.set_axis_off()
    fig.tight_layout()
    path = OUT / "svhn_digit_cuts.png"
    fig.savefig(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
