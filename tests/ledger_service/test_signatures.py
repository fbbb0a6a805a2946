"""Party signatures through a real hub: required once a key is registered, checked, logged,
and proven offline; forged, replayed, rotated-out and missing signatures are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconflict.cli import main
from deconflict.client import ApiError, Client
from deconflict.ledger import statements
from deconflict.ledger.evidence import verify_bundle
from deconflict.ledger.keys import (
    b64e,
    generate_key,
    load_private_key,
    public_raw,
    sign_statement,
)
from tests.service.helpers import World, notice


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    doc: dict[str, Any] = r.json()
    return doc


def _signature_message(doc: dict[str, Any]) -> str:
    return " ".join(e["message"] for e in doc.get("errors", []) if "signature" in e["path"])


def test_signed_lifecycle_is_logged_and_proven_offline(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # keys made with the command line
    assert main(["keygen", "-o", str(tmp_path / "coalition.pem")]) == 0
    assert main(["keygen", "-o", str(tmp_path / "russia.pem")]) == 0
    capsys.readouterr()
    ck, rk = load_private_key(tmp_path / "coalition.pem"), load_private_key(tmp_path / "russia.pem")
    with (
        Client(world.url, world.tokens["coalition"], key=ck) as coalition,
        Client(world.url, world.tokens["russia"], key=rk) as russia,
    ):
        coalition.set_key()
        russia.set_key()
        made = coalition.notify(notice(["russia"], title="signed"))
        amended = coalition.amend(made["id"], {**notice(["russia"], lon=36.2), "version": 1})
        russia.ack(made["id"], amended["version"], "received")
        coalition.cancel(made["id"])
        bundle = russia.evidence(made["id"])
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    text = "\n".join(report.account)
    assert text.count("signed with key") >= 4  # two versions, the cancellation, the ack
    entries = [json.loads(e["entry"]) for e in bundle["entries"]]
    versions = [e for e in entries if e["type"] == "notice_version"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert all(v["signature"] and v["key_id"] and v["statement"] for v in versions)
    assert versions[0]["statement"]["type"] == "notify"
    assert versions[2]["statement"] == statements.cancel_statement("coalition", made["id"], 2)
    # the command line: export and verify offline
    out = tmp_path / "bundle.json"
    args = ["--server", world.url, "--token", world.tokens["russia"]]
    assert main(["evidence", made["id"], "-o", str(out), *args]) == 0
    assert main(["evidence", "verify", str(out)]) == 0
    assert "acknowledged version 2" in capsys.readouterr().out
    # one byte changed anywhere in an entry: rejected with a reason
    raw = out.read_text()
    doc = json.loads(raw)
    item = next(e for e in doc["entries"] if '"notice_version"' in e["entry"])
    text = item["entry"]
    at = text.index("[36.") + 4  # one digit of a coordinate
    item["entry"] = text[:at] + ("9" if text[at] != "9" else "8") + text[at + 1 :]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, indent=2) + "\n")
    assert main(["evidence", "verify", str(bad)]) == 1
    assert "inclusion proof fails" in capsys.readouterr().out
    # and a signature with one character changed
    doc = json.loads(raw)
    for item in doc["entries"]:
        entry = json.loads(item["entry"])
        if entry["type"] == "ack":
            sig = entry["signature"]
            entry["signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
            item["entry"] = json.dumps(entry, separators=(",", ":"), sort_keys=True)
    bad.write_text(json.dumps(doc))
    assert main(["evidence", "verify", str(bad)]) == 1


def test_missing_forged_replayed_and_rotated_out_signatures(world: World) -> None:
    key, other = generate_key(), generate_key()
    coalition = world.party("coalition")
    russia = world.party("russia")
    made_unsigned = coalition.ok("POST", "/v1/notices", notice(["russia"]), 201)
    coalition.ok("PUT", "/v1/parties/coalition/key", {"public_key": b64e(public_raw(key))})

    # missing
    doc = _problem(coalition.post("/v1/notices", notice(["russia"])), 422)
    assert "required" in _signature_message(doc)
    # forged: signed by a key that is not coalition's
    body = notice(["russia"])
    nonce = "nonce-0001"
    statement = statements.notify_statement("coalition", nonce, body)
    forged = {**body, "nonce": nonce, "signature": sign_statement(other, statement)}
    doc = _problem(coalition.post("/v1/notices", forged), 422)
    assert "does not verify" in _signature_message(doc)
    # over other content than what is sent
    good = sign_statement(key, statement)
    doc = _problem(
        coalition.post(
            "/v1/notices", {**body, "title": "changed", "nonce": nonce, "signature": good}
        ),
        422,
    )
    assert "does not verify" in _signature_message(doc)
    # the genuine one, then its replay
    coalition.ok("POST", "/v1/notices", {**body, "nonce": nonce, "signature": good}, 201)
    doc = _problem(coalition.post("/v1/notices", {**body, "nonce": nonce, "signature": good}), 409)
    assert "signature" in doc["detail"] and "replayed" in doc["detail"]
    # nonce missing
    doc = _problem(coalition.post("/v1/notices", {**body, "signature": good}), 422)
    assert any(e["path"].endswith("nonce") for e in doc["errors"])
    # unsigned amendment and cancellation of an older notice: refused now
    amend = {**notice(["russia"], lon=36.3), "version": 1}
    doc = _problem(coalition.put(f"/v1/notices/{made_unsigned['id']}", amend), 422)
    assert "required" in _signature_message(doc)
    doc = _problem(coalition.delete(f"/v1/notices/{made_unsigned['id']}"), 422)
    assert "required" in _signature_message(doc)

    # rotation: the old key signs nothing any more
    new = generate_key()
    coalition.ok("PUT", "/v1/parties/coalition/key", {"public_key": b64e(public_raw(new))})
    body2 = notice(["russia"], lon=37.0)
    st2 = statements.notify_statement("coalition", "nonce-0002", body2)
    old_signed = {**body2, "nonce": "nonce-0002", "signature": sign_statement(key, st2)}
    doc = _problem(coalition.post("/v1/notices", old_signed), 422)
    assert "rotated out" in _signature_message(doc)
    new_signed = {**body2, "nonce": "nonce-0002", "signature": sign_statement(new, st2)}
    made = coalition.ok("POST", "/v1/notices", new_signed, 201)
    # a retired key is never reinstated
    r = coalition.put("/v1/parties/coalition/key", {"public_key": b64e(public_raw(key))})
    assert r.status_code == 409
    # the admin may set a party's key; another party may not (404); junk keys are refused
    _problem(russia.put("/v1/parties/coalition/key", {"public_key": b64e(public_raw(other))}), 404)
    _problem(coalition.put("/v1/parties/coalition/key", {"public_key": "abc"}), 422)
    _problem(coalition.put("/v1/parties/coalition/key", {"key": "abc"}), 422)
    rk = generate_key()
    world.admin.ok("PUT", "/v1/parties/russia/key", {"public_key": b64e(public_raw(rk))})

    # acknowledgements: russia must now sign
    doc = _problem(russia.post(f"/v1/notices/{made['id']}/ack", {"version": 1}), 422)
    assert "required" in _signature_message(doc)
    forged_ack = sign_statement(other, statements.ack_statement("russia", made["id"], 1, None))
    doc = _problem(
        russia.post(f"/v1/notices/{made['id']}/ack", {"version": 1, "signature": forged_ack}), 422
    )
    assert "does not verify" in _signature_message(doc)
    sig = sign_statement(rk, statements.ack_statement("russia", made["id"], 1, None))
    russia.ok("POST", f"/v1/notices/{made['id']}/ack", {"version": 1, "signature": sig})

    # the bundle shows the key history and every signature verifies offline
    with Client(world.url, world.tokens["coalition"]) as c:
        bundle = c.evidence(made["id"])
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    kinds = [json.loads(e["entry"])["type"] for e in bundle["entries"]]
    assert kinds.count("party_key_set") == 3  # coalition twice, russia once


def test_signing_without_a_registered_key_is_refused(world: World) -> None:
    with (
        Client(world.url, world.tokens["un"], key=generate_key()) as un,
        pytest.raises(ApiError) as err,
    ):
        un.notify(notice(["russia"]))
    assert err.value.status == 422
    assert "registered no key" in str(err.value)
