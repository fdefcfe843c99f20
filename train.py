"""Train a number reader and write a run folder.

    python train.py                      # whole-strip model, MNIST strips, both layouts
    python train.py --model tower --layout canonical --epochs 4
    python train.py --task notmnist-strips --epochs 6
    python train.py --task svhn-numbers                      # house numbers, pooled protocol
    python train.py --task svhn-numbers --protocol literature
    python train.py --task svhn-digits                       # single SVHN digits, 32 x 32
    python train.py --resume runs/mnist-strips-strip-mixed-s0-20261123-220512

With no options this is the command that made models/mnist-strips.npz. Each
task has its own defaults (reader.training.TASK_DEFAULTS); options override
them. See reader/training.py for what the run folder holds and how resuming
works, and docs/svhn.md for the SVHN tasks and protocols.
"""

import argparse
import dataclasses
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nn
from data import DataError
from reader.cli import (
    EXIT_INTERRUPTED,
    OneLineParser,
    fail,
    learning_rate,
    run_command,
    share,
    whole_number,
)
from reader.models import MODEL_KINDS
from reader.svhn_data import ALIKE, PROTOCOLS
from reader.svhn_job import SVHN_MODEL_KINDS, SVHN_TASKS
from reader.tasks import TASKS, TRAIN_LAYOUTS
from reader.training import Config, default_config, train

PROG = "train.py"
DEFAULTS = Config()
ALL_TASKS = [*TASKS, *SVHN_TASKS]
# options that fix a run's numbers; with --resume they come from the checkpoint
RUN_OPTIONS = ("task", "layout", "model", "epochs", "steps_per_epoch", "batch_size", "lr",
               "seed", "checkpoint_every", "validation_count", "test_count", "protocol",
               "synthetic", "synthetic_share", "test_limit", "cuts", "init", "distort", "shift",
               "second_conv", "hidden", "negatives", "hard_negatives")


# Upper bounds that keep a mistyped option from asking for more memory than a laptop has:
# 100,000 validation or test strips are 392 MB, 200,000 synthetic house numbers 2.5 GB.
# 32 cuts of every digit of SVHN's official format-1 training images (about 73,000) are 7 GB.
MAX_BATCH, MAX_EVALUATION, MAX_SYNTHETIC, MAX_HIDDEN, MAX_CUTS = 4096, 100_000, 200_000, 8192, 32
STRIP_ONLY = ("layout", "distort", "shift", "second_conv", "hidden",   # options of strip tasks
              "validation_count", "test_count")
SVHN_ONLY = ("protocol", "synthetic", "synthetic_share", "test_limit",   # options of SVHN tasks
             "cuts")


