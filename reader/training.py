"""The training loop: batches, steps, validation, checkpoints, and the run folder.

A run folder holds

    config.json      the configuration (also inside every checkpoint)
    checkpoint.npz   model + optimizer state + where the loop is, rewritten atomically
    model.npz        the trained reader (no optimizer state), written at the end
    metrics.json     test measures per layout, validation history, timings
    train.log        one line per event, appended across resumes
    curves.png       and, for the strip and svhn-numbers tasks, samples.png, mistakes.png

**Resuming reproduces the uninterrupted run exactly.** Everything random in a
step is a function of (seed, epoch, step): the batch (data.StripStream /
reader.tasks.MixedStream) and the dropout masks (every Dropout layer gets
``default_rng([seed, epoch, step, k])`` before the step). A checkpoint stores
the weights, batch-norm running averages, Adam's moments and step count (which
also fixes the learning-rate schedule), the next (epoch, step), and the
per-step loss history. So the (epoch, step) pair *is* the random state, and a
run killed at any point and resumed from its last checkpoint computes the
same numbers as one that never stopped; at most ``checkpoint_every`` steps are
done twice. Ctrl-C loses nothing: the first one lets the step in progress
finish and writes a checkpoint before stopping (``GentleInterrupt``).
"""

import dataclasses
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import nn
from nn.serialize import describe
from reader import plots
from reader.progress import Log, ProgressBar, format_duration

STATE_KEY = "train/state"


@dataclass
class Config:
    """Everything that determines a run's numbers (the data folder does not).

    The defaults are the mnist-strips run; each task can change them
    (``TASK_DEFAULTS``) before the options a user gives.
    """

    task: str = "mnist-strips"
    layout: str = "mixed"
    model: str = "strip"
    epochs: int = 16
    steps_per_epoch: int = 500
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 5e-5
    seed: int = 0
    checkpoint_every: int = 100
    validation_count: int = 1000       # strips: strips per layout, checked after every epoch
    test_count: int = 10_000           # strips: strips per layout, measured at the end
    protocol: str = "pooled"           # SVHN: which real images train and test (reader.svhn_data)
    synthetic: int = 0                 # SVHN: synthetic images made for training
    synthetic_share: float | str = 0.5     # SVHN: their share of a batch, or "alike" (each
                                           # image the same chance, reader.svhn_data)
    test_limit: int = 0                # SVHN: only the first N images of each test set (0: all)
    cuts: int = 1                      # svhn-digits: cuts of each real training digit (the
                                       # fixed one, then jittered ones, data.svhn)
    init: str = ""                     # model file whose weights the run starts from
    distort: bool = False              # strips: warp every training character (data.strips)
    shift: int = 2                     # strip model: move each training input by up to this
                                       # many pixels each way, after its left alignment
    second_conv: bool = True           # strips: one more convolution in the strip model's trunk
    hidden: int = 1024                 # strips: units of the strip model's shared dense layer
    negatives: float = 0.0             # svhn-numbers: share of a batch that shows no number
    hard_negatives: tuple[str, ...] = ()   # svhn-numbers: files of mined views with no number

    def __post_init__(self) -> None:
        # Runs made before several files were allowed stored one name as a string
        # (runs/svhn-numbers-hard, the shipped model's); read as a tuple, not as letters.
        if isinstance(self.hard_negatives, str):
            self.hard_negatives = (self.hard_negatives,) if self.hard_negatives else ()
        self.hard_negatives = tuple(self.hard_negatives)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "svhn-numbers": {"model": "number", "layout": "none", "epochs": 12, "steps_per_epoch": 250,
                     "batch_size": 64, "lr": 1e-3, "weight_decay": 1e-4, "synthetic": 30_000,
                     "shift": 0},
    "svhn-digits": {"model": "digit", "layout": "none", "epochs": 36, "steps_per_epoch": 250,
                    "batch_size": 128, "lr": 1e-3, "weight_decay": 1e-4, "synthetic": 120_000,
                    "protocol": "literature", "shift": 0, "cuts": 8},
}


def default_config(task: str) -> Config:
    """The defaults of ``task``: Config's, changed by TASK_DEFAULTS."""
    return dataclasses.replace(Config(), task=task, **TASK_DEFAULTS.get(task, {}))


def legacy_settings(task: str | None) -> dict[str, Any]:
    """The settings a checkpoint made before they existed trained with: no moves
    before --shift, and before --synthetic-share the digit classifier drew every
    digit alike (the house-number reader always took half its numbers synthetic);
    before --cuts every real digit was cut once."""
    return {"shift": 0, "synthetic_share": "alike" if task == "svhn-digits" else 0.5,
            "cuts": 1}


