"""Training and inference speed of nn against PyTorch on the CPU, same model, same batch.

    python bench/speed.py                      # every model, writes bench/out/speed.json
    python bench/speed.py --quick              # fewer rounds, for a quick look
    python bench/speed.py --models strip-reader number-reader    # only these

For every (model, batch size) the two libraries run alternately in the same
process — nn, PyTorch, nn, PyTorch, … — each round timing a fixed number of
training steps (forward, softmax cross-entropy, backward, SGD with momentum)
and of inference passes, with the same number of threads. The shipped readers
have several heads; every head gets a cross-entropy against random labels and
the losses are summed (the house-number reader's box head learns with a
squared error in train.py, which costs the same: one dense layer's gradient). Alternating spreads
any background noise over both sides; the figure reported is the median round.
The ratio is nn's images/s divided by PyTorch's: above 1.0 nn is faster.

It also measures Numba's cold start: a fresh process importing nn and running
one training step, first with an empty compilation cache, then with the cache
the first run wrote.

PyTorch is a benchmark-only dependency: pip install torch==2.13.0.
"""

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import nn  # noqa: E402
from bench.models import (  # noqa: E402
    head_classes,
    mnist_tower,
    number_reader,
    strip_reader,
    svhn_cnn,
    torch_model,
)
from reader.cli import OneLineParser, run_command, whole_number  # noqa: E402

if TYPE_CHECKING:                   # PyTorch is needed only to run the benchmark
    import torch

Step = Callable[[], None]           # one training step, or one forward pass

# (name, builder, images per example, input shape of one example, classes, batch sizes)
# An MNIST strip is five 28 x 28 tiles through one shared tower: a batch of B
# strips is a batch of 5B tiles, and speed is counted in strips. The readers'
# classes are their heads' (bench.models.head_classes); their batch is train.py's.
CONFIGS = [
    ("mnist-strips", mnist_tower, 5, (1, 28, 28), 11, [32]),
    ("svhn-digits", svhn_cnn, 1, (3, 32, 32), 10, [20, 128]),
    ("strip-reader", strip_reader, 1, (1, 28, 140), None, [64]),
    ("number-reader", number_reader, 1, (3, 54, 54), None, [64]),
]


def nn_runner(model: nn.Model, x: np.ndarray, y: np.ndarray) -> tuple[Step, Step]:
    """(train_step, infer) closures; y is (N,), or (N, heads) for a MultiHead."""
    multi = isinstance(model, nn.MultiHead)
    losses = [nn.SoftmaxCrossEntropy() for _ in range(y.shape[1] if multi else 1)]
    opt = nn.SGD(model, lr=0.01, momentum=0.9)

    def train_step() -> None:
        out = model.forward(x, training=True)
        if multi:
            for k, (loss, logits) in enumerate(zip(losses, out, strict=True)):
                loss.forward(logits, y[:, k])
            model.backward([loss.backward() for loss in losses], input_grad=False)
        else:
            losses[0].forward(out, y)
            model.backward(losses[0].backward(), input_grad=False)
        opt.step()

    def infer() -> None:
        model.forward(x, training=False)

    return train_step, infer


def torch_runner(model: "torch.nn.Module", x: np.ndarray, y: np.ndarray
                 ) -> tuple[Step, Step]:
    import torch

    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    loss = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        out = model(xt)
        if isinstance(out, list):
            sum(loss(logits, yt[:, k]) for k, logits in enumerate(out)).backward()
        else:
            loss(out, yt).backward()
        opt.step()

    def infer() -> None:
        model.eval()
        with torch.inference_mode():
            model(xt)

    return train_step, infer