def default_text(name: str, tasks: Sequence[str] = ALL_TASKS) -> str:
    """'default V' for the option ``name``, with the tasks each value belongs to
    when they differ: 'default 16 (mnist-strips, notmnist-strips), 12 (svhn-numbers), ...'."""
    by_value: dict[str, list[str]] = {}
    for task in tasks:
        by_value.setdefault(str(getattr(default_config(task), name)), []).append(task)
    if len(by_value) == 1:
        return f"default {next(iter(by_value))}"
    return "default " + ", ".join(f"{v} ({', '.join(t)})" for v, t in by_value.items())


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=ALL_TASKS, help=f"default {DEFAULTS.task}")
    p.add_argument("--layout", choices=TRAIN_LAYOUTS,
                   help=f"strip layout (mixed = half of each); default {DEFAULTS.layout}")
    p.add_argument("--model", choices=[*MODEL_KINDS, *SVHN_MODEL_KINDS],
                   help="strip = whole-strip net with a length head, tower = the notebook's "
                        f"per-slot net; {default_text('model')}")
    p.add_argument("--epochs", type=whole_number(1), help=default_text("epochs"))
    p.add_argument("--steps-per-epoch", type=whole_number(1),
                   help=f"batches per epoch; {default_text('steps_per_epoch')}")
    p.add_argument("--batch-size", type=whole_number(1, MAX_BATCH),
                   help=default_text("batch_size"))
    p.add_argument("--lr", type=learning_rate,
                   help=f"peak Adam learning rate (warm-up then cosine); {default_text('lr')}")
    p.add_argument("--seed", type=whole_number(0), help=f"default {DEFAULTS.seed}")
    p.add_argument("--checkpoint-every", type=whole_number(1),
                   help=f"steps between checkpoints; default {DEFAULTS.checkpoint_every}")
    p.add_argument("--validation-count", type=whole_number(1, MAX_EVALUATION),
                   help=f"validation strips per layout; default {DEFAULTS.validation_count}")
    p.add_argument("--test-count", type=whole_number(1, MAX_EVALUATION),
                   help=f"test strips per layout; default {DEFAULTS.test_count}")
    p.add_argument("--protocol", choices=PROTOCOLS,
                   help="SVHN: pooled = train on train_real + test_pool, test on test_holdout; "
                        "literature = train on train_real (+ synthetic), no test images, "
                        "test on the whole test split; "
                        f"{default_text('protocol', SVHN_TASKS)}")
    p.add_argument("--synthetic", type=whole_number(0, MAX_SYNTHETIC),
                   help="SVHN: synthetic training images to make (0 = real images only); "
                        f"{default_text('synthetic', SVHN_TASKS)}")
    p.add_argument("--synthetic-share", type=share(1.0, ALIKE), metavar="SHARE",
                   help="SVHN: share of each batch's real and synthetic images that are "
                        "synthetic (alike = every image the same chance, so about their share "
                        "of all); default 0.5")
    p.add_argument("--test-limit", type=whole_number(1), metavar="N",
                   help="SVHN: read only the first N images of each test set, for a quick "
                        "try (the whole sets take minutes); default: all")
    p.add_argument("--cuts", type=whole_number(1, MAX_CUTS), metavar="N",
                   help="svhn-digits: cut every real training digit N times, once as the test "
                        "digits are cut and N-1 times with the square's size and centre drawn "
                        "at random (each cut counts as a real digit); "
                        f"{default_text('cuts', ['svhn-digits'])}")
    p.add_argument("--distort", action="store_true", default=None,
                   help="strips: warp every training character by a small random affine map")
    p.add_argument("--shift", type=whole_number(0, 4), metavar="PX",
                   help="strip model: move each training input by up to PX pixels each way "
                        "after its left alignment (as the test-time views do); default 2")
    p.add_argument("--second-conv", action=argparse.BooleanOptionalAction, default=None,
                   help="strip model: a second convolution after the first pooling "
                        "(about a fifth more time per step); default on")
    p.add_argument("--hidden", type=whole_number(16, MAX_HIDDEN),
                   help=f"strip model: units of the dense layer the heads share; "
                        f"default {DEFAULTS.hidden}")
    p.add_argument("--negatives", type=share(0.5), metavar="SHARE",
                   help="svhn-numbers: this share of every batch (0-0.5) shows no number, "
                        "and the model gets a head that says whether there is one; default 0")
    p.add_argument("--hard-negatives", metavar="FILE", nargs="+",
                   help="svhn-numbers with --negatives: add the windows with no number in these "
                        "files (made by python -m reader.hard_negatives; several rounds may be "
                        "given) to those it trains on")
    p.add_argument("--init", metavar="MODEL",
                   help="start from the weights of this model file (same task, architecture "
                        "and protocol), with a fresh learning-rate schedule")
    p.add_argument("--data-dir", help="folder holding mnist/, notmnist/ and svhn/ "
                                      "(default $DIGITS_DATA, else ~/.cache/digits-data)")
    p.add_argument("--out", type=Path, help="run folder to create (default runs/NAME-DATE)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--stop-after", type=whole_number(1), metavar="STEPS",
                   help="stop (with a checkpoint) after this many steps; resume later")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> Config:
    """The task's defaults, changed by the options given."""
    values = {name: getattr(args, name) for name in RUN_OPTIONS}
    base = default_config(args.task or DEFAULTS.task)
    cfg = dataclasses.replace(base, **{k: v for k, v in values.items() if v is not None})
    svhn = cfg.task in SVHN_TASKS
    for name in STRIP_ONLY if svhn else SVHN_ONLY:
        if getattr(args, name) is not None:
            option = "--" + name.replace("_", "-")
            fail(PROG, f"{option}: task {cfg.task} has no such setting (it belongs to the "
                       f"{'strip' if svhn else 'SVHN'} tasks)")
    if svhn and cfg.model != SVHN_TASKS[cfg.task]:
        fail(PROG, f"--model {cfg.model}: task {cfg.task} trains {SVHN_TASKS[cfg.task]}")
    if not svhn and cfg.model not in MODEL_KINDS:
        fail(PROG, f"--model {cfg.model}: task {cfg.task} trains one of {', '.join(MODEL_KINDS)}")
    if cfg.negatives and cfg.task != "svhn-numbers":
        fail(PROG, f"--negatives {cfg.negatives}: only the svhn-numbers task has windows "
                   "with no number")
    if cfg.cuts != 1 and cfg.task != "svhn-digits":
        fail(PROG, f"--cuts {cfg.cuts}: only the svhn-digits task cuts digits out of its "
                   "images")
    if cfg.hard_negatives and not cfg.negatives:
        fail(PROG, f"--hard-negatives {' '.join(cfg.hard_negatives)}: needs --negatives SHARE "
                   "(the share of every batch that shows no number)")
    if not svhn and cfg.layout not in TRAIN_LAYOUTS:
        fail(PROG, f"--layout {cfg.layout}: task {cfg.task} needs one of "
                   f"{', '.join(TRAIN_LAYOUTS)}")
    return cfg


