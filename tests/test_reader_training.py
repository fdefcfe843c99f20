"""Tasks, training batches and the training loop, in-process on tiny data (reader.tasks,
reader.training)."""

import numpy as np
import pytest

from data import DataError
from data.mnist import load_mnist
from data.strips import make_strips
from nn.serialize import model_arrays
from reader.tasks import TrainStrips, fixed_strips, get_task, load_pools
from reader.training import Config, load_checkpoint, train


def test_pools_are_split_without_overlap(tiny_data):
    pools = load_pools(get_task("mnist-strips"), tiny_data)
    assert (len(pools.train), len(pools.validation), len(pools.test)) == (100, 20, 40)
    # train, then validation, are the training file in order (each of its images once;
    # the tiny images are all different), and test is the test file
    mnist = load_mnist(tiny_data, download=False)
    for part in ("images", "labels"):
        together = np.concatenate([getattr(pools.train, part), getattr(pools.validation, part)])
        assert np.array_equal(together, getattr(mnist, f"train_{part}"))
        assert np.array_equal(getattr(pools.test, part), getattr(mnist, f"test_{part}"))
    assert len({image.tobytes() for image in mnist.train_images}) == 120


def test_missing_data_is_a_data_error_naming_the_file_not_a_download(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz"):
        load_pools(get_task("mnist-strips"), tmp_path)


@pytest.mark.parametrize("layout", ["canonical", "free", "mixed"])
def test_batches_are_a_function_of_seed_epoch_and_step(tiny_data, layout):
    pool = load_pools(get_task("mnist-strips"), tiny_data).train
    a = TrainStrips(pool, layout, 8, 5, seed=3)
    b = TrainStrips(pool, layout, 8, 5, seed=3)
    s1, l1 = a.batch(2, 4)
    a.batch(0, 0)                                    # order of calls does not matter
    s2, l2 = b.batch(2, 4)
    assert np.array_equal(s1, s2) and np.array_equal(l1, l2)
    assert s1.shape == (8, 28, 140) and l1.shape == (8, 5)
    assert not np.array_equal(s1, a.batch(2, 3)[0])


def test_mixed_batches_are_half_canonical(tiny_data):
    pool = load_pools(get_task("mnist-strips"), tiny_data).train
    strips, labels = TrainStrips(pool, "mixed", 40, 1, seed=0).batch(0, 0)
    lengths = (labels != 10).sum(axis=1)
    assert (lengths[:20] < 5).any()                  # the check below has strips to look at
    # canonical strips are black after their length's slots
    for strip, n in zip(strips[:20], lengths[:20], strict=True):
        assert n == 5 or strip[:, 28 * n:].max() == 0
    # As documented (reader.tasks.MixedStream): from default_rng([seed, epoch, step]),
    # the first half in the canonical layout, the rest free.
    rng = np.random.default_rng([0, 0, 0])
    canonical = make_strips(pool.images, pool.labels, 20, rng, "canonical")
    free = make_strips(pool.images, pool.labels, 20, rng, "free")
    assert np.array_equal(strips, np.concatenate([canonical[0], free[0]]))
    assert np.array_equal(labels, np.concatenate([canonical[1], free[1]]))


def test_fixed_strips_do_not_depend_on_anything_but_the_seed(tiny_data):
    pool = load_pools(get_task("mnist-strips"), tiny_data).test
    a, b = fixed_strips(pool, 10, 5), fixed_strips(pool, 10, 5)
    assert set(a) == {"canonical", "free"}
    for k in a:
        assert np.array_equal(a[k][0], b[k][0]) and np.array_equal(a[k][1], b[k][1])
        assert a[k][0].shape == (10, 28, 140) and a[k][1].shape == (10, 5)
    # ... and do depend on it: another seed, another set; each layout its own draw
    other = fixed_strips(pool, 10, 6)
    assert not any(np.array_equal(a[k][0], other[k][0]) for k in a)
    assert not np.array_equal(a["canonical"][1], a["free"][1])


def test_stop_and_resume_in_process_matches_one_run(tiny_data, tmp_path):
    cfg = Config(epochs=2, steps_per_epoch=3, batch_size=8, validation_count=10,
                 test_count=10, checkpoint_every=2)
    whole = train(cfg, tmp_path / "whole", tiny_data)
    assert train(cfg, tmp_path / "split", tiny_data, stop_after=4)["status"] == "stopped"
    split = train(cfg, tmp_path / "split", tiny_data, resume=True)
    assert whole["test"] == split["test"]
    m1, a1, s1, _ = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")
    m2, a2, s2, _ = load_checkpoint(tmp_path / "split" / "checkpoint.npz")
    assert s1.losses == s2.losses and s1.validation == s2.validation
    w1, w2 = model_arrays(m1), model_arrays(m2)                 # weights and BN averages
    assert w1.keys() == w2.keys() and all(np.array_equal(w1[k], w2[k]) for k in w1)
    optimizer = [k for k in a1 if k.startswith("optimizer/")]  # Adam's moments, step count
    assert optimizer and all(np.array_equal(a1[k], a2[k]) for k in optimizer)


def test_a_config_from_an_older_run_reads_one_hard_negatives_name_as_one_file():
    from reader.training import Config
    assert Config(hard_negatives="runs/mined.npz").hard_negatives == ("runs/mined.npz",)
    assert Config(hard_negatives="").hard_negatives == ()
    assert Config(hard_negatives=["a.npz", "b.npz"]).hard_negatives == ("a.npz", "b.npz")


def test_positions_are_counted_as_the_progress_bar_counts():
    from reader.training import State, position
    cfg = Config(epochs=2, steps_per_epoch=3)
    assert position(State(0, 2), cfg) == "epoch 1/2, step 2/3"
    assert position(State(1, 0), cfg) == "after epoch 1/2"
    assert position(State(2, 0), cfg) == "after epoch 2/2"      # stopped while validating
    assert position(State(0, 0), cfg) == "epoch 1/2, step 0/3"
