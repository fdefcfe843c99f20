"""Draw the SVHN figure of the docs: synthetic house numbers beside real SVHN crops.

    DIGITS_DATA=/path/to/data .venv/bin/python docs/make_svhn_figures.py

writes docs/img/svhn_synthetic_vs_real.png: 6 x 8 crops from
``data.housenumbers.HouseNumberGenerator.numbers`` (seed 2014, backgrounds cut
from the SVHN train images, as a reader's training would use them) beside
6 x 8 random crops of ``data.svhn.load_number_crops("train")`` (seed 0).  The
digit boxes are drawn, thinly, on the top row of each panel.
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
from data.svhn import NumberImages, load_number_crops  # noqa: E402

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


if __name__ == "__main__":
    main()
