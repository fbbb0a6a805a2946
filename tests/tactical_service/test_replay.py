"""`deconflict replay` over the recorded sample in examples/ (cut from traffic's quickstart)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.cli.replay import load_csv, parties_by_airline
from tests.conftest import REPO
from tests.service.helpers import ADMIN_TOKEN
from tests.tactical_service.conftest import tactical_world

SAMPLE = REPO / "examples" / "replay-quickstart.csv"


def test_sample_is_split_into_airline_parties() -> None:
    samples = load_csv(SAMPLE)
    assert len({s.icao24 for s in samples}) > 30
    owner = parties_by_airline(samples, 3, "rp")
    assert len(set(owner.values())) == 4 and "rp-others" in owner.values()
    assert all(p == "rp-others" or cs.lower().startswith(p[3:]) for cs, p in owner.items())


def test_replay_streams_real_traffic_and_raises_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = tactical_world(tmp_path, screen_interval_s=0.25)
    try:
        code = main(
            [
                "replay",
                "--server",
                w.url,
                "--admin-token",
                ADMIN_TOKEN,
                "--file",
                str(SAMPLE),
                "--speed",
                "4",
                "--duration",
                "40",
                "--interval",
                "0.25",
                "--quiet",
                "--prefix",
                "rp",
            ]
        )
        assert code == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert summary["accepted"] > 0.9 * summary["reports"] > 0
        assert summary["alerts"] > 0 and summary["parties"] == 5
    finally:
        w.stop()


def test_replay_at_speed_says_what_speeds_mean_and_why_reports_were_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A low speed limit on the hub, so that some 4x-fast reports are refused.
    w = tactical_world(tmp_path, limits={"max_speed_mps": 400})
    try:
        args = ["replay", "--server", w.url, "--admin-token", ADMIN_TOKEN, "--file"]
        args += [str(SAMPLE), "--speed", "4", "--duration", "30", "--interval", "0.5"]
        assert main([*args, "--prefix", "rq"]) == 0
        out = capsys.readouterr().out.splitlines()
        summary = json.loads(out[-1])
        assert any(x.startswith("--speed 4: ") and "972 kt" in x for x in out)
        assert summary["rejected"] > 0
        refused = [x for x in out if x.startswith("rejected ")]
        assert refused and all(": " in x for x in refused)
        assert any("m/s, limit 400 m/s" in x or "outside [0, 400]" in x for x in refused), refused
        assert sum(int(x.split()[1].rstrip(":")) for x in refused) <= summary["rejected"]
    finally:
        w.stop()
