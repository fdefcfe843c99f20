"""python -m reader.ship: a float16 copy of a run's model, written only after the
validation readings were compared, and never half-written or over its source."""

import numpy as np
import pytest
from reader_fixtures import (
    assert_one_line_error,
    run_cli,
    save_untrained_reader,
)

import nn
from reader import ship


@pytest.fixture
def run_model(tmp_path):
    return save_untrained_reader(tmp_path / "model.npz")


def readings_that_change(monkeypatch, changed: int) -> None:
    """Stand-ins for ship's validation inputs and readings: 10 readings, and on the
    second call (the float16 copy) the first ``changed`` of them different."""
    calls = []

    def readings(model, meta, inputs):
        labels = np.arange(10)[:, None].repeat(5, axis=1)
        if calls:
            labels[:changed] += 1
        calls.append(model)
        return labels
    monkeypatch.setattr(ship, "validation_inputs", lambda meta, data_dir: np.zeros((10, 1)))
    monkeypatch.setattr(ship, "readings", readings)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".ship-"))


def test_the_copy_is_float16_and_computes_in_float32(run_model, tmp_path, monkeypatch, capsys):
    readings_that_change(monkeypatch, 0)
    out = tmp_path / "shipped.npz"
    assert ship.main([str(run_model), str(out)]) == 0
    assert "10 of 10 validation readings unchanged" in capsys.readouterr().out
    stored = np.load(out, allow_pickle=False)
    assert any(stored[k].dtype == np.float16 for k in stored.files)
    assert out.stat().st_size < 0.6 * run_model.stat().st_size
    model = nn.load(out)
    assert all(p.dtype == np.float32 for _, p, _ in model.named_parameters())
    assert leftovers(tmp_path) == []


def test_changed_readings_stop_the_copy_unless_allowed(run_model, tmp_path, monkeypatch,
                                                        capsys):
    out = tmp_path / "shipped.npz"
    readings_that_change(monkeypatch, 2)
    with pytest.raises(SystemExit) as exit_info:
        ship.main([str(run_model), str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "2 of 10 validation readings change" in err
    assert not out.exists() and leftovers(tmp_path) == []
    readings_that_change(monkeypatch, 2)
    assert ship.main([str(run_model), str(out), "--allow-changes"]) == 0
    assert "8 of 10 validation readings unchanged" in capsys.readouterr().out
    assert out.is_file() and leftovers(tmp_path) == []


def test_missing_data_writes_nothing(run_model, tmp_path):
    out = tmp_path / "shipped.npz"
    result = run_cli("-m", "reader.ship", str(run_model), str(out), "--data-dir",
                     str(tmp_path / "no-data"))
    assert_one_line_error(result, "mnist")
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("out, needle", [
    ("same", "is the model file itself"),
    ("folder/", "folder/ is a folder, not a file"),                 # named as one
    ("a-folder", "a-folder is a folder, not a file"),               # there is one
    ("no-such-folder/x.npz", "there is no folder"),
])
def test_bad_output_paths(run_model, tmp_path, out, needle):
    # Refused before any work: no data folder is given, so a command that went on
    # would fail on the missing MNIST files instead (and try to download them).
    (tmp_path / "a-folder").mkdir()
    target = str(run_model) if out == "same" else f"{tmp_path}/{out}"   # keeps a trailing /
    before = run_model.read_bytes()
    result = run_cli("-m", "reader.ship", str(run_model), target,
                     "--data-dir", str(tmp_path / "no-data"))
    assert_one_line_error(result, needle)
    assert "mnist" not in result.stderr
    assert run_model.read_bytes() == before and leftovers(tmp_path) == []


def test_a_real_run_through_the_command_line(run_model, tiny_data, tmp_path):
    out = tmp_path / "shipped.npz"
    result = run_cli("-m", "reader.ship", str(run_model), str(out), "--data-dir",
                     str(tiny_data), "--allow-changes")
    assert result.returncode == 0, result.stderr
    assert "of 2000 validation readings unchanged" in result.stdout   # 1,000 per layout
    assert nn.load(out).num_parameters() == nn.load(run_model).num_parameters()
