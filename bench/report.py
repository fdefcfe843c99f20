"""Render bench/out/speed.json as the markdown table docs/results.md quotes.

    python bench/report.py [bench/out/speed.json]

Figures are printed as measured (rounded to whole images/s and two decimals of
ratio); nothing is typed by hand.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measurement import bench_error, read_record  # noqa: E402
from reader.cli import OneLineParser  # noqa: E402

# how docs/results.md names each benchmarked model: (name, what it reads, shipped by us)
NAMES = {"mnist-strips": ("mnist-strips", "notebook tower; strips", False),
         "svhn-digits": ("svhn-digits", "notebook CNN; images", False),
         "strip-reader": ("strip reader", "shipped; strips", True),
         "number-reader": ("house-number reader", "shipped; images", True)}


def model_cell(model: str) -> tuple[str, bool]:
    """The table's name for a benchmarked model (bold if it is a shipped reader)."""
    name, what, shipped = NAMES.get(model, (model, "strips" if "strip" in model else "images",
                                            False))
    return (f"**{name}** ({what})" if shipped else f"{name} ({what})"), shipped


def render(report: dict) -> str:
    m = report["machine"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in m["blas"])
    lines = [
        f"Command: `{report['command']}` — {report['threads']} threads, median of "
        f"{report['rounds']} rounds of {report['steps']} steps, nn and PyTorch alternating.",
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, NumPy {m['numpy']}, "
        f"Numba {m['numba']}, PyTorch {m['torch']}; BLAS {blas}; {m['date']}.",
        "",
        "| model | batch | train nn /s | train PyTorch /s | ratio | infer nn /s "
        "| infer PyTorch /s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        name, shipped = model_cell(r["model"])
        t, i = r["train_per_s"], r["infer_per_s"]
        ratios = [f"**{x:.2f}**" if shipped else f"{x:.2f}" for x in (t["ratio"], i["ratio"])]
        lines.append(f"| {name} | {r['batch']} | {t['nn']:.0f} | {t['torch']:.0f} "
                     f"| {ratios[0]} | {i['nn']:.0f} | {i['torch']:.0f} | {ratios[1]} |")
    if "cold_start" in report:
        lines.append("")
        for label, v in report["cold_start"].items():
            lines.append(f"- Numba cold start, {label.replace('_', ' ')}: import "
                         f"{v['import_s']:.2f} s; import + first training step of the two "
                         f"notebook models {v['import_and_first_step_s']:.2f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = OneLineParser(prog="bench/report.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path,
                        default=ROOT / "bench" / "out" / "speed.json")
    path = parser.parse_args().path
    try:
        table = render(read_record(path))
    except KeyError as err:
        bench_error(f"{path}: not a speed measurement (made by bench/speed.py; it has no {err})")
    except (TypeError, AttributeError, ValueError) as err:
        bench_error(f"{path}: not a speed measurement (made by bench/speed.py; {err})")
    print(table)
