"""How nn uses the CPU cores.

Two thread pools on two cores fight: OpenBLAS keeps its threads spinning for a
while after each matrix product, and a Numba parallel loop started in that
window gets half a core (measured: a kernel + sgemm pair took 20 ms instead of
8 ms). So nn runs one pool of its own, BLAS single-threaded and Numba kernels
serial:

* convolution splits the batch into one contiguous slice per worker; each
  worker unfolds, multiplies (single-threaded BLAS) and folds back its own
  slice, start to end, with no synchronisation in between;
* large matrix products (``matmul``) split their rows across the workers;
* pooling splits the batch the same way and ReLU its flat array, or they run
  on the calling thread when the job is too small to be worth handing out;
* batch norm splits the channels: one worker computes a channel's sums whole.

Work is divided in a fixed way, and partial sums are added in a fixed order,
so results do not depend on thread timing: a resumed training run repeats an
uninterrupted one bit for bit on the same machine with the same number of
workers (another number groups the sums differently).

Importing nn limits BLAS to one thread for the whole process (threadpoolctl);
``set_num_threads`` or ``NN_NUM_THREADS`` sets the number of workers (default:
``os.cpu_count()``, the logical CPUs, which ignores container CPU limits).
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

T = TypeVar("T")

_blas = ThreadpoolController()
_blas.limit(limits=1, user_api="blas")

_workers = 1
_pool: ThreadPoolExecutor | None = None
MIN_PARALLEL_WORK = 2**18        # elements; below this a job is not worth splitting
MIN_PARALLEL_MATMUL = 2**23      # multiply-adds; likewise for matmul


def set_num_threads(n: int) -> None:
    """Use ``n`` worker threads for nn's kernels."""
    global _workers, _pool
    if n < 1:
        raise ValueError(f"need at least one thread, got {n}")
    if _pool is not None:
        _pool.shutdown()
    _workers = n
    _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="nn") if n > 1 else None


def num_threads() -> int:
    return _workers


def run_workers(task: Callable[[int], T]) -> list[T]:
    """Call ``task(w)`` for w = 0 … num_threads()-1 concurrently; results in order of w."""
    if _pool is None:
        return [task(0)]
    return list(_pool.map(task, range(_workers)))


def run_workers_on(pieces: list[tuple[int, int]],
                   task: Callable[[int, int, int], T]) -> list[T]:
    """Call ``task(w, start, stop)`` for the w-th piece, concurrently; results in order."""
    if _pool is None or len(pieces) == 1:
        return [task(w, a, b) for w, (a, b) in enumerate(pieces)]
    return list(_pool.map(lambda w: task(w, *pieces[w]), range(len(pieces))))


def over_batch(n: int, work: int, task: Callable[[int, int], None]) -> None:
    """Run task(start, stop) over range(n), one slice per worker when there is enough work.

    ``work`` is the number of elements touched. Handing a slice to a worker
    costs tens of microseconds, more than a ReLU over 100k floats, so small
    jobs run on the calling thread.
    """
    if _pool is None or n < 2 or work < MIN_PARALLEL_WORK:
        task(0, n)
        return
    run_workers_on(split(n, min(_workers, n)), lambda _w, start, stop: task(start, stop))


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """Cut range(n) into ``parts`` contiguous (start, stop) pieces of near-equal size."""
    bounds = [n * k // parts for k in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a @ b for 2-D arrays, the rows of ``a`` shared among the workers when it pays."""
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    if _pool is None or a.shape[0] * a.shape[1] * b.shape[1] < MIN_PARALLEL_MATMUL:
        return np.matmul(a, b, out=out)
    pieces = split(a.shape[0], _workers)

    def rows(w: int) -> None:
        r0, r1 = pieces[w]
        np.matmul(a[r0:r1], b, out=out[r0:r1])

    run_workers(rows)
    return out


set_num_threads(int(os.environ.get("NN_NUM_THREADS", os.cpu_count() or 1)))