def timed(fn: Step, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def bench_config(name: str, builder: Callable[[], nn.Model], per_example: int,
                 shape: tuple[int, ...], classes: int | None, batch: int, rounds: int,
                 steps: int) -> dict:
    rng = np.random.default_rng(0)
    n = batch * per_example
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    ours = builder()
    if classes is None:                                  # one column of labels per head
        y = np.stack([rng.integers(0, c, n) for c in head_classes(ours)], axis=1)
    else:
        y = rng.integers(0, classes, n)
    theirs = torch_model(ours)
    nn_train, nn_infer = nn_runner(ours, x, y)
    torch_train, torch_infer = torch_runner(theirs, x, y)
    for fn in (nn_train, torch_train, nn_infer, torch_infer):   # warm up: compile, allocate
        timed(fn, 2)
    seconds = {"nn_train": [], "torch_train": [], "nn_infer": [], "torch_infer": []}
    for _ in range(rounds):
        seconds["nn_train"].append(timed(nn_train, steps))
        seconds["torch_train"].append(timed(torch_train, steps))
        seconds["nn_infer"].append(timed(nn_infer, steps))
        seconds["torch_infer"].append(timed(torch_infer, steps))
    rate = {k: batch / statistics.median(v) for k, v in seconds.items()}
    return {
        "model": name, "batch": batch, "images_per_example": per_example,
        "train_per_s": {"nn": rate["nn_train"], "torch": rate["torch_train"],
                        "ratio": rate["nn_train"] / rate["torch_train"]},
        "infer_per_s": {"nn": rate["nn_infer"], "torch": rate["torch_infer"],
                        "ratio": rate["nn_infer"] / rate["torch_infer"]},
        "seconds_per_step": seconds,
    }


COLD_START = """
import time
start = time.perf_counter()
import numpy as np
import nn
from bench.models import svhn_cnn, mnist_tower
imported = time.perf_counter()
for model, shape in ((svhn_cnn(), (8, 3, 32, 32)), (mnist_tower(), (10, 1, 28, 28))):
    x = np.zeros(shape, np.float32)
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(model.forward(x, training=True), np.zeros(shape[0], int))
    model.backward(loss.backward(), input_grad=False)
print(imported - start, time.perf_counter() - start)
"""


def cold_start() -> dict:
    """Seconds to import nn and run one training step of each model, without and with cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = {}
        for label in ("empty_cache", "warm_cache"):
            done = subprocess.run([sys.executable, "-c", COLD_START], env=env, cwd=ROOT,
                                  capture_output=True, text=True, check=True)
            imported, total = map(float, done.stdout.split())
            out[label] = {"import_s": imported, "import_and_first_step_s": total}
        return out


def machine() -> dict:
    import numba
    import torch
    from threadpoolctl import threadpool_info

    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "numba": numba.__version__, "torch": torch.__version__,
        "blas": [{k: i.get(k) for k in ("internal_api", "version", "architecture")}
                 for i in threadpool_info() if i.get("user_api") == "blas"],
        "date": datetime.date.today().isoformat(),
    }


def main() -> None:
    parser = OneLineParser(prog="bench/speed.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=whole_number(1), default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="steps timed per round")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 3 steps")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "speed.json"))
    parser.add_argument("--no-cold-start", action="store_true")
    parser.add_argument("--models", nargs="+", choices=[c[0] for c in CONFIGS],
                        default=[c[0] for c in CONFIGS], help="which models (default: all)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.steps = 3, 3

    import torch

    torch.set_num_threads(args.threads)
    nn.parallel.set_num_threads(args.threads)
    report = {"command": " ".join(["python", *sys.argv]), "threads": args.threads,
              "rounds": args.rounds, "steps": args.steps, "machine": machine(), "results": []}
    for name, builder, per_example, shape, classes, batches in CONFIGS:
        if name not in args.models:
            continue
        for batch in batches:
            r = bench_config(name, builder, per_example, shape, classes, batch,
                             args.rounds, args.steps)
            report["results"].append(r)
            t, i = r["train_per_s"], r["infer_per_s"]
            print(f"{name:13s} batch {batch:4d}  train  nn {t['nn']:8.0f}/s  torch "
                  f"{t['torch']:8.0f}/s  ratio {t['ratio']:.2f}   infer  nn {i['nn']:8.0f}/s  "
                  f"torch {i['torch']:8.0f}/s  ratio {i['ratio']:.2f}", flush=True)
    if not args.no_cold_start:
        report["cold_start"] = cold_start()
        for label, v in report["cold_start"].items():
            print(f"cold start, {label:11s}: import {v['import_s']:.2f} s, import + first "
                  f"training step of both models {v['import_and_first_step_s']:.2f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_command("bench/speed.py", main)
