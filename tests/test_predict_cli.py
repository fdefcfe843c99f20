"""predict.py on PNG files the tests write, its output formats, and bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reader_fixtures import ROOT, assert_one_line_error, run_cli, save_untrained_reader

import nn
import predict

SHIPPED = ROOT / "models" / "mnist-strips.npz"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return save_untrained_reader(tmp_path_factory.mktemp("model") / "reader.npz")


def write_png(path: Path, seed: int = 0, size=(28, 140)) -> Path:
    pixels = np.zeros(size, np.uint8)
    pixels[4:24, 10:20] = 255
    pixels[4:24, 40 + seed:50 + seed] = 200
    Image.fromarray(pixels).save(path)
    return path


def call(capsys, *argv):
    """predict.main in this process: (exit status, stdout, stderr)."""
    try:
        status = predict.main(list(argv))
    except SystemExit as done:
        status = done.code
    out = capsys.readouterr()
    return status, out.out, out.err


def test_one_tab_separated_line_per_image(capsys, model_file, tmp_path):
    a = write_png(tmp_path / "a.png", 0)
    b = write_png(tmp_path / "b.png", 30, size=(200, 900))      # any size is fitted
    status, out, err = call(capsys, "--model", str(model_file), str(a), str(b))
    assert status == 0 and err == ""
    lines = out.strip().split("\n")
    assert len(lines) == 2
    for line, path in zip(lines, (a, b), strict=True):
        name, number, confidence = line.split("\t")
        assert name == str(path)
        assert 1 <= len(number) <= 5 and number.isdigit()
        assert 0 <= float(confidence) <= 1


def test_json_output(capsys, model_file, tmp_path):
    a = write_png(tmp_path / "a.png")
    status, out, _ = call(capsys, "--model", str(model_file), "--json", str(a))
    results = json.loads(out)
    assert status == 0 and results[0]["path"] == str(a)
    assert set(results[0]) == {"path", "number", "confidence"}


def test_bad_images_are_named_and_the_good_ones_still_read(capsys, model_file, tmp_path):
    good = write_png(tmp_path / "good.png")
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    status, out, err = call(capsys, "--model", str(model_file), str(good), str(text),
                            str(tmp_path / "missing.png"))
    assert status == 2
    assert out.startswith(str(good) + "\t")
    lines = err.strip().split("\n")
    assert len(lines) == 2 and "Traceback" not in err
    assert "notes.txt: not an image Pillow can read" in lines[0]
    assert "missing.png: no such file" in lines[1]
    status, out, _ = call(capsys, "--model", str(model_file), "--json", str(text), str(good))
    results = json.loads(out)                   # every image has its entry, in order
    assert status == 2 and [r["path"] for r in results] == [str(text), str(good)]
    assert "not an image" in results[0]["error"] and "number" in results[1]


@pytest.mark.parametrize("content, needle", [
    (None, "no such file"),
    (b"garbage", "not a model file (not an .npz archive)"),
    ("plain", "not a number-reader model"),
])
def test_missing_or_damaged_model(capsys, tmp_path, content, needle):
    path = tmp_path / "model.npz"
    if content == "plain":
        nn.save(nn.Sequential([nn.Flatten()]), path)
    elif content is not None:
        path.write_bytes(content)
    status, out, err = call(capsys, "--model", str(path), str(write_png(tmp_path / "a.png")))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "model.npz" in err and needle in err


def _reader_file_with(tmp_path, change) -> Path:
    """An untrained strip reader saved after ``change(model, metadata)`` edits it."""
    path = save_untrained_reader(tmp_path / "source.npz")
    model = nn.load(path)
    change(model, model.metadata["reader"])
    model.save(tmp_path / "model.npz", model.metadata)
    return tmp_path / "model.npz"


@pytest.mark.parametrize("change, needle", [
    (lambda m, meta: meta.update(blank="x"), "blank class should be 10"),
    (lambda m, meta: meta.pop("blank"), "blank class should be 10"),
    (lambda m, meta: meta.update(alphabet="AB", blank=2), "gives outputs of widths"),
    (lambda m, meta: setattr(m, "heads", m.heads[:2]), "gives outputs of widths"),
    (lambda m, meta: setattr(m.trunk, "layers", m.trunk.layers[:4] + m.trunk.layers[-5:]),
     "do not fit a 28 x 140 input"),
    (lambda m, meta: meta.update(kind="number", input={"height": 54, "width": 54}),
     "do not fit a 54 x 54 input"),
], ids=["blank-not-a-number", "no-blank", "alphabet-of-two", "two-heads", "layers-removed",
        "strip-model-called-number-reader"])
def test_a_reader_file_that_contradicts_itself(capsys, tmp_path, change, needle):
    path = _reader_file_with(tmp_path, change)
    status, out, err = call(capsys, "--model", str(path), str(write_png(tmp_path / "a.png")))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "model.npz" in err and needle in err


def test_truncated_model_file(capsys, model_file, tmp_path):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(model_file.read_bytes()[:5000])
    status, _, err = call(capsys, "--model", str(cut), str(write_png(tmp_path / "a.png")))
    assert status == 2 and "cut.npz" in err


def test_a_run_folder_given_as_the_model_names_its_model_file(capsys, model_file, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.npz").write_bytes(model_file.read_bytes())
    status, _, err = call(capsys, "--model", str(run), str(write_png(tmp_path / "a.png")))
    assert status == 2 and f"its model is {run / 'model.npz'}" in err


def test_a_blank_image_has_nothing_to_read(capsys, model_file, tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((60, 90), 200, np.uint8)).save(blank)
    status, out, err = call(capsys, "--model", str(model_file), str(blank))
    assert status == 2 and out == "" and "blank.png: no ink to read" in err


def test_no_images_given(capsys):
    status, _, err = call(capsys)
    assert status == 2 and "IMAGE" in err


def test_bad_input_through_a_real_process(model_file, tmp_path):
    assert_one_line_error(run_cli("predict.py", "--model", str(tmp_path / "none.npz"), "x.png"),
                          "none.npz: no such file")
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    result = run_cli("predict.py", "--model", str(model_file), str(tmp_path / "x.jpg"))
    assert_one_line_error(result, "x.jpg")


@pytest.mark.realdata
def test_the_shipped_model_reads_real_test_strips(capsys, tmp_path, real_data_dir):
    from reader.tasks import fixed_strips, get_task, load_pools
    pools = load_pools(get_task("mnist-strips"), real_data_dir)
    sets = fixed_strips(pools.test, 10, seed=77)
    paths, truth = [], []
    for layout, (strips, labels) in sets.items():
        for i, (strip, label) in enumerate(zip(strips, labels, strict=True)):
            paths.append(str(tmp_path / f"{layout}-{i}.png"))
            Image.fromarray(255 - strip).save(paths[-1])            # dark ink on white paper
            truth.append("".join(str(c) for c in label if c != 10))
    status, out, _ = call(capsys, "--model", str(SHIPPED), *paths)
    read = [line.split("\t")[1] for line in out.strip().split("\n")]
    assert status == 0
    assert sum(r == t for r, t in zip(read, truth, strict=True)) >= 18


def test_ctrl_c_ends_a_command_with_one_line_and_status_130(capsys):
    from reader.cli import run_command

    def interrupted() -> int:
        raise KeyboardInterrupt
    with pytest.raises(SystemExit) as done:
        run_command("prog", interrupted)
    assert done.value.code == 130 and capsys.readouterr().err.strip() == "prog: interrupted"
    with pytest.raises(SystemExit) as done:
        run_command("prog", lambda: 2)
    assert done.value.code == 2


def test_predict_prints_each_photo_as_it_is_read_and_stops_cleanly_on_ctrl_c(tmp_path):
    import signal
    import subprocess

    from reader_fixtures import PYTHON, cli_env
    from svhn_fixtures import save_untrained_number_reader
    model = save_untrained_number_reader(tmp_path / "svhn.npz")
    rng = np.random.default_rng(0)
    photos = []
    for k in range(400):                         # far more than are read before the signal
        photos.append(str(tmp_path / f"{k}.png"))
        Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)).save(photos[-1])
    # A shell starts background jobs with SIGINT ignored, and a child would inherit
    # that (Python then installs no Ctrl-C handler): give it the default, as a terminal does.
    process = subprocess.Popen([PYTHON, "predict.py", "--model", str(model), *photos],
                               cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = process.stdout.readline()            # before the others are read
    assert first.startswith(f"{photos[0]}\t")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip() == "predict.py: interrupted" and len(out.splitlines()) < len(photos) - 1


def test_boxes_naming_an_existing_file_that_is_not_a_picture_is_refused(tmp_path):
    from svhn_fixtures import save_untrained_number_reader
    model = save_untrained_number_reader(tmp_path / "svhn.npz")
    (tmp_path / "notes.txt").write_text("mine")
    assert_one_line_error(run_cli("predict.py", "--model", str(model), "--boxes",
                                  str(tmp_path / "notes.txt"), str(write_png(tmp_path / "a.png"))),
                          "notes.txt: is a file, not a folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"
