"""`deconflict check` as a planner runs it: a real process, the shipped example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "syria-2015.json"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "deconflict", "check", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


def pairs(out: str) -> set[tuple[str, str]]:
    doc = json.loads(out)
    return {(c["notices"][0], c["notices"][1]) for c in doc["conflicts"]}


def test_example_without_buffers() -> None:
    result = run(str(EXAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    assert pairs(result.stdout) == {
        ("coalition-strike-idlib", "ru-cap-hama-idlib"),
        ("ru-fires-maarat", "msf-hospital-maarat"),
    }
    doc = json.loads(result.stdout)
    fires = next(c for c in doc["conflicts"] if c["notices"][1] == "msf-hospital-maarat")
    assert fires["volume_pairs"] == [[0, 0]]
    assert fires["overlaps"][0]["region"]["type"] == "Polygon"
    assert fires["overlaps"][0]["time_window"] == {
        "start": "2015-10-01T04:00:00.000000Z",
        "end": "2015-10-01T05:00:00.000000Z",
    }


def test_example_near_misses_appear_with_buffers() -> None:
    lateral = run(str(EXAMPLE), "--json", "--lateral-buffer-m", "5000")
    assert ("ru-fires-maarat", "un-convoy-m5") in pairs(lateral.stdout)
    convoy = next(
        c for c in json.loads(lateral.stdout)["conflicts"] if "un-convoy-m5" in c["notices"]
    )
    # The convoy passes about 1.4 km from the fires area: a near miss, not an overlap.
    assert 1_000 < convoy["min_distance_m"] < 2_000
    assert convoy["overlaps"][0]["region"] is None
    vertical = run(str(EXAMPLE), "--json", "--vertical-buffer-m", "305")
    assert ("coalition-strike-idlib", "ru-transit-latakia") in pairs(vertical.stdout)
    assert len(pairs(vertical.stdout)) == 3


def test_table_output() -> None:
    result = run(str(EXAMPLE))
    assert result.returncode == 0
    assert "2 conflicts" in result.stdout
    assert "ru-fires-maarat x msf-hospital-maarat" in result.stdout


def test_invalid_input_exits_non_zero_with_paths(tmp_path: Path) -> None:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text())
    doc["notices"][2]["volumes"][0]["time_end"] = "2015-09-30T06:00:00"
    doc["notices"][4]["volumes"][0]["radius_m"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run(str(bad), "--json")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "notices[2].volumes[0].time_end: time zone missing" in result.stderr
    assert "notices[4].volumes[0].radius_m" in result.stderr


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    missing = run(str(tmp_path / "nope.json"))
    assert missing.returncode != 0 and "cannot read" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"notices": [')
    assert "not valid JSON" in run(str(broken)).stderr
    assert run("-", stdin='{"nothing": 1}').returncode != 0
    negative = run(str(EXAMPLE), "--lateral-buffer-m", "-5")
    assert negative.returncode != 0 and "--lateral-buffer-m" in negative.stderr


def test_stdin_and_empty_list() -> None:
    result = run("-", "--json", stdin='{"notices": []}')
    assert result.returncode == 0
    assert json.loads(result.stdout)["conflicts"] == []
