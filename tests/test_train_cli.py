"""train.py end to end on tiny data: the run folder, exact kill-and-resume, bad input."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from reader_fixtures import (
    PYTHON,
    ROOT,
    assert_one_line_error,
    cli_env,
    read_json,
    run_cli,
    write_tiny_mnist,
)

import nn
import train
from nn.serialize import model_arrays, read_npz
from reader.evaluate import load_reader
from reader.models import build
from reader.training import load_checkpoint

TINY = ["--epochs", "2", "--steps-per-epoch", "4", "--batch-size", "8",
        "--validation-count", "10", "--test-count", "20"]


@pytest.fixture(scope="module")
def whole_run(tiny_data, tmp_path_factory):
    """One uninterrupted tiny run, shared by the tests below."""
    out = tmp_path_factory.mktemp("runs") / "whole"
    result = run_cli("train.py", *TINY, "--data-dir", str(tiny_data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result


def weights(path):
    """All arrays of a model file except the JSON header."""
    return {k: v for k, v in read_npz(path).items() if k != "__architecture__"}


def same_weights(a, b) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_a_tiny_run_writes_the_whole_run_folder(whole_run):
    out, result = whole_run
    for name in ("model.npz", "checkpoint.npz", "metrics.json", "train.log", "config.json",
                 "curves.png", "samples.png", "mistakes.png"):
        assert (out / name).is_file(), name
    metrics = read_json(out / "metrics.json")
    for layout in ("canonical", "free"):
        m = metrics["test"][layout]
        assert m["count"] == 20
        assert 0 <= m["sequence_accuracy"] <= m["per_char_accuracy"] <= 1
        assert set(m) >= {"length_accuracy", "accuracy_by_length", "confusion"}
        assert np.array(m["confusion"]).shape == (11, 11)
    model, meta = load_reader(out / "model.npz")
    assert meta["kind"] == "strip" and meta["task"] == "mnist-strips"
    assert "train.py" in meta["command"]
    assert "canonical sequence" in result.stdout
    assert "epoch 2/2" in (out / "train.log").read_text()


def test_stop_and_resume_equals_the_uninterrupted_run(whole_run, tiny_data, tmp_path):
    whole, _ = whole_run
    out = tmp_path / "split"
    first = run_cli("train.py", *TINY, "--data-dir", str(tiny_data), "--out", str(out),
                    "--stop-after", "3", "--checkpoint-every", "2")
    assert first.returncode == 0 and "--resume" in first.stdout
    assert not (out / "model.npz").exists()
    second = run_cli("train.py", "--resume", str(out), "--data-dir", str(tiny_data))
    assert second.returncode == 0, second.stderr
    assert same_weights(whole / "model.npz", out / "model.npz")
    a, b = read_json(whole / "metrics.json"), read_json(out / "metrics.json")
    assert a["test"] == b["test"] and a["validation_history"] == b["validation_history"]


def test_killed_and_resumed_equals_the_uninterrupted_run(whole_run, tiny_data, tmp_path):
    whole, _ = whole_run
    out = tmp_path / "killed"
    proc = subprocess.Popen([PYTHON, "train.py", *TINY, "--data-dir", str(tiny_data),
                             "--out", str(out), "--checkpoint-every", "1"],
                            cwd=ROOT, env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (out / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)                 # no chance to clean up
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and not (out / "model.npz").exists()
    result = run_cli("train.py", "--resume", str(out), "--data-dir", str(tiny_data))
    assert result.returncode == 0, result.stderr
    assert same_weights(whole / "model.npz", out / "model.npz")


# ------------------------------------------------------------------ bad input

def call(capsys, *argv):
    """Run train.main in this process; return (exit status, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        train.main(list(argv))
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("argv, needle", [
    (["--epochs", "-3"], "argument --epochs: must be a whole number >= 1, got '-3'"),
    (["--batch-size", "0"], "argument --batch-size: must be a whole number >= 1, got '0'"),
    (["--steps-per-epoch", "x"], "argument --steps-per-epoch"),
    (["--lr", "0"], "argument --lr: must be a number > 0"),
    (["--lr", "nan"], "argument --lr: must be a number > 0"),
    (["--seed", "-1"], "argument --seed"),
    (["--task", "svhn"], "argument --task: invalid choice"),
    (["--layout", "diagonal"], "argument --layout: invalid choice"),
    (["--batch-size", "1000000000"], "argument --batch-size: must be at most 4,096"),
    (["--validation-count", "1000000000"], "argument --validation-count: must be at most"),
    (["--hidden", "1000000000"], "argument --hidden: must be at most 8,192"),
    (["--lr", "1e30"], "argument --lr: must be at most 1"),
    (["--task", "svhn-numbers", "--layout", "free"], "--layout: task svhn-numbers has no such"),
    (["--task", "svhn-digits", "--second-conv"], "--second-conv: task svhn-digits has no such"),
    (["--protocol", "literature"], "--protocol: task mnist-strips has no such setting"),
    (["--task", "svhn-numbers", "--test-count", "20"], "--test-count: task svhn-numbers has no"),
    (["--task", "svhn-digits", "--synthetic-share", "1.5"],
     "argument --synthetic-share: must be a number from 0 to 1 or 'alike', got '1.5'"),
    (["--task", "svhn-digits", "--synthetic-share", "half"],
     "argument --synthetic-share: must be a number from 0 to 1 or 'alike', got 'half'"),
    (["--task", "svhn-numbers", "--negatives", "nan"],
     "argument --negatives: must be a number from 0 to 0.5, got 'nan'"),
    (["--synthetic-share", "0.3"], "--synthetic-share: task mnist-strips has no such setting"),
])
def test_bad_option_values(capsys, argv, needle):
    status, err = call(capsys, *argv)
    assert status == 2 and len(err.strip().splitlines()) == 1 and needle in err


def test_missing_data_names_the_file(capsys, tmp_path):
    status, err = call(capsys, "--data-dir", str(tmp_path / "empty"), "--out",
                       str(tmp_path / "run"))
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "train-images-idx3-ubyte.gz" in err and "put" in err
    assert not (tmp_path / "run").exists()               # a failed start leaves no run folder


def test_corrupt_data_names_the_file(capsys, tmp_path):
    data = write_tiny_mnist(tmp_path / "data")
    path = data / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])                     # truncated download
    status, err = call(capsys, *TINY, "--data-dir", str(data), "--out", str(tmp_path / "r"))
    assert status == 2 and "t10k-images-idx3-ubyte.gz" in err
    wrong = data / "mnist" / "train-labels-idx1-ubyte.gz"
    wrong.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + bytes(100)))   # wrong magic number
    status, err = call(capsys, *TINY, "--data-dir", str(data), "--out", str(tmp_path / "r"))
    assert status == 2 and "magic" in err


