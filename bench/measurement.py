"""What the accuracy benches write: their figures, with the command, the machine and the date.

docs/results.md quotes only figures a script measured; the record says how
to measure them again.
"""

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nn  # noqa: E402
from reader.cli import fail  # noqa: E402
from reader.evaluate import load_reader  # noqa: E402


def bench_error(message: str) -> NoReturn:
    """One line naming what is wrong, exit status 2 (reader.cli.fail, as this script)."""
    fail(f"bench/{Path(sys.argv[0]).name}", message)


def read_record(path: Path) -> dict[str, Any]:
    """A measurement file written by a bench script, or one line saying why it cannot be read."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        bench_error(f"{path}: not a readable measurement file ({err})")
    if not isinstance(record, dict):
        bench_error(f"{path}: not a measurement file (no JSON object)")
    return record


def load_number_reader(path: Path) -> tuple[nn.Model, dict[str, Any]]:
    """The house-number reader at ``path`` (model, metadata), or one line saying
    why the file is not one."""
    try:
        model, meta = load_reader(path)
    except nn.ModelFileError as err:
        bench_error(f"--model {err}")
    if meta["kind"] != "number":
        bench_error(f"--model {path}: a {meta['kind']} reader; the search needs a "
                    "house-number reader (svhn-numbers)")
    return model, meta


def save_measurement(path: Path, figures: dict[str, Any]) -> None:
    """Write ``figures`` to the JSON file ``path`` after the command that made them
    (this process's, as ``python bench/<script> ARGS``), the machine and today's date.

    A ``model`` figure that is a path inside the repository is written relative
    to it, so the record reads the same on every checkout.
    """
    if "model" in figures:
        model = Path(figures["model"]).resolve()
        figures = {**figures, "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT)
                                           else figures["model"])}
    command = " ".join(["python", f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    record = {"command": command,
              "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
              "date": time.strftime("%Y-%m-%d"), **figures}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
