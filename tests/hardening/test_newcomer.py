"""What a newcomer hits first: the offline check refuses what the hub refuses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from tests.conftest import REPO, box, volume_doc
from tests.service.helpers import World, notice


def test_check_refuses_misspelt_notice_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notice: dict[str, Any] = {
        "id": "a",
        "issuer": "coalition",
        "kindd": "air_activity",
        "adressees": ["russia"],
        "ack_dedline": "2030-01-01T00:00:00Z",
        "volumes": [volume_doc(box(36.0, 35.0, 36.2, 35.2))],
    }
    f = tmp_path / "n.json"
    f.write_text(json.dumps({"notices": [notice]}), encoding="utf-8")
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    for name in ("kindd", "adressees", "ack_dedline"):
        assert f"notices[0].{name}: unknown field" in err
    good = {k: v for k, v in notice.items() if k not in ("kindd", "adressees", "ack_dedline")}
    good.update(kind="air_activity", addressees=["russia"], title="t", remarks="r", priority=1)
    f.write_text(json.dumps({"notices": [good]}), encoding="utf-8")
    assert main(["check", str(f)]) == 0


def test_the_readme_walkthrough_runs_pasted_as_one_block(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The hub: a walkthrough with curl") :]
    block = section[section.index("```sh\n") + 6 : section.index("\n```", section.index("```sh"))]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = block.replace("8080", port) + "\nkill %1\nwait\n"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    out = subprocess.run(  # noqa: S603 - our own README
        ["/bin/bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert "notified n-" in out.stdout, (out.stdout, out.stderr)
    assert '"state":"acknowledged"' in out.stdout.replace(" ", ""), out.stdout
    assert '"notice_versions":1' in out.stdout.replace(" ", ""), out.stdout  # confirmed
    assert '"type":"notice_received"' in out.stdout.replace(" ", ""), out.stdout
    assert "Traceback" not in out.stderr


def test_multi_notice_notify_says_which_notice_was_refused(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = notice(["russia"], title="first")
    bad = {**notice(["russia"], title="second"), "adressees": ["russia"]}
    f = tmp_path / "two.json"
    f.write_text(json.dumps({"notices": [good, bad, good]}), encoding="utf-8")
    code = main(["notify", str(f), "--server", world.url, "--token", world.tokens["coalition"]])
    assert code == 1
    err = capsys.readouterr().err
    assert "notices[1] (second)" in err and "was refused" in err
    assert "body.adressees: unknown field" in err
    assert "stored before it: notices[0] as n-" in err
    assert "not sent: notices[2:] (1)" in err


def test_replay_help_is_plain_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["replay", "--help"])
    text = capsys.readouterr().out
    assert "``" not in text
    assert "reported speeds are multiplied by 4" in text
    for help_text in ("the hub's URL", "the traffic package's sample", "final summary"):
        assert help_text in text


def test_acks_issued_names_the_cancellation(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    co = world.party("coalition")
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    co.ok("DELETE", f"/v1/notices/{n['id']}")
    token = world.tokens["coalition"]
    assert main(["acks", "--issued", "--server", world.url, "--token", token]) == 0
    out = capsys.readouterr().out
    assert f"{n['id']} v2 (the cancellation) russia:" in out, out


def test_altitudes_print_to_the_metre_in_every_command() -> None:
    from deconflict.cli.client_cmds import _describe_conflict

    line = _describe_conflict(
        {
            "id": "c-1",
            "state": "open",
            "mine": {"kind": "air_activity", "notice": "n-1"},
            "other": {"issuer": "russia", "kind": "air_activity", "notice": None},
            "overlaps": [{"altitude_band": {"lower_m": 6096.0, "upper_m": 7620.0}}],
        }
    )
    assert "6096-7620 m" in line, line


@pytest.mark.parametrize(
    ("upper", "errors"),
    [
        ({"value": 250, "units": "FLL"}, {"units": "unknown units 'FLL'"}),
        ({"value": 250, "units": "fl"}, {"units": "unknown units 'fl'"}),
        (
            {"value": 25000, "unit": "FT", "reference": "W84"},
            {"unit": "unknown field", "units": "is required"},
        ),
        ({"value": 25000, "units": "FT"}, {"reference": "is required: W84 or AMSL"}),
    ],
)
def test_a_units_typo_is_one_error_offline_and_on_the_hub(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    upper: dict[str, Any],
    errors: dict[str, str],
) -> None:
    doc = notice(["russia"])
    doc["volumes"][0]["altitude_upper"] = upper
    f = tmp_path / "n.json"
    f.write_text(json.dumps({"notices": [{**doc, "id": "a", "issuer": "coalition"}]}))
    assert main(["check", str(f)]) == 2
    lines = capsys.readouterr().err.splitlines()[1:]
    where = "notices[0].volumes[0].altitude_upper."
    assert sorted(x.strip().split(": ", 1)[0] for x in lines) == sorted(where + k for k in errors)
    for key, text in errors.items():
        assert any(x.strip().startswith(f"{where}{key}: {text}") for x in lines), lines
    r = world.party("coalition").post("/v1/notices", doc)
    assert r.status_code == 422
    paths = sorted(e["path"] for e in r.json()["errors"])
    assert paths == sorted(f"body.volumes[0].altitude_upper.{k}" for k in errors)