def test_resume_without_a_checkpoint(capsys, tmp_path):
    status, err = call(capsys, "--resume", str(tmp_path))
    assert status == 2 and "no checkpoint.npz" in err
    status, err = call(capsys, "--resume", str(tmp_path / "nope"))
    assert status == 2 and "nope: no such folder" in err


def test_resume_of_a_finished_run_says_so(capsys, whole_run):
    out, _ = whole_run
    status, err = call(capsys, "--resume", str(out))
    assert status == 2 and "that run is finished" in err and "--init" in err


def test_ctrl_c_finishes_the_step_writes_a_checkpoint_and_loses_nothing(
        whole_run, tiny_data, tmp_path, capsys, monkeypatch):
    """SIGINT in the middle of a step (here sent by the step itself): the step ends,
    a checkpoint is written although --checkpoint-every is far away, the exit
    status is 130, and resuming gives the uninterrupted run's weights."""
    import reader.training

    whole, _ = whole_run
    make_job = reader.training.make_job

    def job_that_gets_ctrl_c(cfg, data_dir):
        job = make_job(cfg, data_dir)
        step = job.train_step

        def train_step(model, optimizer, epoch, i):
            if (epoch, i) == (0, 2):
                os.kill(os.getpid(), signal.SIGINT)
            return step(model, optimizer, epoch, i)
        job.train_step = train_step
        return job

    monkeypatch.setattr(reader.training, "make_job", job_that_gets_ctrl_c)
    out = tmp_path / "ctrl-c"
    status = train.main([*TINY, "--data-dir", str(tiny_data), "--out", str(out),
                         "--checkpoint-every", "1000"])
    captured = capsys.readouterr()
    assert status == 130 and f"--resume {out}" in captured.out
    log = (out / "train.log").read_text()
    assert "interrupted in epoch 1/2, step 3/4; checkpoint written" in log
    assert not (out / "model.npz").exists()
    monkeypatch.undo()
    result = run_cli("train.py", "--resume", str(out), "--data-dir", str(tiny_data))
    assert result.returncode == 0, result.stderr
    assert same_weights(whole / "model.npz", out / "model.npz")


