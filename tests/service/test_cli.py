"""The command line against a live hub: demo, serve and the liaison commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deconflict.cli import main
from tests.service.helpers import World, notice


def test_demo_plays_and_exits() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "deconflict", "demo", "--port", "0", "--exit-after-play"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "CONFLICT" in text
    assert "acknowledged" in text
    assert "ack_overdue" in text
    assert "receipt: russia delivered" in text
    # issue 15: the 2015 back channel, recorded by the relay
    assert "delivered through relay un-liaison, which will see it in full" in text
    assert "sees the chain to syria: received" in text and "acknowledged by phone" in text
    assert "coalition -> syria: [urgent] Stay clear of Raqqa province tonight" in text
    assert "un-liaison forwarded m-" in text and " by fax to " in text
    assert re.search(
        r"sees the message's chain to syria: received \[ledger \d+\] -> forwarded by fax "
        r"\[ledger \d+\] -> acknowledged by phone \[ledger \d+\]",
        text,
    )
    assert "receipt: syria read 20" in text and "(through relay un-liaison)" in text
    assert "units_not_reached: delivered to 2 of 3 units responsible for the area" in text
    assert "dcf_" in text  # the tokens are printed for the web UI and the CLI
    assert re.search(r"hub key fingerprint: [A-Z2-7]{4}(-[A-Z2-7]{4}){4}\n", text)


def test_serve_refuses_without_admin_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DECONFLICT_ADMIN_TOKEN", raising=False)
    assert main(["serve", "--db", "/nonexistent/x.db", "--port", "0"]) == 2
    assert "DECONFLICT_ADMIN_TOKEN" in capsys.readouterr().err


def test_client_commands(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DECONFLICT_URL", world.url)
    ru = world.party("russia")
    ru.ok("POST", "/v1/notices", notice(["coalition"], lon=36.2), 201)
    doc = tmp_path / "n.json"
    doc.write_text(
        json.dumps(
            {
                "notices": [
                    {"id": "x", "issuer": "coalition", **notice(["russia"], title="from file")}
                ]
            }
        )
    )
    co = ["--token", world.tokens["coalition"]]
    assert main(["notify", str(doc), *co]) == 0
    out = capsys.readouterr().out
    assert "notified n-" in out
    assert "CONFLICT" in out
    nid = out.split("notified ")[1].split()[0]
    assert main(["conflicts", *co]) == 0
    assert "russia's air_activity" in capsys.readouterr().out
    monkeypatch.setenv("DECONFLICT_TOKEN", world.tokens["russia"])
    assert main(["acks", "--json"]) == 0
    acks = json.loads(capsys.readouterr().out)
    assert [(a["notice_id"], a["state"]) for a in acks] == [(nid, "pending")]
    assert main(["ack", nid, "--comment", "roger"]) == 0
    assert f"acknowledged {nid} v1" in capsys.readouterr().out
    assert main(["acks", "--issued", *co]) == 0
    assert "russia: acknowledged" in capsys.readouterr().out
    assert (
        main(
            [
                "message",
                "--to",
                "coalition",
                "--priority",
                "urgent",
                "--ref",
                f"notice:{nid}",
                "climbing to FL300",
            ]
        )
        == 0
    )
    assert "sent m-" in capsys.readouterr().out
    assert main(["watch", "--after", "0", "--count", "3", *co]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("#")
    assert main(["ack", "n-doesnotexist"]) == 1
    assert "404" in capsys.readouterr().err
    assert main(["acks", "--token", "nonsense"]) == 1
    assert "401" in capsys.readouterr().err


def test_notify_with_a_disclosure_level(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DECONFLICT_URL", world.url)
    grain = {"h3_resolution": 4, "layer_ft": 2000, "slot_min": 30}
    doc = tmp_path / "n.json"
    doc.write_text(json.dumps({**notice(["russia"]), "disclosure": {"grain": grain}}))
    co = ["--token", world.tokens["coalition"]]
    assert main(["notify", str(doc), "--disclosure", "existence", *co]) == 0
    assert "disclosure existence" in capsys.readouterr().out
    stored = world.party("coalition").ok("GET", "/v1/notices")["notices"][0]
    assert stored["disclosure"] == {"level": "existence", "grain": grain}
    # a conflict with it, seen by a party it was not addressed to, says how it is shown
    un = ["--token", world.tokens["un"]]
    doc.write_text(json.dumps(notice(["russia"])))
    assert main(["notify", str(doc), *un]) == 0
    assert "(not addressed to you) [existence]" in capsys.readouterr().out
