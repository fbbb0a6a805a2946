"""What a newcomer hits first: the offline check refuses what the hub refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.cli import main
from tests.conftest import box, volume_doc


def test_check_refuses_misspelt_notice_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notice = {
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