def test_resume_with_a_damaged_checkpoint(capsys, tmp_path, tiny_data):
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 not really a zip")
    status, err = call(capsys, "--resume", str(tmp_path), "--data-dir", str(tiny_data))
    assert status == 2 and "checkpoint.npz" in err and len(err.strip().splitlines()) == 1


def test_resume_refuses_new_settings(capsys, whole_run):
    out, _ = whole_run
    status, err = call(capsys, "--resume", str(out), "--epochs", "9")
    assert status == 2 and "--epochs" in err


def test_out_folder_with_a_run_is_not_overwritten(capsys, whole_run, tmp_path):
    out, _ = whole_run
    status, err = call(capsys, "--out", str(out))
    assert status == 2 and "already holds a finished run" in err and "--init" in err
    unfinished = tmp_path / "unfinished"                 # a checkpoint, no metrics.json yet
    unfinished.mkdir()
    shutil.copy(out / "checkpoint.npz", unfinished)
    status, err = call(capsys, "--out", str(unfinished))
    assert status == 2 and f"already holds a run; continue it with --resume {unfinished}" in err


def test_bad_input_through_a_real_process(tmp_path):
    assert_one_line_error(run_cli("train.py", "--epochs", "-3"), "--epochs")
    assert_one_line_error(run_cli("train.py", "--data-dir", str(tmp_path), "--out",
                                  str(tmp_path / "r")), "train-images-idx3-ubyte.gz")


@pytest.mark.realdata
def test_a_few_steps_on_real_mnist(tmp_path, real_data_dir):
    result = run_cli("train.py", "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "16",
                     "--validation-count", "50", "--test-count", "50", "--out",
                     str(tmp_path / "real"), env_extra={"DIGITS_DATA": str(real_data_dir)})
    assert result.returncode == 0, result.stderr
    assert read_json(tmp_path / "real" / "metrics.json")["test"]["canonical"]["count"] == 50


def test_init_copies_every_array_of_the_model_file(whole_run, tiny_data):
    from reader.training import Config, make_job, start_from
    out, _ = whole_run
    cfg = Config(**read_json(out / "config.json"))
    model = make_job(cfg, str(tiny_data)).build_model()           # fresh random weights
    start_from(model, str(out / "model.npz"), cfg)
    trained = dict((name, store[key]) for name, store, key in nn.load(out / "model.npz")
                   .named_arrays())
    copied = dict((name, store[key]) for name, store, key in model.named_arrays())
    assert trained.keys() == copied.keys()
    assert all(np.array_equal(trained[k], copied[k]) for k in trained)


def test_init_run_continues_from_a_trained_model(whole_run, tiny_data, tmp_path):
    out, _ = whole_run
    assert train.main([*TINY, "--data-dir", str(tiny_data), "--out", str(tmp_path / "r"),
                       "--init", str(out / "model.npz"), "--stop-after", "1"]) == 0
    config = read_json(tmp_path / "r" / "config.json")
    assert config["init"] == str(out / "model.npz")
    # One Adam step moves each weight by at most the learning rate, so after it every
    # weight is within lr of the trained one (a run from fresh weights is 4 lr away or more).
    trained = {n: layer.params[k] for n, layer, k in nn.load(out / "model.npz").named_parameters()}
    model, *_ = load_checkpoint(tmp_path / "r" / "checkpoint.npz")
    moved = max(float(np.abs(layer.params[k] - trained[n]).max())
                for n, layer, k in model.named_parameters())
    assert 0 < moved <= 1.01 * config["lr"]


