"""Access tokens: only RS256 tokens signed by a configured key, for this audience, alive,
with the scope the operation needs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest

from tests.interop_f3548.conftest import Dss
from tests.interop_f3548.helpers import CM, SC, Issuer, circle, intent, new_id

QUERY = "/dss/v1/operational_intent_references/query"


def _query(dss: Dss, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = {"area_of_interest": circle(-56, 178, 300)}
    return httpx.post(dss.url + QUERY, json=body, headers=headers, timeout=30)


def test_a_valid_token_is_accepted(dss: Dss) -> None:
    r = _query(dss, dss.issuer.token("uss1"))
    assert r.status_code == 200, r.text
    assert r.json() == {"operational_intent_references": []}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: None, "missing Authorization"),
        (lambda d: "not-a-jwt", "invalid"),
        (lambda d: d.issuer.token("uss1", aud="another-dss.example"), "audience"),
        (lambda d: d.issuer.token("uss1", lifetime_s=-120), "expired"),
        (lambda d: Issuer().token("uss1"), "not signed by a key this DSS trusts"),
    ],
    ids=["missing", "garbage", "wrong-audience", "expired", "wrong-key"],
)
def test_bad_tokens_are_refused_with_401(dss: Dss, make: object, reason: str) -> None:
    r = _query(dss, make(dss))  # type: ignore[operator]
    assert r.status_code == 401, r.text
    assert reason in r.json()["message"]
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_token_without_sub_or_expiry_is_refused(dss: Dss) -> None:
    now = int(time.time())
    no_exp = jwt.encode(
        {"sub": "uss1", "scope": SC, "aud": "localhost"}, dss.issuer.key, algorithm="RS256"
    )
    no_sub = jwt.encode(
        {"scope": SC, "aud": "localhost", "exp": now + 60}, dss.issuer.key, algorithm="RS256"
    )
    for token in (no_exp, no_sub):
        assert _query(dss, token).status_code == 401


def _b64(doc: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def test_unsigned_and_hmac_tokens_are_refused(dss: Dss) -> None:
    claims = {"sub": "uss1", "scope": SC, "aud": "localhost", "exp": int(time.time()) + 60}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert _query(dss, unsigned).status_code == 401
    # The classic confusion: an HMAC token keyed with the DSS's own public key.
    public = (dss.tmp / "oauth.pem").read_bytes()
    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = f"{header}.{_b64(claims)}"
    sig = base64.urlsafe_b64encode(hmac.new(public, body.encode(), hashlib.sha256).digest()).rstrip(
        b"="
    )
    assert _query(dss, f"{body}.{sig.decode()}").status_code == 401


def test_a_token_without_the_scope_is_refused_with_403(dss: Dss) -> None:
    r = _query(dss, dss.issuer.token("uss1", CM))
    assert r.status_code == 403, r.text
    assert SC in r.json()["message"]
    uss = dss.uss("uss1")
    # Writing an intent with a constraint-management token, or a constraint with an
    # intent token, is refused too, and nothing is stored.
    r = uss.call(
        "PUT", f"/dss/v1/operational_intent_references/{new_id()}", intent([circle(1, 1, 50)]), CM
    )
    assert r.status_code == 403
    r = uss.call(
        "PUT",
        f"/dss/v1/constraint_references/{new_id()}",
        {"extents": [circle(1, 1, 50)], "uss_base_url": "https://uss.example"},
        SC,
    )
    assert r.status_code == 403
    found = uss.ok("POST", QUERY, {"area_of_interest": circle(1, 1, 500)})
    assert found["operational_intent_references"] == []


def test_version_needs_a_token(dss: Dss) -> None:
    assert httpx.get(dss.url + "/aux/v1/version", timeout=30).status_code == 401
    r = httpx.get(
        dss.url + "/aux/v1/version",
        headers={"Authorization": f"Bearer {dss.issuer.token('uss1')}"},
        timeout=30,
    )
    assert r.status_code == 200
    assert r.json()["version"].startswith("deconflict-")