def run_dir_for(args: argparse.Namespace, cfg: Config) -> Path:
    if args.resume is not None:
        if not args.resume.is_dir():
            fail(PROG, f"--resume {args.resume}: no such folder")
        if not (args.resume / "checkpoint.npz").is_file():
            fail(PROG, f"--resume {args.resume}: no checkpoint.npz in that folder")
        if (args.resume / "metrics.json").is_file():
            fail(PROG, f"--resume {args.resume}: that run is finished (its metrics.json is "
                       "written); start a longer one from it with --init")
        return args.resume
    if args.out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        variant = cfg.protocol if cfg.task in SVHN_TASKS else cfg.layout
        return Path("runs") / f"{cfg.task}-{cfg.model}-{variant}-s{cfg.seed}-{stamp}"
    if (args.out / "metrics.json").exists():
        fail(PROG, f"--out {args.out}: already holds a finished run; choose another folder "
                   f"(or start a longer run from it with --init {args.out / 'model.npz'})")
    if (args.out / "checkpoint.npz").exists():
        fail(PROG, f"--out {args.out}: already holds a run; continue it with --resume {args.out}")
    if args.out.exists() and not args.out.is_dir():
        fail(PROG, f"--out {args.out}: exists and is not a folder")
    return args.out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    cfg = config_from(args)
    if args.resume is not None:
        ignored = [f"--{n.replace('_', '-')}" for n in RUN_OPTIONS if getattr(args, n) is not None]
        if ignored or args.out is not None:
            fail(PROG, f"--resume takes the run's settings from its checkpoint; "
                       f"leave out {', '.join(ignored + (['--out'] if args.out else []))}")
    run_dir = run_dir_for(args, cfg)
    command = shlex.join(["python", PROG, *argv])
    try:
        result = train(cfg, run_dir, args.data_dir, resume=args.resume is not None,
                       stop_after=args.stop_after, command=command)
    except (DataError, nn.ModelFileError) as err:
        fail(PROG, str(err))
    except OSError as err:
        fail(PROG, f"{err.filename or run_dir}: {err.strerror or err}")
    except FloatingPointError as err:                       # the loss diverged
        fail(PROG, f"--lr {cfg.lr}: {err}")
    except KeyboardInterrupt:                 # a second Ctrl-C, or one outside the steps
        if (run_dir / "checkpoint.npz").is_file():
            sys.stderr.write(f"\n{PROG}: interrupted; continue from the last checkpoint with: "
                             f"python {PROG} --resume {run_dir}\n")
        else:
            sys.stderr.write(f"\n{PROG}: interrupted before the first checkpoint\n")
        return EXIT_INTERRUPTED
    if result.get("status") in ("stopped", "interrupted"):
        print(f"{result['status']} in {result['position']}; "
              f"continue with: python {PROG} --resume {run_dir}")
        return EXIT_INTERRUPTED if result["status"] == "interrupted" else 0
    for line in result["summary"]:
        print(line)
    print(f"run folder: {run_dir}")
    return 0


if __name__ == "__main__":
    run_command(PROG, main)
