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


def save_measurement(path: Path, figures: dict[str, Any]) -> None:
    """Write ``figures`` to the JSON file ``path`` after the command that made them
    (this process's, as ``python bench/<script> ARGS``), the machine and today's date."""
    command = " ".join(["python", f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    record = {"command": command,
              "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
              "date": time.strftime("%Y-%m-%d"), **figures}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
