"""The training jobs for SVHN: whole house numbers (svhn-numbers) and single digits (svhn-digits).

See reader.training for what a job is, reader.svhn_data for the data and
protocols, reader.svhn_models for the networks.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import nn
from data.strips import BLANK
from data.svhn import NumberImages, digit_crops
from reader import metrics, plots
from reader.decode import decode
from reader.evaluate import Readings
from reader.losses import box_loss, strip_loss
from reader.models import softmax
from reader.progress import announce
from reader.svhn_data import (
    WINDOW,
    DigitBatches,
    NumberBatches,
    centre_window,
    empty_windows,
    load_hard_negatives,
    load_splits,
    make_synthetic,
    official_file,
    window,
)
from reader.svhn_models import (
    DIGIT_INPUT,
    MAX_LENGTH,
    MIN_STD,
    NUMBER_INPUT,
    box_iou,
    box_targets,
    build_digit_classifier,
    build_number_reader,
    to_input,
)
from reader.training import Config
from reader.views import CENTRE_WINDOW, DIGIT_SHIFTS, ONE_VIEW, WINDOW_OFFSETS, mean_of_views, shift

SVHN_TASKS = {"svhn-numbers": "number", "svhn-digits": "digit"}     # task -> its model kind
SVHN_MODEL_KINDS = tuple(SVHN_TASKS.values())
ALPHABET = "0123456789"
BOX_WEIGHT = 1.0               # λ of the box loss; its head starts small (reader.svhn_models)
# how summary lines say the images were read
NINE_WINDOWS, ONE_WINDOW = f", {len(WINDOW_OFFSETS)} windows", ", centre  "
EMPTY_PER_IMAGE = 8            # windows with no number cut from each whole training PNG


def svhn_metadata(kind: str, task: str, config: dict, command: str) -> dict:
    """The "reader" metadata of an SVHN model file: what it reads and how to feed it."""
    size = NUMBER_INPUT if kind == "number" else DIGIT_INPUT
    return {"reader": {
        "kind": kind, "task": task, "alphabet": ALPHABET, "blank": BLANK,
        "max_length": MAX_LENGTH if kind == "number" else 1,
        "input": {"height": size, "width": size, "channels": 3, "dtype": "float32",
                  "scale": "each image minus its mean, over its standard deviation "
                           f"(at least {MIN_STD:g} grey levels)",
                  "framing": ("the centre 54 x 54 of a 64 x 64 crop of the union of the "
                              "digit boxes grown 30 % each way" if kind == "number" else
                              "a digit box made square, grown 30 %, resized to 32 x 32")},
        "outputs": (["length (5)", *[f"digit {i} (10)" for i in range(1, 6)],
                     "boxes (24): (left, top, right, bottom) / 54 of the union, then digits 1-5",
                     *(["presence (2): [no number, a number]"] if config.get("negatives") else [])]
                    if kind == "number" else ["digit (10)"]),
        "config": config, "command": command,
    }}


def number_outputs(model: nn.Model, images: np.ndarray, batch_size: int = 256
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """54 x 54 images (N, 54, 54, 3) uint8 -> the reader's outputs as probabilities:
    length_probs (N, 5), char_probs (N, 5, 10), boxes (N, 24) as fractions of 54, and
    P(there is a number) (N,): the presence head's, or 1 for a model without one."""
    lengths, chars, boxes, presence = [], [], [], []
    for start in range(0, len(images), batch_size):
        out = model.forward(to_input(images[start:start + batch_size]), training=False)
        lengths.append(softmax(out[0].astype(np.float64)))
        chars.append(np.stack([softmax(z.astype(np.float64)) for z in out[1:6]], axis=1))
        boxes.append(out[6].astype(np.float64))
        presence.append(softmax(out[7].astype(np.float64))[:, 1] if len(out) > 7
                        else np.ones(len(out[0])))
    return (np.concatenate(lengths), np.concatenate(chars), np.concatenate(boxes),
            np.concatenate(presence))


