"""The bench scripts that turn measurement files into the tables of docs/results.md."""

import pytest
from reader_fixtures import ROOT, assert_one_line_error, run_cli

MEASUREMENTS = ROOT / "docs" / "measurements"


@pytest.mark.parametrize("script, wrong, needle", [
    ("bench/report.py", "photos.json", "not a speed measurement"),
    ("bench/search_table.py", "photos.json", "not a search measurement"),
    ("bench/search_table.py", "speed-2026-11-24.json", "not a search measurement"),
    ("bench/views_table.py", "locate-svhn.json", "not a views measurement"),
])
def test_a_measurement_of_another_kind_is_named_in_one_line(script, wrong, needle):
    result = run_cli(script, str(MEASUREMENTS / wrong))
    assert_one_line_error(result, wrong, needle)
    assert result.stdout == ""                      # no table header before the error


def test_the_speed_table_in_results_md_is_what_report_py_prints():
    result = run_cli("bench/report.py", str(MEASUREMENTS / "speed-2026-11-24.json"))
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert len(table) == 7 and table[0].startswith("| model | batch |")
    results = (ROOT / "docs" / "results.md").read_text().splitlines()
    start = results.index(table[0])
    assert results[start:start + len(table)] == table
