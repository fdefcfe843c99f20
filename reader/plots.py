"""Pictures of a run: training curves, sample strips with readings, the worst mistakes.

Everything is drawn with matplotlib's Agg backend (no display needed) and
written as PNG.
"""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from reader.decode import to_text  # noqa: E402

# One evaluated test set: (layout, strips (N, 28, 140), labels (N, 5), Readings)
Evaluated = tuple[str, np.ndarray, np.ndarray, object]


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average over ``window`` steps (shorter at the start)."""
    v = np.asarray(values, np.float64)
    if len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    lo = np.maximum(np.arange(1, len(v) + 1) - window, 0)
    return (c[1:] - c[lo]) / (np.arange(1, len(v) + 1) - lo)


def training_curves(losses: Sequence[float], accuracies: Sequence[float],
                    validation: list[dict], steps_per_epoch: int, path: Path,
                    keys: Sequence[str] = ("canonical_sequence", "free_sequence")) -> None:
    """Loss and accuracy against the step, with validation accuracy after each epoch."""
    window = max(1, min(100, len(losses) // 10))
    steps = np.arange(1, len(losses) + 1)
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax_loss.plot(steps, smooth(losses, window), lw=1)
    ax_loss.set(xlabel="step", ylabel="training loss (sum over heads)", yscale="log",
                title=f"loss, moving average over {window} steps")
    ax_err.plot(steps, 100 * (1 - smooth(accuracies, window)), lw=1, label="training batches")
    for key, style in zip(keys, ("o-", "s-", "^-", "d-"), strict=False):
        points = [(v["step"], 100 * (1 - v[key])) for v in validation if key in v]
        if points:
            xs, ys = zip(*points, strict=True)
            ax_err.plot(xs, ys, style, ms=4, label=f"validation, {key.replace('_', ' ')}")
    ax_err.set(xlabel="step", ylabel="sequence error (%)", yscale="log",
               title="numbers read wrong")
    ax_err.legend(fontsize=8)
    for ax in (ax_loss, ax_err):
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def strip_grid(strips: np.ndarray, titles: list[str], colors: list[str], path: Path,
               columns: int = 3, suptitle: str | None = None,
               cell: tuple[float, float] = (3.4, 1.25)) -> None:
    """Draw images in a grid, each with a title: grey strips (n, 28, 140) or colour (n, h, w, 3).

    ``cell`` is the (width, height) in inches of one picture with its title.
    """
    n = len(strips)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(cell[0] * columns, cell[1] * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, strip, title, color in zip(axes.ravel(), strips, titles, colors, strict=False):
        ax.imshow(strip, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=8, color=color)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _caption(label: np.ndarray, reading: np.ndarray, confidence: float, alphabet: str,
             layout: str, two_lines: bool = False) -> tuple[str, str]:
    blank = len(alphabet)
    truth, read = to_text(label, alphabet, blank), to_text(reading, alphabet, blank)
    ok = np.array_equal(label, reading)
    text = f"{layout}: {truth} read {read} ({confidence:.2f})"
    if two_lines:                                   # under small square pictures
        text = f"{layout}: {truth}\nread {read} ({confidence:.2f})"
    return text, "black" if ok else "red"


def sample_readings(sets: list[Evaluated], alphabet: str, path: Path, per_set: int = 6,
                    **grid) -> None:
    """The first strips of each test set with what the model read (red when wrong)."""
    strips, titles, colors = [], [], []
    for layout, images, labels, readings in sets:
        for i in range(min(per_set, len(images))):
            title, color = _caption(labels[i], readings.labels[i], readings.confidence[i],
                                    alphabet, layout, "cell" in grid)
            strips.append(images[i])
            titles.append(title)
            colors.append(color)
    strip_grid(np.array(strips), titles, colors, path,
               suptitle="test images: truth, reading (confidence)", **grid)


def worst_mistakes(sets: list[Evaluated], alphabet: str, path: Path, count: int = 12,
                   **grid) -> None:
    """The wrong readings the model was surest of, over all test sets."""
    wrong = []
    for layout, images, labels, readings in sets:
        for i in np.flatnonzero(np.any(readings.labels != labels, axis=1)):
            wrong.append((readings.confidence[i], layout, images[i], labels[i],
                          readings.labels[i]))
    wrong.sort(key=lambda w: -w[0])
    if not wrong:
        strip_grid(np.zeros((1, 28, 140), np.uint8), ["no mistakes"], ["black"], path, 1)
        return
    chosen = wrong[:count]
    titles, colors = zip(*(_caption(lab, read, conf, alphabet, layout, "cell" in grid)
                           for conf, layout, _, lab, read in chosen), strict=True)
    strip_grid(np.array([w[2] for w in chosen]), list(titles), list(colors), path,
               suptitle=f"most confident mistakes ({len(wrong)} wrong in all)", **grid)
