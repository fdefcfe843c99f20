"""What the accuracy benches write: their figures, with the command, the machine and the date.

docs/results.md quotes only figures a script measured; the record says how
to measure them again.
"""

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


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