class Job(Protocol):
    """What the loop needs to know about a task (reader.strip_job, reader.svhn_job)."""

    cfg: Config                               # the run's configuration
    validation_keys: tuple[str, ...]          # validation measures drawn in curves.png

    def build_model(self) -> nn.Model: ...

    def metadata(self, config: dict, command: str) -> dict: ...

    def train_step(self, model: nn.Model, optimizer: nn.Optimizer, epoch: int,
                   step: int) -> tuple[float, float]: ...

    def validate(self, model: nn.Model) -> dict[str, float]: ...

    def test(self, model: nn.Model, run_dir: Path) -> tuple[dict[str, Any], list[str]]: ...


def make_job(cfg: Config, data_dir: str | None) -> Job:
    """The job of ``cfg.task``; loads its data (data.DataError when files are missing)."""
    if cfg.task.startswith("svhn-"):
        from reader.svhn_job import make_svhn_job
        return make_svhn_job(cfg, data_dir)
    from reader.strip_job import StripJob
    return StripJob(cfg, data_dir)


def make_optimizer(model: nn.Model, cfg: Config) -> nn.Adam:
    """Adam with a linear warm-up (5 % of the steps, at most 500) and a cosine decay to zero."""
    warmup = max(1, min(500, cfg.total_steps // 20))
    schedule = nn.WarmupCosine(cfg.lr, warmup, max(cfg.total_steps, warmup + 1))
    return nn.Adam(model, schedule, weight_decay=cfg.weight_decay)


def init_model(path: str, cfg: Config) -> nn.Model:
    """The model file ``path`` a run starts from (``--init``), checked against the
    run's settings before any data is prepared: it must have been trained for the
    same task with the same kind of model and, for SVHN, under the same protocol
    (starting a literature-protocol run from a pooled model would let the test
    images the pooled model trained on into the literature figures)."""
    start = nn.load(path)                                              # ModelFileError if damaged
    saved = start.metadata.get("reader", {}).get("config", {})
    for key in ("task", "model", "protocol"):
        if saved.get(key) != getattr(cfg, key):
            raise nn.ModelFileError(f"{path}: trained with {key} {saved.get(key)!r}, "
                                    f"this run has {key} {getattr(cfg, key)!r}")
    if saved.get("negatives") and not cfg.negatives:
        raise nn.ModelFileError(f"{path}: has a presence head (trained with --negatives "
                                f"{saved['negatives']}); give this run --negatives too")
    return start


def start_from(model: nn.Model, path: str, cfg: Config,
               start: nn.Model | None = None) -> list[str]:
    """Copy the weights (and batch-norm averages) of the model file ``path``
    (``init_model``; or ``start``, already loaded from it) into ``model``.

    For continuing a finished run with a fresh learning-rate schedule, or
    fine-tuning. The file must hold the same architecture; the one difference
    allowed: this run's model may have heads the file's lacks (a presence
    head, ``--negatives``), which keep their new weights. Returns the names of
    the arrays left new.
    """
    start = start if start is not None else init_model(path, cfg)
    mine, theirs = describe(model), describe(start)
    more_heads = (mine["type"] == theirs["type"] == "MultiHead" and mine["trunk"] == theirs["trunk"]
                  and mine["heads"][:len(theirs["heads"])] == theirs["heads"])
    if mine != theirs and not more_heads:
        raise nn.ModelFileError(f"{path}: its architecture differs from this run's model")
    source = {name: store[key] for name, store, key in start.named_arrays()}
    new = []
    for name, store, key in model.named_arrays():
        if name in source:
            store[key][...] = source[name]
        else:
            new.append(name)
    return new


def dropout_layers(model: nn.Model) -> list[nn.Dropout]:
    parts = [model] if isinstance(model, nn.Sequential) else [model.trunk, *model.heads]
    return [layer for part in parts for layer in part.layers if isinstance(layer, nn.Dropout)]


@dataclass
class State:
    """Where the loop is: the next step to run, and what happened so far."""

    epoch: int = 0
    step: int = 0
    seconds: float = 0.0                       # training time so far, over all sessions
    validation: list[dict] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)       # one per step
    accuracies: list[float] = dataclasses.field(default_factory=list)

    def done(self, cfg: Config) -> int:
        return self.epoch * cfg.steps_per_epoch + self.step


def save_checkpoint(path: Path, model: nn.Model, optimizer: nn.Optimizer, state: State,
                    metadata: dict) -> None:
    extra = optimizer.state_dict()
    extra[STATE_KEY] = np.array(json.dumps({
        "epoch": state.epoch, "step": state.step, "seconds": state.seconds,
        "validation": state.validation}))
    extra["train/losses"] = np.array(state.losses, np.float64)
    extra["train/accuracies"] = np.array(state.accuracies, np.float64)
    nn.save(model, path, metadata, extra=extra)


def load_checkpoint(path: Path) -> tuple[nn.Model, dict, State, Config]:
    """(model, optimizer arrays, state, config) from a checkpoint; ModelFileError if damaged."""
    model, arrays = nn.load(path, return_arrays=True)
    try:
        saved = json.loads(str(arrays[STATE_KEY]))
        saved_config = model.metadata["reader"]["config"]
        cfg = Config(**{**legacy_settings(saved_config.get("task")), **saved_config})
        state = State(saved["epoch"], saved["step"], saved["seconds"], saved["validation"],
                      arrays["train/losses"].tolist(), arrays["train/accuracies"].tolist())
        if "optimizer/step_count" not in arrays:
            raise KeyError("optimizer/step_count")
    except KeyError as err:
        raise nn.ModelFileError(f"{path}: not a training checkpoint (it has no {err}; a "
                                "model.npz is not one)") from None
    except (TypeError, ValueError) as err:
        raise nn.ModelFileError(f"{path}: a damaged training checkpoint ({err})") from None
    return model, arrays, state, cfg


class GentleInterrupt:
    """While training, a first Ctrl-C (SIGINT) only asks the loop to stop: it
    finishes the step it is in, writes a checkpoint and returns, so an
    interrupted run resumes where it stopped. A second Ctrl-C stops at once
    (KeyboardInterrupt), losing the steps since the last checkpoint.

    Signal handlers belong to the main thread; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\ninterrupted: finishing this step to write a checkpoint "
                         "(Ctrl-C again to stop at once)\n")

    def __enter__(self) -> "GentleInterrupt":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def train(cfg: Config, run_dir: Path, data_dir: str | None = None, resume: bool = False,
          stop_after: int | None = None, command: str = "") -> dict[str, Any]:
    """Train (or resume) the run in ``run_dir``; return its metrics, or a status
    ('stopped' or 'interrupted', with the epoch and step) when it paused with a checkpoint.

    ``stop_after`` ends this session after that many steps, with a checkpoint:
    for splitting a long run, and for testing that resuming is exact.
    """
    checkpoint = run_dir / "checkpoint.npz"
    if resume:
        job, model, optimizer, state, metadata, log = _resume(checkpoint, data_dir, command)
        cfg = job.cfg
    else:
        job, model, optimizer, state, metadata, log = _start(cfg, run_dir, data_dir, command)
    with GentleInterrupt() as interrupt:
        paused = _steps(job, model, optimizer, cfg, state, checkpoint, metadata, log,
                        interrupt, stop_after)
    if paused is not None:
        return paused
    return finish(job, model, cfg, state, run_dir, metadata, log)


def position(state: State, cfg: Config) -> str:
    """Where a run stands, counted as the progress bar counts: "epoch 2/16, step 40/500"
    (epochs from 1; steps done in the epoch), or "after epoch 2/16" between epochs."""
    if state.step == 0 and state.epoch > 0:
        return f"after epoch {state.epoch}/{cfg.epochs}"
    return f"epoch {state.epoch + 1}/{cfg.epochs}, step {state.step}/{cfg.steps_per_epoch}"


def _start(cfg: Config, run_dir: Path, data_dir: str | None, command: str
           ) -> tuple[Job, nn.Model, nn.Adam, State, dict, Log]:
    """A new run: its data and model (from ``cfg.init``'s weights if given), then its
    folder, config.json and log. Data or model-file errors come before the folder
    is made, so a failed start leaves nothing behind."""
    start = init_model(cfg.init, cfg) if cfg.init else None          # ModelFileError
    job = make_job(cfg, data_dir)                                      # DataError if missing
    model = job.build_model()
    new_arrays = start_from(model, cfg.init, cfg, start) if start is not None else []
    run_dir.mkdir(parents=True, exist_ok=True)
    log = Log(run_dir / "train.log", echo=sys.stderr)
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    log(f"started: {command}")
    log(f"config {json.dumps(dataclasses.asdict(cfg))}; {model.num_parameters():,} parameters")
    if new_arrays:
        log(f"started from {cfg.init}; new, not in that file: {', '.join(new_arrays)}")
    metadata = job.metadata(dataclasses.asdict(cfg), command)
    return job, model, make_optimizer(model, cfg), State(), metadata, log


def _resume(checkpoint: Path, data_dir: str | None, command: str
            ) -> tuple[Job, nn.Model, nn.Adam, State, dict, Log]:
    """An interrupted run, as its last checkpoint left it: model, optimizer state,
    where it stood, and its configuration."""
    model, arrays, state, cfg = load_checkpoint(checkpoint)           # ModelFileError
    job = make_job(cfg, data_dir)                                      # DataError if missing
    optimizer = make_optimizer(model, cfg)
    optimizer.load_state_dict(arrays)
    log = Log(checkpoint.parent / "train.log", echo=sys.stderr)
    log(f"resumed in {position(state, cfg)}: {command}")
    return job, model, optimizer, state, model.metadata, log


def _steps(job: Job, model: nn.Model, optimizer: nn.Optimizer, cfg: Config, state: State,
           checkpoint: Path, metadata: dict, log: Log, interrupt: GentleInterrupt,
           stop_after: int | None) -> dict[str, Any] | None:
    """The epochs of training from ``state`` on, validating and checkpointing as
    they go; None when training is done, a status when it paused (``train``)."""
    dropouts = dropout_layers(model)
    bar = ProgressBar(cfg.total_steps, cfg.batch_size)
    steps_this_session = 0
    session_start, seconds_at_start = time.perf_counter(), state.seconds

    def pause(status: str, why: str) -> dict[str, Any]:
        save_checkpoint(checkpoint, model, optimizer, state, metadata)
        bar.pause()
        log(f"{why} in {position(state, cfg)}; checkpoint written")
        return {"status": status, "epoch": state.epoch, "step": state.step,
                "position": position(state, cfg)}

    while state.epoch < cfg.epochs:
        for step in range(state.step, cfg.steps_per_epoch):
            for k, layer in enumerate(dropouts):
                layer.rng = np.random.default_rng([cfg.seed, state.epoch, step, k])
            loss, acc = job.train_step(model, optimizer, state.epoch, step)
            if not np.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} in epoch {state.epoch + 1}, "
                                         f"step {step + 1}; try a smaller --lr than {cfg.lr}")
            state.losses.append(loss)
            state.accuracies.append(acc)
            state.step = step + 1
            state.seconds = seconds_at_start + time.perf_counter() - session_start
            steps_this_session += 1
            bar.update(state.done(cfg), state.epoch, cfg.epochs, state.step,
                       cfg.steps_per_epoch, float(np.mean(state.losses[-50:])),
                       float(np.mean(state.accuracies[-50:])))
            if interrupt.requested:
                return pause("interrupted", "interrupted")
            if stop_after is not None and steps_this_session >= stop_after:
                plural = "s" if steps_this_session > 1 else ""
                return pause("stopped", f"stopped after {steps_this_session} step{plural}")
            if state.step % cfg.checkpoint_every == 0:
                save_checkpoint(checkpoint, model, optimizer, state, metadata)
        bar.pause()
        val = job.validate(model)
        state.validation.append({"epoch": state.epoch + 1, "step": state.done(cfg), **val})
        log(f"epoch {state.epoch + 1}/{cfg.epochs} "
            f"train loss {np.mean(state.losses[-cfg.steps_per_epoch:]):.4f}  validation "
            + "  ".join(f"{k} {100 * v:.2f}%" for k, v in val.items())
            + f"  ({format_duration(state.seconds)} so far)")
        state.epoch, state.step = state.epoch + 1, 0
        state.seconds = seconds_at_start + time.perf_counter() - session_start
        if interrupt.requested:                             # pressed during validation
            return pause("interrupted", "interrupted")
        save_checkpoint(checkpoint, model, optimizer, state, metadata)
    return None


def finish(job: Job, model: nn.Model, cfg: Config, state: State, run_dir: Path, metadata: dict,
           log: Log) -> dict[str, Any]:
    """Save model.npz, measure on the test set, write metrics.json and the pictures."""
    nn.save(model, run_dir / "model.npz", metadata)
    log(f"trained in {format_duration(state.seconds)}; measuring on the test sets")
    start = time.perf_counter()
    results, lines = job.test(model, run_dir)
    eval_seconds = time.perf_counter() - start
    metrics = {
        "task": cfg.task, "model": cfg.model, "config": dataclasses.asdict(cfg),
        "command": metadata["reader"]["command"],
        "parameters": model.num_parameters(),
        "train_seconds": state.seconds,
        "train_images_per_second": cfg.total_steps * cfg.batch_size / max(state.seconds, 1e-9),
        "test_seconds": eval_seconds,
        **results,
        "summary": lines,
        "validation_history": state.validation,
        "final_train_loss": float(np.mean(state.losses[-100:])),
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    plots.training_curves(state.losses, state.accuracies, state.validation,
                          cfg.steps_per_epoch, run_dir / "curves.png", job.validation_keys)
    log("test: " + " | ".join(line.strip() for line in lines)
        + f"  (training {format_duration(state.seconds)})")
    return metrics
