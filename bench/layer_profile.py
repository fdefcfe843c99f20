"""Where a training step's time goes, layer by layer, against what the machine can do.

    python bench/layer_profile.py            # every benchmark model, 2 threads
    python bench/layer_profile.py --models strip-reader number-reader

For each layer of the benchmark models (bench/models.py) it prints the forward
and backward time of one training step (median of several), and for
convolutions and dense layers the GFLOP/s achieved (2 flops per multiply-add).
The shipped readers are profiled through their trunk, which holds all but a
few dense layers of their work, with one dense head on top. The ceiling printed
first is a large float32 matrix product through the same BLAS and threads
(nn.parallel.matmul), the best a layer built on BLAS can hope for.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import nn  # noqa: E402
from bench.models import mnist_tower, number_reader, strip_reader, svhn_cnn  # noqa: E402
from reader.cli import OneLineParser, run_command, whole_number  # noqa: E402

MODELS = ("mnist-tower", "svhn-cnn", "strip-reader", "number-reader")


def sgemm_ceiling(n: int = 2048, repeats: int = 5) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    out = np.empty_like(a)
    nn.parallel.matmul(a, a, out)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        nn.parallel.matmul(a, a, out)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


def layer_flops(layer: nn.Layer, x_shape: tuple, y_shape: tuple) -> float:
    """Multiply-add flops of one forward pass (backward is twice this, or once without dx)."""
    if isinstance(layer, nn.Conv2D):
        N, F, Ho, Wo = y_shape
        kh, kw = layer.kernel_size
        return 2.0 * N * F * Ho * Wo * layer.in_channels * kh * kw
    if isinstance(layer, nn.Dense):
        return 2.0 * x_shape[0] * layer.in_features * layer.out_features
    return 0.0


def profile(model: nn.Sequential, x: np.ndarray, y: np.ndarray, repeats: int) -> None:
    loss = nn.SoftmaxCrossEntropy()
    fwd = {i: [] for i in range(len(model.layers))}
    bwd = {i: [] for i in range(len(model.layers))}
    shapes = {}
    for _ in range(repeats + 2):
        h = x
        for i, layer in enumerate(model.layers):
            start = time.perf_counter()
            out = layer.forward(h, training=True)
            fwd[i].append(time.perf_counter() - start)
            shapes[i] = (h.shape, out.shape)
            h = out
        loss.forward(h, y)
        g = loss.backward()
        for i in range(len(model.layers) - 1, -1, -1):
            start = time.perf_counter()
            g = model.layers[i].backward(g, input_grad=i > 0)
            bwd[i].append(time.perf_counter() - start)
    total = 0.0
    print(f"{'layer':40s} {'forward ms':>10s} {'backward ms':>11s} {'GFLOP/s f':>9s} "
          f"{'GFLOP/s b':>9s}")
    for i, layer in enumerate(model.layers):
        f = statistics.median(fwd[i][2:])
        b = statistics.median(bwd[i][2:])
        total += f + b
        flops = layer_flops(layer, *shapes[i])
        rates = ""
        if flops:
            back_flops = flops * (2 if i > 0 else 1)
            rates = f"{flops / f / 1e9:9.1f} {back_flops / b / 1e9:9.1f}"
        print(f"{i:2d} {layer!r:37.37s} {f * 1e3:10.2f} {b * 1e3:11.2f} {rates}")
    print(f"{'total':40s} {total * 1e3:10.2f} ms per step (sum of medians)\n")


def main() -> None:
    parser = OneLineParser(prog="bench/layer_profile.py",
                           description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=whole_number(1), default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--svhn-batch", type=int, default=128)
    parser.add_argument("--reader-batch", type=int, default=64, help="train.py's batch size")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    args = parser.parse_args()
    nn.parallel.set_num_threads(args.threads)
    print(f"threads {args.threads}; sgemm ceiling (2048^3 through nn.parallel.matmul): "
          f"{sgemm_ceiling():.0f} GFLOP/s\n")
    rng = np.random.default_rng(0)
    if "mnist-tower" in args.models:
        print("MNIST tower, 32 strips = 160 tiles of 1 x 28 x 28")
        profile(mnist_tower(), rng.standard_normal((160, 1, 28, 28)).astype(np.float32),
                rng.integers(0, 11, 160), args.repeats)
    n = args.svhn_batch
    if "svhn-cnn" in args.models:
        print(f"SVHN CNN, batch {n} of 3 x 32 x 32")
        profile(svhn_cnn(), rng.standard_normal((n, 3, 32, 32)).astype(np.float32),
                rng.integers(0, 10, n), args.repeats)
    n = args.reader_batch
    for name, builder, shape in (("strip-reader", strip_reader, (1, 28, 140)),
                                 ("number-reader", number_reader, (3, 54, 54))):
        if name in args.models:
            reader = builder()
            head = reader.heads[1].layers[-1]                          # a digit head
            print(f"{name} (trunk and one head), batch {n} of {' x '.join(map(str, shape))}")
            profile(nn.Sequential(list(reader.trunk.layers) + [head]),
                    rng.standard_normal((n, *shape)).astype(np.float32),
                    rng.integers(0, head.out_features, n), args.repeats)


if __name__ == "__main__":
    run_command("bench/layer_profile.py", main)
