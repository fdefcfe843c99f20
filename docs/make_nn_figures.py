"""Draw the figures of docs/nn.md.

    .venv/bin/python docs/make_nn_figures.py

writes docs/img/nn-im2col.png and docs/img/nn-same-padding.png. The numbers in
the im2col figure are computed here with a few lines of plain NumPy (the same
index formula as nn.kernels.im2col), so the script needs only NumPy and
matplotlib and does not compile the Numba kernels.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

OUT = Path(__file__).resolve().parent / "img"
COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]   # one per output position
GREY = "#DDDDDD"


def im2col(x, kh, kw, s, pt, pl, Ho, Wo):
    """cols[(c, i, j), (n, oh, ow)] = x[n, c, oh*s + i - pt, ow*s + j - pl], zero outside."""
    N, C, H, W = x.shape
    cols = np.zeros((C * kh * kw, N * Ho * Wo), x.dtype)
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                for n in range(N):
                    for oh in range(Ho):
                        for ow in range(Wo):
                            h, w = oh * s + i - pt, ow * s + j - pl
                            if 0 <= h < H and 0 <= w < W:
                                cols[(c * kh + i) * kw + j, (n * Ho + oh) * Wo + ow] = x[n, c, h, w]
    return cols


def col2im(dcols, shape, kh, kw, s, pt, pl, Ho, Wo):
    """The adjoint: add every column entry back to the pixel it was read from."""
    N, C, H, W = shape
    dx = np.zeros(shape, dcols.dtype)
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                for n in range(N):
                    for oh in range(Ho):
                        for ow in range(Wo):
                            h, w = oh * s + i - pt, ow * s + j - pl
                            if 0 <= h < H and 0 <= w < W:
                                dx[n, c, h, w] += dcols[(c * kh + i) * kw + j,
                                                        (n * Ho + oh) * Wo + ow]
    return dx


def grid(ax, values, x0=0.0, y0=0.0, colours=None, fmt="{:g}", size=13):
    """Draw a matrix of numbers with its top-left cell at (x0, y0); rows go down."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            face = "white" if colours is None else colours[r][c]
            ax.add_patch(Rectangle((x0 + c, y0 - r - 1), 1, 1, facecolor=face,
                                   edgecolor="black", linewidth=1))
            ax.text(x0 + c + 0.5, y0 - r - 0.5, fmt.format(values[r, c]),
                    ha="center", va="center", fontsize=size)