def test_init_refuses_a_model_of_another_kind_or_a_damaged_file(capsys, whole_run, tiny_data,
                                                                  tmp_path):
    out, _ = whole_run
    status, err = call(capsys, *TINY, "--data-dir", str(tiny_data), "--out", str(tmp_path / "a"),
                       "--model", "tower", "--init", str(out / "model.npz"))
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "model.npz: trained with model 'strip', this run has model 'tower'" in err
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"not a model")
    status, err = call(capsys, *TINY, "--data-dir", str(tiny_data), "--out", str(tmp_path / "b"),
                       "--init", str(damaged))
    assert status == 2 and "damaged.npz" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()   # nothing left


@pytest.mark.parametrize("option, key, value, default", [("--distort", "distort", True, False),
                                                         ("--shift=0", "shift", 0, 2)])
def test_distort_and_shift_are_settings_of_the_run(tiny_data, tmp_path, option, key, value,
                                                   default):
    weights_after = {}
    for name, extra in (("plain", []), ("changed", [option])):
        out = tmp_path / name
        assert train.main([*TINY, "--data-dir", str(tiny_data), "--out", str(out), *extra,
                           "--stop-after", "2"]) == 0
        assert read_json(out / "config.json")[key] == (value if extra else default)
        weights_after[name] = model_arrays(load_checkpoint(out / "checkpoint.npz")[0])
    # the same run but for the warped or moved inputs: other batches, other weights
    plain, changed = weights_after["plain"], weights_after["changed"]
    assert plain.keys() == changed.keys()
    assert not all(np.array_equal(plain[k], changed[k]) for k in plain)


def test_second_conv_and_hidden_shape_the_strip_model(tiny_data, tmp_path):
    out = tmp_path / "deeper"
    assert train.main([*TINY, "--data-dir", str(tiny_data), "--out", str(out), "--second-conv",
                       "--hidden", "64", "--stop-after", "2"]) == 0
    config = read_json(out / "config.json")
    assert config["second_conv"] is True and config["hidden"] == 64
    arrays = weights(out / "checkpoint.npz")
    plain = build("strip", seed=0)
    deeper = build("strip", seed=0, second_conv=True, hidden=64)
    convs = [layer for layer in deeper.trunk.layers if isinstance(layer, nn.Conv2D)]
    assert len(convs) == 1 + len([la for la in plain.trunk.layers if isinstance(la, nn.Conv2D)])
    assert convs[1].params["W"].shape == (32, 32, 3, 3)
    assert deeper.num_parameters() != plain.num_parameters()
    assert any(a.shape == (64, 5) for a in arrays.values())     # the length head reads 64 units


def test_a_checkpoint_from_before_shift_resumes_without_moves(whole_run, tmp_path):
    out, _ = whole_run
    arrays = read_npz(out / "checkpoint.npz")
    assert load_checkpoint(out / "checkpoint.npz")[3].shift == 2        # today's default
    header = json.loads(str(arrays["__architecture__"]))
    del header["metadata"]["reader"]["config"]["shift"]                 # as runs before it
    arrays["__architecture__"] = np.array(json.dumps(header))
    np.savez(tmp_path / "old.npz", **arrays)
    assert load_checkpoint(tmp_path / "old.npz")[3].shift == 0


@pytest.mark.parametrize("task, share", [("svhn-digits", "alike"), ("svhn-numbers", 0.5)])
def test_a_checkpoint_from_before_synthetic_share_and_cuts_resumes_with_its_mix(
        whole_run, tmp_path, task, share):
    out, _ = whole_run
    arrays = read_npz(out / "checkpoint.npz")
    header = json.loads(str(arrays["__architecture__"]))
    config = header["metadata"]["reader"]["config"]
    del config["synthetic_share"], config["cuts"]                      # as runs before them
    config["task"] = task
    arrays["__architecture__"] = np.array(json.dumps(header))
    np.savez(tmp_path / "old.npz", **arrays)
    old = load_checkpoint(tmp_path / "old.npz")[3]
    assert old.synthetic_share == share and old.cuts == 1
