"""The training job for number strips (mnist-strips, notmnist-strips).

A job is what reader.training's loop needs to know about one task: how to
build the model, draw batch (epoch, step), take a step, validate, and
measure the finished model. This one trains the whole-strip reader or the
notebook's tower on synthetic strips (reader.tasks).
"""

from pathlib import Path
from typing import Any

import numpy as np

import nn
from reader import plots
from reader.decode import read_labels
from reader.evaluate import evaluate, evaluate_views_and_one, reader_metadata
from reader.losses import strip_loss, tower_loss
from reader.models import build, logits, softmax, to_input, tower_probabilities
from reader.tasks import TEST_SEED, VALIDATION_SEED, TrainStrips, fixed_strips, get_task, load_pools
from reader.training import Config
from reader.views import ONE_VIEW, shift


def moved(x: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """Each input (B, 1, H, W) moved by its own (dx, dy) of ``moves`` (B, 2), black
    coming in (reader.views.shift)."""
    out = np.empty_like(x)
    for dx, dy in np.unique(moves, axis=0):
        rows = np.all(moves == (dx, dy), axis=1)
        out[rows] = shift(x[rows], int(dx), int(dy))
    return out


def strip_train_step(model: nn.Model, kind: str, optimizer: nn.Optimizer, strips: np.ndarray,
                     labels: np.ndarray, blank: int, moves: np.ndarray | None = None
                     ) -> tuple[float, float]:
    """One update on a batch; returns (loss, fraction of the batch read exactly right).
    ``moves`` (B, 2): move each input by that (dx, dy) after its alignment."""
    x = to_input(strips, kind)                                         # (B, 1, 28, 140)
    if moves is not None:
        x = moved(x, moves)
    out = logits(model, kind, x, training=True)
    if kind == "tower":
        loss, grad = tower_loss(out, labels)                           # grad (B, 5, C + 1)
        model.backward(grad.reshape(-1, grad.shape[-1]), input_grad=False)
        pred = read_labels(*tower_probabilities(softmax(out.astype(np.float64))), blank)
    else:
        loss, grads = strip_loss(out, labels, blank)
        model.backward(grads, input_grad=False)
        pred = read_labels(out[0], np.stack(out[1:], axis=1), blank)      # (B, 5)
    optimizer.step()
    return loss, float(np.mean(np.all(pred == labels, axis=1)))


class StripJob:
    """Strips of MNIST digits or notMNIST letters, canonical / free / mixed layout."""

    validation_keys = ("canonical_sequence", "free_sequence")

    def __init__(self, cfg: Config, data_dir: str | None) -> None:
        self.cfg = cfg
        self.task = get_task(cfg.task)
        self.blank = len(self.task.alphabet)
        self.pools = load_pools(self.task, data_dir)                  # DataError if missing
        self.stream = TrainStrips(self.pools.train, cfg.layout, cfg.batch_size,
                                  cfg.steps_per_epoch, cfg.seed, cfg.distort)
        self.val_sets = fixed_strips(self.pools.validation, cfg.validation_count,
                                     VALIDATION_SEED)

    def build_model(self) -> nn.Model:
        return build(self.cfg.model, num_classes=len(self.task.alphabet), seed=self.cfg.seed,
                     second_conv=self.cfg.second_conv, hidden=self.cfg.hidden)

    def metadata(self, config: dict, command: str) -> dict:
        return reader_metadata(self.cfg.model, self.cfg.task, self.task.alphabet, config,
                               command)

    def train_step(self, model: nn.Model, optimizer: nn.Optimizer, epoch: int,
                   step: int) -> tuple[float, float]:
        strips, labels = self.stream.batch(epoch, step)
        moves = None
        if self.cfg.shift and self.cfg.model == "strip":    # the tower reads fixed slots
            rng = np.random.default_rng([self.cfg.seed, epoch, step, 7])   # resumes exactly
            moves = rng.integers(-self.cfg.shift, self.cfg.shift + 1, (len(strips), 2))
        return strip_train_step(model, self.cfg.model, optimizer, strips, labels, self.blank,
                                moves)

    def validate(self, model: nn.Model) -> dict[str, float]:
        """Sequence and per-character accuracy on every validation layout."""
        out = {}
        for layout, (strips, labels) in self.val_sets.items():
            # one view: validation runs every epoch, inside the training budget
            summary, _ = evaluate(model, self.cfg.model, strips, labels, self.blank, ONE_VIEW)
            out[f"{layout}_sequence"] = summary["sequence_accuracy"]
            out[f"{layout}_char"] = summary["per_char_accuracy"]
        return out

    def test(self, model: nn.Model, run_dir: Path) -> tuple[dict[str, Any], list[str]]:
        """Measure on fresh test strips per layout; draw samples and mistakes.

        Returns ({"test": {layout: metrics.summary} read with the test-time
        views (reader.views), "test_one_view": the same read once}, lines to print).
        """
        test_sets = fixed_strips(self.pools.test, self.cfg.test_count, TEST_SEED)
        results, one_view, readings = {}, {}, {}
        for layout, (strips, labels) in test_sets.items():
            results[layout], one_view[layout], readings[layout] = evaluate_views_and_one(
                model, self.cfg.model, strips, labels, self.blank)
        both = [(layout, *test_sets[layout], readings[layout]) for layout in test_sets]
        plots.sample_readings(both, self.task.alphabet, run_dir / "samples.png")
        plots.worst_mistakes(both, self.task.alphabet, run_dir / "mistakes.png")
        lines = strip_summary_lines(results, one_view)
        return {"test_seed": TEST_SEED, "test": results, "test_one_view": one_view}, lines


def strip_summary_lines(views: dict[str, dict[str, Any]],
                        one_view: dict[str, dict[str, Any]]) -> list[str]:
    """One line per layout: the measures read with the test-time views, then read once."""
    return [f"{layout:9s} sequence {100 * r['sequence_accuracy']:6.2f}%  "
            f"per-char {100 * r['per_char_accuracy']:6.2f}%  "
            f"length {100 * r['length_accuracy']:6.2f}%  "
            f"(one view: {100 * one_view[layout]['sequence_accuracy']:6.2f}% / "
            f"{100 * one_view[layout]['per_char_accuracy']:6.2f}%)"
            for layout, r in views.items()]