def figure_im2col() -> None:
    x = np.arange(1, 10, dtype=float).reshape(1, 1, 3, 3)
    kh = kw = 2
    Ho = Wo = 2
    cols = im2col(x, kh, kw, 1, 0, 0, Ho, Wo)            # (4, 4)
    W_mat = np.array([[1.0, 2.0, 3.0, 4.0]])             # (F=1, C·kh·kw=4)
    Y = W_mat @ cols                                      # (1, 4)
    counts = col2im(np.ones_like(cols), x.shape, kh, kw, 1, 0, 0, Ho, Wo)[0, 0]

    fig, ax = plt.subplots(figsize=(13, 4.6))
    ax.set_xlim(-0.6, 24.2)
    ax.set_ylim(-6.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")

    # (a) the input with the four receptive fields
    grid(ax, x[0, 0], 0, 0)
    offsets = [(-0.08, 0.08), (0.08, 0.08), (-0.08, -0.08), (0.08, -0.08)]
    for p, (oh, ow) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        dx, dy = offsets[p]
        ax.add_patch(Rectangle((ow + 0.06 + dx, -oh - 2 + 0.06 + dy), 1.88, 1.88,
                               fill=False, edgecolor=COLOURS[p], linewidth=3))
    ax.text(1.5, 0.9, "x  (H = W = 3)", ha="center", fontsize=13)
    ax.text(1.5, -3.7, "four 2×2 receptive fields,\none per output pixel (oh, ow)",
            ha="center", va="top", fontsize=11)

    # (b) X_col: one column per receptive field
    bx = 5.6
    colours = [[COLOURS[c] + "55" for c in range(4)] for _ in range(4)]
    grid(ax, cols, bx, 0, colours)
    for r, label in enumerate(["(0,0,0)", "(0,0,1)", "(0,1,0)", "(0,1,1)"]):
        ax.text(bx - 0.15, -r - 0.5, label, ha="right", va="center", fontsize=9)
    for c, label in enumerate(["(0,0,0)", "(0,0,1)", "(0,1,0)", "(0,1,1)"]):
        ax.text(bx + c + 0.5, 0.15, label, ha="center", va="bottom", fontsize=8, rotation=30)
    ax.text(bx + 2, 1.15, "X_col   (C·kh·kw) × (N·Ho·Wo)", ha="center", fontsize=12)
    ax.text(bx - 1.9, -4.55, "rows (c, i, j),  columns (n, oh, ow)",
            ha="left", va="top", fontsize=10)

    # (c) W_mat · X_col = Y
    cx = 11.3
    grid(ax, W_mat, cx, 0)
    ax.text(cx + 2, 0.9, "W_mat  (F × C·kh·kw)", ha="center", fontsize=12)
    ax.text(cx + 4.3, -0.5, "·  X_col  =  Y", ha="left", va="center", fontsize=13)
    ax.text(cx + 2, -1.85, "Y  (F × N·Ho·Wo)", ha="center", fontsize=12)
    grid(ax, Y, cx, -2.2, [[COLOURS[c] + "55" for c in range(4)]])
    ax.annotate("", xy=(cx + 2, -4.2), xytext=(cx + 2, -3.4),
                arrowprops={"arrowstyle": "->", "lw": 1.5})
    ax.text(cx + 2.25, -3.8, "reshape to (N, F, Ho, Wo)", ha="left", va="center", fontsize=10)
    grid(ax, Y.reshape(2, 2), cx + 1, -4.35, [[COLOURS[0] + "55", COLOURS[1] + "55"],
                                             [COLOURS[2] + "55", COLOURS[3] + "55"]])

    # (d) col2im of a matrix of ones counts how often each pixel was read
    dxo = 20.4
    grid(ax, counts, dxo, 0)
    ax.text(dxo + 1.5, 0.9, "col2im(ones)", ha="center", fontsize=13)
    ax.text(dxo + 1.5, -3.7, "how many columns read\neach pixel: the adjoint\n"
            "adds every copy back", ha="center", va="top", fontsize=11)

    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "nn-im2col.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def padding_panel(ax, H, k, title) -> None:
    """One axis of "same" padding: an H x H input, a k x k kernel, stride 1."""
    out = H                                            # ceil(H / 1)
    total = max((out - 1) + k - H, 0)
    before, after = total // 2, total - total // 2
    size = H + total
    for r in range(size):
        for c in range(size):
            inside = before <= r < before + H and before <= c < before + H
            ax.add_patch(Rectangle((c, -r - 1), 1, 1, facecolor="white" if inside else GREY,
                                   edgecolor="black" if inside else "#999999", linewidth=0.8))
            if not inside:
                ax.text(c + 0.5, -r - 0.5, "0", ha="center", va="center",
                        fontsize=9, color="#777777")
    # first and last window
    ax.add_patch(Rectangle((0.06, -k + 0.06), k - 0.12, k - 0.12, fill=False,
                           edgecolor=COLOURS[0], linewidth=3))
    last = out - 1
    ax.add_patch(Rectangle((last + 0.06, -last - k + 0.06), k - 0.12, k - 0.12, fill=False,
                           edgecolor=COLOURS[3], linewidth=3))
    ax.set_xlim(-0.3, size + 0.3)
    ax.set_ylim(-size - 1.6, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=12)
    ax.text(size / 2, -size - 0.5,
            f"padding {total}: {before} before (top/left), {after} after (bottom/right)",
            ha="center", va="top", fontsize=10)


def figure_same_padding() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.4))
    padding_panel(axes[0], 5, 3, "k = 3, H = 5:  Ho = 5")
    padding_panel(axes[1], 5, 4, "k = 4, H = 5:  Ho = 5")
    fig.suptitle('"same" padding, stride 1: first window (blue) and last window (red)',
                 fontsize=12)
    fig.savefig(OUT / "nn-same-padding.png", dpi=110, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    figure_im2col()
    figure_same_padding()
    print("wrote", *sorted(p.name for p in OUT.glob("nn-*.png")))