def read_numbers(model: nn.Model, images: np.ndarray, batch_size: int = 256
                 ) -> tuple[Readings, np.ndarray, np.ndarray]:
    """54 x 54 images (N, 54, 54, 3) uint8 -> (Readings, boxes (N, 24) as fractions of 54,
    P(there is a number) (N,))."""
    length_p, char_p, boxes, presence = number_outputs(model, images, batch_size)
    labels, confidence = decode(length_p, char_p, BLANK)
    return Readings(labels, confidence, length_p), boxes, presence


def read_views(model: nn.Model, images: np.ndarray) -> tuple[Readings, np.ndarray, np.ndarray]:
    """``read_numbers`` for views of a photo, where a view may hold no number: (Readings,
    boxes, the confidence P(a number is here) P(L) Π P(s_i) of each reading (N,))."""
    readings, boxes, presence = read_numbers(model, images)
    return readings, boxes, presence * readings.confidence


def window_outputs(model: nn.Model, numbers: NumberImages,
                   offsets: Sequence[tuple[int, int]] = WINDOW_OFFSETS
                   ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """[(length_probs, char_probs, boxes (N, 24) as fractions of the centre window) for
    each 54 x 54 window at (x, y) in ``offsets`` of every 64 x 64 crop]."""
    centre = (numbers.images.shape[1] - WINDOW) // 2
    per_view = []
    for x, y in offsets:
        images, _ = window(numbers, np.tile((x, y), (len(numbers), 1)))
        length_p, char_p, boxes, _ = number_outputs(model, images)
        # each view's boxes are fractions of its own window: move them to the centre one's
        move = np.tile([x - centre, y - centre], 2 * (1 + MAX_LENGTH)) / WINDOW    # (24,)
        per_view.append((length_p, char_p, boxes + move))
    return per_view


def decode_windows(per_view: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                   ) -> tuple[Readings, np.ndarray]:
    """Average the windows' outputs (reader.views) and decode: (Readings, boxes (N, 24))."""
    length_p, char_p, boxes = mean_of_views(per_view)
    labels, confidence = decode(length_p, char_p, BLANK)
    return Readings(labels, confidence, length_p), boxes


def read_windows(model: nn.Model, numbers: NumberImages,
                 offsets: Sequence[tuple[int, int]] = WINDOW_OFFSETS
                 ) -> tuple[Readings, np.ndarray]:
    """Read the 54 x 54 windows at (x, y) ``offsets`` of every 64 x 64 crop and average
    (reader.views). Returns (Readings, boxes (N, 24) as fractions of the centre window)."""
    return decode_windows(window_outputs(model, numbers, offsets))


def box_measures(pred: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Mean IoU of the union box, and of the digit boxes that exist."""
    union = box_iou(pred[:, :4], targets[:, :4])
    digit_pred = pred[:, 4:].reshape(-1, MAX_LENGTH, 4)
    digit_true = targets[:, 4:].reshape(-1, MAX_LENGTH, 4)
    digits = box_iou(digit_pred, digit_true)[mask[:, 4::4] > 0]
    return {"union_box_iou": float(union.mean()), "digit_box_iou": float(digits.mean()),
            "union_box_iou_over_0.5": float((union > 0.5).mean())}


def measure_numbers(model: nn.Model, numbers: NumberImages,
                    offsets: Sequence[tuple[int, int]] = WINDOW_OFFSETS
                    ) -> tuple[dict[str, Any], Readings, np.ndarray]:
    """Read every image through the windows at ``offsets`` (reader.views; ``CENTRE_WINDOW``
    reads the centre 54 x 54 only); return (measures, readings, the centre windows).

    The measures are reader.metrics.summary's, the coverage at 98 % accuracy,
    and the mean IoU of the union and digit boxes.
    """
    result, readings = window_measures(numbers, window_outputs(model, numbers, offsets))
    return result, readings, centre_window(numbers)[0]


def measure_numbers_and_centre(model: nn.Model, numbers: NumberImages
                               ) -> tuple[dict[str, Any], dict[str, Any], Readings, np.ndarray]:
    """``measure_numbers`` through the nine windows and through the centre one alone,
    each window read once: (nine windows' measures, centre's, nine's readings, centre windows)."""
    per_view = window_outputs(model, numbers, WINDOW_OFFSETS)
    centre = WINDOW_OFFSETS.index(CENTRE_WINDOW[0])
    nine, readings = window_measures(numbers, per_view)
    one, _ = window_measures(numbers, per_view[centre:centre + 1])
    return nine, one, readings, centre_window(numbers)[0]


def window_measures(numbers: NumberImages,
                    per_view: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                    ) -> tuple[dict[str, Any], Readings]:
    """The measures of ``measure_numbers`` for the windows' outputs, and their readings."""
    readings, pred_boxes = decode_windows(per_view)
    result = metrics.summary(readings.labels, numbers.labels, BLANK)
    result["coverage_at_98"] = metrics.coverage_at(readings.labels, numbers.labels,
                                                   readings.confidence, 0.98)
    _, boxes = centre_window(numbers)
    targets, mask = box_targets(boxes, numbers.lengths(), WINDOW)
    result.update(box_measures(pred_boxes, targets, mask))
    return result, readings


def summary_lines(results: dict[str, dict[str, Any]], how: str = "") -> list[str]:
    return [f"{name:8s} ({r['count']} images){how} sequence {100 * r['sequence_accuracy']:6.2f}%"
            f"  per-digit {100 * r['char_accuracy_in_number']:6.2f}%"
            f"  length {100 * r['length_accuracy']:6.2f}%"
            f"  coverage at 98% {100 * r['coverage_at_98']:6.2f}%"
            f"  union-box IoU {r['union_box_iou']:.3f}" for name, r in results.items()]


class NumberJob:
    """svhn-numbers: read whole house numbers from 54 x 54 windows of the 64 x 64 crops."""

    validation_keys = ("sequence",)

    def __init__(self, cfg: Config, data_dir: str | None) -> None:
        self.cfg = cfg
        # read first: a wrong file should fail before minutes of making synthetic data
        hard = np.concatenate([load_hard_negatives(path, cfg.protocol)
                               for path in cfg.hard_negatives]) if cfg.hard_negatives else None
        self.splits = load_splits(cfg.protocol, data_dir)
        synthetic = scenes = None
        if cfg.synthetic:
            announce(f"{cfg.synthetic:,} synthetic numbers and {max(1, cfg.synthetic // 3):,} "
                     "scenes")
            synthetic, scenes = make_synthetic(cfg.synthetic, cfg.seed, data_dir)
        empty = None
        if cfg.negatives:
            announce("windows with no number, from the training PNGs and synthetic scenes")
            empty = empty_windows(cfg.protocol, EMPTY_PER_IMAGE, cfg.seed, data_dir)
        if hard is not None:
            # As many hard windows as random ones, repeated to fill: the random ones
            # are mostly easy by now, and the hard ones are what the search trips on.
            empty = np.concatenate([empty, np.resize(hard, empty.shape)])
        self.batches = NumberBatches(self.splits.train, synthetic, scenes, cfg.batch_size,
                                     cfg.seed, empty, cfg.negatives)

    def build_model(self) -> nn.Model:
        return build_number_reader(self.cfg.seed, presence=self.cfg.negatives > 0)

    def metadata(self, config: dict, command: str) -> dict:
        return svhn_metadata("number", self.cfg.task, config, command)

    def train_step(self, model: nn.Model, optimizer: nn.Optimizer, epoch: int,
                   step: int) -> tuple[float, float]:
        b = self.batches.batch(epoch, step)
        lengths = (b.labels != BLANK).sum(axis=1)
        targets, mask = box_targets(b.boxes, lengths, WINDOW)
        out = model.forward(to_input(b.images), training=True)
        read, read_grads = strip_loss(out[:6], b.labels, BLANK, b.read_weight)
        boxes, box_grad = box_loss(out[6], targets, mask, BOX_WEIGHT)
        grads = [*read_grads, box_grad]
        if len(out) > 7:                # the presence head: cross-entropy of [no number, number]
            presence = nn.SoftmaxCrossEntropy()
            read += presence.forward(out[7].astype(np.float64), b.present.astype(np.int64))
            grads.append(presence.backward().astype(out[7].dtype))
        model.backward(grads, input_grad=False)
        optimizer.step()
        pred_len = out[0].argmax(1) + 1
        chars = np.stack([z.argmax(1) for z in out[1:6]], axis=1)
        pred = np.where(np.arange(MAX_LENGTH) < pred_len[:, None], chars, BLANK)
        readable = b.read_weight > 0
        return read + boxes, float(np.mean(np.all(pred == b.labels, axis=1)[readable]))

    def validate(self, model: nn.Model) -> dict[str, float]:
        # the centre window only: validation runs every epoch, inside the training time
        result, _, _ = measure_numbers(model, self.splits.validation, CENTRE_WINDOW)
        return {"sequence": result["sequence_accuracy"], "union_iou": result["union_box_iou"]}

    def test(self, model: nn.Model, run_dir: Path) -> tuple[dict[str, Any], list[str]]:
        results, centre, shown = {}, {}, []
        for name, numbers in self.splits.tests.items():
            if self.cfg.test_limit:
                numbers = numbers.subset(np.arange(min(self.cfg.test_limit, len(numbers))))
            results[name], centre[name], readings, images = measure_numbers_and_centre(
                model, numbers)
            shown.append((name, images, numbers.labels, readings))
        shown = shown[:1]                     # the other sets are subsets or the same images
        plots.sample_readings(shown, ALPHABET, run_dir / "samples.png", per_set=12,
                              cell=(1.7, 1.9), columns=6)
        plots.worst_mistakes(shown, ALPHABET, run_dir / "mistakes.png", count=24,
                             cell=(1.7, 1.9), columns=6)
        lines = summary_lines(results, NINE_WINDOWS) + summary_lines(centre, ONE_WINDOW)
        return {"protocol": self.cfg.protocol, "test": results, "test_one_view": centre}, lines


class DigitJob:
    """svhn-digits: classify single 32 x 32 digits cut from the format-1 images.

    Training digits: those of the protocol's training images, synthetic ones,
    and SVHN's own ``train_32x32.mat`` when it is in ``svhn/official/``.
    """

    validation_keys = ("accuracy",)

    def __init__(self, cfg: Config, data_dir: str | None) -> None:
        self.cfg = cfg
        splits = load_splits(cfg.protocol, data_dir)
        parts = [digit_crops(splits.train)]
        official = official_file("train_32x32.mat", data_dir)
        if official is not None:                    # SVHN's own 73,257 cropped train digits
            from data.svhn_official import load_cropped_mat
            parts.append(load_cropped_mat(official))
        if cfg.synthetic:
            announce(f"{cfg.synthetic:,} synthetic numbers, cut into digits")
            # the digit classifier learns from number crops only, so no scenes are made
            synthetic, _ = make_synthetic(cfg.synthetic, cfg.seed, data_dir, scenes=False)
            parts.append(digit_crops(synthetic))
        digits, labels = (np.concatenate(p) for p in zip(*parts, strict=True))
        self.batches = DigitBatches(digits, labels, cfg.batch_size, cfg.seed)
        self.validation = digit_crops(splits.validation)
        self.tests = {name: digit_crops(numbers) for name, numbers in splits.tests.items()}
        if cfg.test_limit:
            self.tests = {name: (digits[:cfg.test_limit], labels[:cfg.test_limit])
                          for name, (digits, labels) in self.tests.items()}

    def build_model(self) -> nn.Model:
        return build_digit_classifier(self.cfg.seed)

    def metadata(self, config: dict, command: str) -> dict:
        return svhn_metadata("digit", self.cfg.task, config, command)

    def train_step(self, model: nn.Model, optimizer: nn.Optimizer, epoch: int,
                   step: int) -> tuple[float, float]:
        digits, labels = self.batches.batch(epoch, step)
        z = model.forward(to_input(digits), training=True)
        loss = nn.SoftmaxCrossEntropy()
        value = loss.forward(z, labels)
        model.backward(loss.backward(), input_grad=False)
        optimizer.step()
        return float(value), float(np.mean(z.argmax(1) == labels))

    def validate(self, model: nn.Model) -> dict[str, float]:
        digits, labels = self.validation
        return {"accuracy": float(np.mean(classify(model, digits, ONE_VIEW) == labels))}

    def test(self, model: nn.Model, run_dir: Path) -> tuple[dict[str, Any], list[str]]:
        results, one_view = measure_digits(model, self.tests)
        lines = digit_lines(results) + digit_lines(one_view, " (one view)")
        return {"protocol": self.cfg.protocol, "test": results, "test_one_view": one_view}, lines


def digit_probabilities(model: nn.Model, digits: np.ndarray,
                        shifts: Sequence[tuple[int, int]] = DIGIT_SHIFTS,
                        batch_size: int = 500) -> list[tuple[np.ndarray]]:
    """digits (N, 32, 32, 3) uint8 -> [(class probabilities (N, 10),) for each (dx, dy)
    of ``shifts``] (reader.views; the edge pixels fill in, as in training)."""
    def probs(images: np.ndarray) -> tuple[np.ndarray]:
        return (np.concatenate([softmax(model.forward(to_input(images[s:s + batch_size]))
                                        .astype(np.float64))
                                for s in range(0, len(images), batch_size)]),)
    return [probs(shift(digits, dx, dy, axes=(1, 2), mode="edge")) for dx, dy in shifts]


def classify(model: nn.Model, digits: np.ndarray,
             shifts: Sequence[tuple[int, int]] = DIGIT_SHIFTS, batch_size: int = 500
             ) -> np.ndarray:
    """digits (N, 32, 32, 3) uint8 -> classes (N,), the probabilities averaged over the
    (dx, dy) ``shifts``."""
    (mean,) = mean_of_views(digit_probabilities(model, digits, shifts, batch_size))
    return mean.argmax(1)


def measure_digits(model: nn.Model, tests: dict[str, tuple[np.ndarray, np.ndarray]]
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """({test set: accuracy, count and confusion matrix} of a digit classifier read with
    DIGIT_SHIFTS, the same read once), each view read once: the first shift is none."""
    assert DIGIT_SHIFTS[0] == (0, 0)
    views, one_view = {}, {}
    for name, (digits, labels) in tests.items():
        per_view = digit_probabilities(model, digits)
        for results, used in ((views, per_view), (one_view, per_view[:1])):
            pred = mean_of_views(used)[0].argmax(1)
            results[name] = {"count": int(len(labels)),
                             "accuracy": float(np.mean(pred == labels)),
                             "confusion": metrics.confusion(pred[:, None], labels[:, None],
                                                            10).tolist()}
    return views, one_view


def digit_lines(results: dict[str, dict[str, Any]], how: str = "") -> list[str]:
    return [f"{name:8s} ({r['count']} digits){how} accuracy {100 * r['accuracy']:6.2f}%"
            for name, r in results.items()]


def make_svhn_job(cfg: Config, data_dir: str | None) -> NumberJob | DigitJob:
    if cfg.task == "svhn-numbers":
        return NumberJob(cfg, data_dir)
    if cfg.task == "svhn-digits":
        return DigitJob(cfg, data_dir)
    raise ValueError(f"unknown SVHN task {cfg.task!r}; choose from {', '.join(SVHN_TASKS)}")
