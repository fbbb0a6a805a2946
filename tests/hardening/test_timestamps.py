"""One timestamp format in every answer: API JSON, the event stream, the command line."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.utc import format_ts, parse_ts
from tests.conftest import REPO
from tests.service.helpers import Api, World, notice

ONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")  # utc.format_ts
LOOKS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def _strings(doc: Any) -> list[str]:
    """Every string in a JSON document, and in the JSON texts it carries (ledger entries)."""
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in [k, *_strings(v)]]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    if isinstance(doc, str) and doc[:1] in "{[":
        try:
            return _strings(json.loads(doc))
        except ValueError:
            return [doc]
    return [doc] if isinstance(doc, str) else []


def _stamps(text: str) -> list[str]:
    return [m.group(0) for m in LOOKS.finditer(text)]


def _other_times(text: str) -> list[str]:
    """Times of day written some other way ("30 06:00Z") once the stamps are taken out."""
    rest = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", "", text)
    return re.findall(r"\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?Z", rest)


def _hour(hours: int) -> str:
    """A whole hour ahead, written as a party writes it (no fraction)."""
    t = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scenario(world: World) -> dict[str, str]:
    co, ru = world.party("coalition"), world.party("russia")
    whole = {"time_start": _hour(2), "time_end": _hour(5)}
    a = notice(["russia"], title="strike", ack_deadline=_hour(1))
    a["volumes"][0].update(whole)
    b = notice(["coalition"], title="patrol")
    b["volumes"][0].update(whole)
    na = co.ok("POST", "/v1/notices", a, 201)
    nb = ru.ok("POST", "/v1/notices", b, 201)
    ru.ok("POST", f"/v1/notices/{na['id']}/ack", {"version": 1, "comment": "seen"})
    m = co.ok("POST", "/v1/messages", {"to": ["russia"], "body": "call", "priority": "urgent"}, 201)
    ru.ok("POST", f"/v1/messages/{m['id']}/read")
    report = {"track_id": "V1", "time": format_ts(datetime.now(UTC)), "lat": 35.3, "lon": 36.2}
    co.post("/v1/tracks", {"reports": [{**report, "alt_m": 7000.0}]})
    return {
        "notice_id": na["id"],
        "conflict_id": nb["conflicts"][0]["id"],
        "message_id": m["id"],
        "party_id": "coalition",
    }


def _walk(world: World, ids: dict[str, str]) -> dict[str, list[str]]:
    """Every GET of the API document, as the issuer, the addressee and the admin."""
    paths = world.admin.ok("GET", "/openapi.json")["paths"]
    seen: dict[str, list[str]] = {}
    callers: list[Api] = [world.party("coalition"), world.party("russia"), world.admin]
    for path, ops in sorted(paths.items()):
        if "get" not in ops or path.startswith("/dss/") or path.startswith("/aux/"):
            continue
        names = re.findall(r"{(\w+)}", path)
        if any(n not in ids for n in names):
            continue
        url = path.format(**ids)
        for api in callers:
            r = api.get(url, headers={"Accept": "application/json"})
            if r.status_code != 200 or not r.headers["content-type"].startswith("application/"):
                continue
            for s in _strings(r.json()):
                for stamp in _stamps(s):
                    seen.setdefault(stamp, []).append(f"{api.name} GET {url}")
    return seen


def test_every_answer_writes_time_one_way(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _scenario(world)
    seen = _walk(world, ids)
    assert len(seen) > 10  # the walk did find timestamps
    wrong = {s: where[:3] for s, where in seen.items() if not ONE.match(s)}
    assert not wrong, wrong
    # the event stream (SSE), raw
    ru = world.party("russia")
    with ru.http.stream("GET", "/v1/events", headers={"Accept": "text/event-stream"}) as r:
        text = ""
        for line in r.iter_lines():
            text += line + "\n"
            if line.startswith("data:") and "message_received" in line:
                break
    assert [s for s in _stamps(text) if not ONE.match(s)] == []
    assert len(_stamps(text)) > 5
    # the command line
    token = world.tokens["coalition"]
    common = ["--server", world.url, "--token", token]
    printed = 0
    for args in (
        ["acks", "--issued"],
        ["conflicts", "--state", "all"],
        ["watch", "--count", "4"],
        ["watch", "--count", "4", "--json"],
    ):
        assert main([*args, *common]) == 0, args
        out = capsys.readouterr().out
        stamps = _stamps(out)
        assert [s for s in stamps if not ONE.match(s)] == [], (args, out)
        assert _other_times(out) == [], (args, out)
        printed += len(stamps)
    assert printed > 10
    # the offline check too
    assert main(["check", str(REPO / "examples" / "syria-2015.json")]) == 0
    out = capsys.readouterr().out
    assert len(_stamps(out)) >= 4 and all(ONE.match(s) for s in _stamps(out)), out
    assert _other_times(out) == [], out
    # and the stamps read back as what they say
    assert all(format_ts(parse_ts(s)) == s for s in seen)
