"""The training jobs for SVHN: whole house numbers (svhn-numbers) and single digits (svhn-digits).

See reader.training for what a job is, reader.svhn_data for the data and
protocols, reader.svhn_models for the networks.
"""

from pathlib import Path
from typing import Any

import numpy as np

import nn
from data.strips import BLANK
from data.svhn import digit_crops, jittered_digit_crops
from reader import plots
from reader.decode import read_labels
from reader.losses import box_loss, strip_loss
from reader.progress import announce
from reader.svhn_data import (
    WINDOW,
    DigitBatches,
    NumberBatches,
    empty_windows,
    load_hard_negatives,
    load_splits,
    make_synthetic,
    official_file,
)
from reader.svhn_models import (
    BOX_HEAD,
    DIGIT_HEADS,
    DIGIT_INPUT,
    LENGTH_HEAD,
    MAX_LENGTH,
    MIN_STD,
    NUMBER_INPUT,
    PRESENCE_HEAD,
    READING_HEADS,
    box_targets,
    build_digit_classifier,
    build_number_reader,
    to_input,
)
from reader.svhn_read import (
    NINE_WINDOWS,
    ONE_WINDOW,
    classify,
    digit_lines,
    measure_digits,
    measure_numbers,
    measure_numbers_and_centre,
    summary_lines,
)
from reader.training import Config
from reader.views import CENTRE_WINDOW, ONE_VIEW

SVHN_TASKS = {"svhn-numbers": "number", "svhn-digits": "digit"}     # task -> its model kind
SVHN_MODEL_KINDS = tuple(SVHN_TASKS.values())
ALPHABET = "0123456789"
BOX_WEIGHT = 1.0               # λ of the box loss; its head starts small (reader.svhn_models)
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
            announce(f"preparing {cfg.synthetic:,} synthetic numbers and "
                     f"{max(1, cfg.synthetic // 3):,} scenes")
            synthetic, scenes = make_synthetic(cfg.synthetic, cfg.seed, data_dir)
        empty = None
        if cfg.negatives:
            announce("preparing windows with no number, from the training PNGs and "
                     "synthetic scenes")
            empty = empty_windows(cfg.protocol, EMPTY_PER_IMAGE, cfg.seed, data_dir)
        if hard is not None:
            # As many hard windows as random ones, repeated to fill: the random ones
            # are mostly easy by now, and the hard ones are what the search trips on.
            empty = np.concatenate([empty, np.resize(hard, empty.shape)])
        self.batches = NumberBatches(self.splits.train, synthetic, scenes, cfg.batch_size,
                                     cfg.seed, empty, cfg.negatives, cfg.synthetic_share)
        n_real, n_synthetic, n_scenes, n_empty = self.batches.counts
        announce(f"training on {len(self.splits.train):,} real numbers and "
                 f"{len(synthetic) if synthetic else 0:,} synthetic ones; a batch holds "
                 f"{n_real} real, {n_synthetic} synthetic, {n_scenes} scenes and "
                 f"{n_empty} windows with no number")

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
        reading_loss, read_grads = strip_loss(out[READING_HEADS], b.labels, BLANK, b.read_weight)
        boxes_loss, box_grad = box_loss(out[BOX_HEAD], targets, mask, BOX_WEIGHT)
        grads = [*read_grads, box_grad]
        if len(out) > PRESENCE_HEAD:    # cross-entropy of [no number, a number]
            presence = nn.SoftmaxCrossEntropy()
            z = out[PRESENCE_HEAD]
            reading_loss += presence.forward(z.astype(np.float64), b.present.astype(np.int64))
            grads.append(presence.backward().astype(z.dtype))
        model.backward(grads, input_grad=False)
        optimizer.step()
        pred = read_labels(out[LENGTH_HEAD], np.stack(out[DIGIT_HEADS], axis=1), BLANK)
        readable = b.read_weight > 0
        return reading_loss + boxes_loss, float(np.mean(np.all(pred == b.labels, axis=1)[readable]))

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

    Training digits: those of the protocol's training images, each cut
    ``cfg.cuts`` times (data.svhn.jittered_digit_crops), and SVHN's own
    ``train_32x32.mat`` when it is in ``svhn/official/`` (the real ones), and
    synthetic ones; ``cfg.synthetic_share`` of each batch is synthetic.
    """

    validation_keys = ("accuracy",)

    def __init__(self, cfg: Config, data_dir: str | None) -> None:
        self.cfg = cfg
        splits = load_splits(cfg.protocol, data_dir)
        real = [digit_crops(splits.train)]
        n_digits = len(real[0][1])
        if cfg.cuts > 1:
            real.append(jittered_digit_crops(splits.train, cfg.cuts - 1,
                                             np.random.default_rng([cfg.seed, 7])))
        official = official_file("train_32x32.mat", data_dir)
        if official is not None:                    # SVHN's own 73,257 cropped train digits
            from data.svhn_official import load_cropped_mat
            real.append(load_cropped_mat(official))
        synthetic = None
        if cfg.synthetic:
            announce(f"preparing {cfg.synthetic:,} synthetic numbers, cut into digits")
            # the digit classifier learns from number crops only, so no scenes are made
            numbers, _ = make_synthetic(cfg.synthetic, cfg.seed, data_dir, scenes=False)
            synthetic = digit_crops(numbers)
        real_digits = tuple(np.concatenate(p) for p in zip(*real, strict=True))
        self.batches = DigitBatches(real_digits, synthetic, cfg.batch_size, cfg.seed,
                                    cfg.synthetic_share)
        n_synthetic = len(self.batches.digits) - self.batches.n_real
        per_batch = self.batches.synthetic_per_batch
        mix = ("each drawn alike" if per_batch is None else
               f"{per_batch} synthetic in each batch of {cfg.batch_size}")
        cut = (f" ({n_digits:,} digits of the training images, each cut {cfg.cuts} ways)"
               if cfg.cuts > 1 else "")
        announce(f"training on {self.batches.n_real:,} real digits{cut} and {n_synthetic:,} "
                 f"synthetic ones, {mix}")
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


def make_svhn_job(cfg: Config, data_dir: str | None) -> NumberJob | DigitJob:
    if cfg.task == "svhn-numbers":
        return NumberJob(cfg, data_dir)
    if cfg.task == "svhn-digits":
        return DigitJob(cfg, data_dir)
    raise ValueError(f"unknown SVHN task {cfg.task!r}; choose from {', '.join(SVHN_TASKS)}")
