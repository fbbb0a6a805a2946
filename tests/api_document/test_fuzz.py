"""Schema-driven fuzzing of the hub over a real socket (schemathesis, from /openapi.json).

Every operation of the document gets `FUZZ_EXAMPLES` requests generated from its schemas
(more for the operations on notices), and half as many that its schemas forbid
(schemathesis' negative mode: wrong types, missing fields, out of range), as a party, as
another party, as the operator and without a token. Generated bodies are
bound to the world as it stands, as often as not: path ids drawn from the notices,
messages and conflicts that exist (those the fuzz itself creates included), addressees
and recipients from the registered parties, volume times moved to the coming hours,
the current version of a notice to amend, acknowledge or cancel, the addressee's token
to acknowledge. So generated requests create, amend, acknowledge and cancel real
notices and send real messages, and the test checks that they did.

Every answer must be true to the document: no 5xx, a documented status, the documented
media type, a body valid against the documented schema (schemathesis' own checks).
Deterministic for CI (`derandomize`, no example database).

Run it longer: `DECONFLICT_FUZZ_EXAMPLES=500 python -m pytest -q tests/api_document/test_fuzz.py`
(examples per operation; `DECONFLICT_FUZZ_SEED` varies the generation).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from deconflict.api.models import OPERATIONS
from tests.service.helpers import ADMIN_TOKEN, PARTIES, World, notice

# The budget of the whole fuzz: examples per operation (56 operations; more for the
# notice operations, half as many invalid ones). CI: ~2,250 requests in all, ~40 s.
FUZZ_EXAMPLES = int(os.environ.get("DECONFLICT_FUZZ_EXAMPLES", "25"))
FUZZ_SEED = os.environ.get("DECONFLICT_FUZZ_SEED")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Creations first, then reads, then what changes or ends them.
ORDER = [
    ("POST", "/v1/parties"),
    ("POST", "/v1/notices"),
    ("POST", "/v1/check"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/tracks"),
    ("POST", "/v1/units"),
    *sorted(k for k in OPERATIONS if k[0] == "GET"),
    ("POST", "/v1/events/confirm"),
    ("POST", "/v1/unit/confirm"),
    ("POST", "/v1/unit/notices/{notice_id}/ack"),
    ("POST", "/v1/notices/{notice_id}/relay"),
    ("POST", "/v1/paper/verify"),
    ("PATCH", "/v1/units/{party}/{name}"),
    ("PUT", "/v1/notices/{notice_id}"),
    ("POST", "/v1/notices/{notice_id}/ack"),
    ("POST", "/v1/messages/{message_id}/read"),
    ("POST", "/v1/alerts/{alert_id}/ack"),
    ("PUT", "/v1/parties/{party_id}/key"),
    ("POST", "/v1/ledger/cosignatures"),
    ("DELETE", "/v1/notices/{notice_id}"),
    ("DELETE", "/v1/units/{party}/{name}"),
]
# The operations that change notices and send messages get more of the budget.
WEIGHT = {
    ("POST", "/v1/notices"): 3,
    ("POST", "/v1/check"): 2,
    ("PUT", "/v1/notices/{notice_id}"): 3,
    ("POST", "/v1/notices/{notice_id}/ack"): 2,
    ("DELETE", "/v1/notices/{notice_id}"): 2,
    ("POST", "/v1/messages"): 2,
}
KEYHOLDER = "keyholder"  # the only party whose key the fuzz may set (then it must sign)
RELAYED, RELAY = "syria", "un"  # a party that never connects, and its relay
WEST = [[36.0, 35.0], [36.5, 35.0], [36.5, 35.6], [36.0, 35.6], [36.0, 35.0]]  # helpers.notice's


@dataclass
class Notice:
    issuer: str
    addressees: list[str]
    version: int


@dataclass
class Pools:
    """What exists on the hub, learnt from its answers."""

    tokens: dict[str, str]
    notices: dict[str, Notice] = field(default_factory=dict)
    messages: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    conflicts: set[str] = field(default_factory=set)
    # units: id -> its party; their tokens are in `tokens` by unit id; `kept` are never
    # disabled (the unit operations need a live token in both passes)
    units: dict[str, str] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)
    relayed: dict[str, int] = field(default_factory=dict)  # notice -> version, to RELAYED
    codes: list[str] = field(default_factory=list)  # printed verification codes
    outcomes: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    refusals: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    def learn_notice(self, doc: Any) -> None:
        if isinstance(doc, dict) and isinstance(doc.get("id"), str) and "issuer" in doc:
            self.notices[doc["id"]] = Notice(doc["issuer"], doc["addressees"], doc["version"])
            for c in doc.get("conflicts", []):
                if c.get("id"):
                    self.conflicts.add(c["id"])


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _rebase_volumes(body: dict[str, Any], draw: Any) -> None:
    """Move the volumes' windows to the coming hours (generated dates are mostly past)."""
    for vol in body.get("volumes") or []:
        if isinstance(vol, dict):
            start = _now() + timedelta(minutes=draw(st.integers(1, 600)))
            vol["time_start"] = _iso(start)
            vol["time_end"] = _iso(start + timedelta(minutes=draw(st.integers(0, 600))))
    if body.get("ack_deadline") is not None:
        body["ack_deadline"] = _iso(_now() + timedelta(minutes=draw(st.integers(1, 600))))


_METRES = {"M": 1.0, "FT": 0.3048, "FL": 30.48}


def _height(alt: Any) -> float | None:
    if isinstance(alt, dict) and isinstance(alt.get("value"), int | float):
        return float(alt["value"]) * _METRES.get(str(alt.get("units")), 1.0)
    return None


def _shrink(ring: list[Any]) -> list[Any]:
    """The ring scaled about its first vertex to a few tens of km, and closed."""
    lon0, lat0 = ring[0]
    lat0 = max(-80.0, min(80.0, lat0))
    out = [
        [lon0 + (lon - ring[0][0]) * 1e-3, lat0 + (lat - ring[0][1]) * 1e-3] for lon, lat in ring
    ]
    if len({tuple(p) for p in out}) < 3:
        out = [[lon0, lat0], [lon0 + 0.1, lat0], [lon0, lat0 + 0.1]]
    return [*out[:-1], out[0]] if out[-1] == out[0] else [*out, out[0]]


def _repair(body: dict[str, Any]) -> None:
    """Keep what was generated but what no notice can be: one or two volumes, footprints of
    a few tens of km, closed rings without holes, radii where needed, bands the right way up.
    """
    volumes = body.get("volumes")
    if not isinstance(volumes, list):
        return
    del volumes[2:]
    for vol in volumes:
        if not isinstance(vol, dict):
            continue
        geometry = vol.get("geometry")
        if isinstance(geometry, dict) and geometry.get("type") == "Polygon":
            rings = geometry.get("coordinates") or []
            if rings and rings[0]:
                geometry["coordinates"] = [_shrink(rings[0])]
            vol.pop("radius_m", None)
        elif isinstance(geometry, dict):
            if geometry.get("type") == "LineString" and geometry.get("coordinates"):
                line = _shrink(geometry["coordinates"])[:-1]
                geometry["coordinates"] = line
            if not vol.get("radius_m"):
                vol["radius_m"] = 1000.0
        lower, upper = _height(vol.get("altitude_lower")), _height(vol.get("altitude_upper"))
        if lower is not None and upper is not None and lower > upper:
            vol["altitude_lower"], vol["altitude_upper"] = (
                vol["altitude_upper"],
                vol["altitude_lower"],
            )


def _others(pools: Pools, me: str) -> list[str]:
    return [p for p in PARTIES if p != me]


class Binder:
    """Binds a generated case to the world (or, half of the time, leaves it as generated)."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools

    def identity(self, method: str, path: str, draw: Any) -> str | None:
        # a unit's token too: only /v1/unit/... takes it, every other operation refuses it
        units: list[str | None] = [*sorted(self.pools.kept)[:1]]
        choices: list[str | None] = ["coalition", "russia", "un", "admin", None, *units]
        if (method, path) == ("POST", "/v1/parties"):
            choices = ["admin", "admin", "admin", "coalition"]
        if (method, path) == ("PUT", "/v1/parties/{party_id}/key"):
            choices = [KEYHOLDER, KEYHOLDER, "admin"]
        if path == "/v1/unit" or path.startswith("/v1/unit/"):
            kept = sorted(self.pools.kept)
            choices = [*kept, *kept, *kept, "coalition", None]
        if path == "/v1/notices/{notice_id}/relay" and method == "POST":
            choices = [RELAY, RELAY, RELAY, "coalition", None]
        who: str | None = draw(st.sampled_from(choices))
        return who

    def bind(
        self, method: str, path: str, case: Any, who: str | None, draw: Any, *, repair: bool
    ) -> str | None:
        """The token to send `case` with; its path ids (and, if `repair`, its body) bound."""
        bound = draw(st.booleans()) or draw(st.booleans())  # three times in four
        if method == "PUT" and (case.path_parameters or {}).get("party_id") in PARTIES:
            case.path_parameters["party_id"] = KEYHOLDER  # a party with a key must sign
        if not bound:
            return who
        params = case.path_parameters or {}
        pools = self.pools
        if "notice_id" in params and pools.notices:
            nid = draw(st.sampled_from(sorted(pools.notices)))
            if who in pools.units:  # a notice addressed to the unit's party (maybe routed)
                party = pools.units[who]
                to_it = [i for i, n in pools.notices.items() if {party, "*"} & {*n.addressees}]
                nid = draw(st.sampled_from(sorted(to_it) or [nid]))
            if path.endswith("/relay") and pools.relayed and draw(st.booleans()):
                nid = draw(st.sampled_from(sorted(pools.relayed)))
            params["notice_id"] = nid
            n = pools.notices[nid]
            if method in ("PUT", "DELETE"):
                who = n.issuer
            elif who in pools.units:  # a unit acknowledges the version routed to it
                if repair and isinstance(case.body, dict):
                    case.body["version"] = n.version
            elif path.endswith("/relay") and method == "POST":
                if repair and isinstance(case.body, dict):
                    case.body["version"] = pools.relayed.get(nid, n.version)
                    case.body.pop("recipient", None)
                    case.body.pop("signature", None)
                    case.body.pop("at", None)  # generated times are mostly before receipt
                    # what the parser requires of each step (the schema cannot say)
                    step = case.body.get("step")
                    if step == "forwarded":
                        case.body.setdefault("means", "phone")
                        case.body.setdefault("to", "the mission")
                    if step == "acknowledged":
                        case.body.setdefault("by", "the duty officer")
            elif path.endswith("/ack"):
                addressees = [a for a in n.addressees if a != "*"] or _others(pools, n.issuer)
                who = draw(
                    st.sampled_from([a for a in addressees if a in pools.tokens] or [n.issuer])
                )
                if repair and isinstance(case.body, dict):
                    case.body["version"] = n.version
            if method == "DELETE" and repair:
                case.query = {k: v for k, v in (case.query or {}).items() if k != "signature"}
                if draw(st.booleans()):
                    case.query["version"] = n.version
                else:
                    case.query.pop("version", None)
        if "message_id" in params and pools.messages:
            mid = draw(st.sampled_from(sorted(pools.messages)))
            params["message_id"] = mid
            sender, to = pools.messages[mid]
            who = draw(st.sampled_from([p for p in (sender, *to) if p in pools.tokens]))
        if "conflict_id" in params and pools.conflicts:
            params["conflict_id"] = draw(st.sampled_from(sorted(pools.conflicts)))
        if "party" in params and "name" in params and pools.units:
            mine = sorted(pools.units)
            if method == "DELETE":  # only the units the fuzz made: the kept ones live on
                mine = [u for u in mine if u not in pools.kept] or mine
            unit_id = draw(st.sampled_from(mine))
            if method != "DELETE" or unit_id not in pools.kept:
                params["party"], params["name"] = unit_id.split("/")
                who = pools.units[unit_id]
        if "party_id" in params:
            params["party_id"] = draw(st.sampled_from([KEYHOLDER, *PARTIES]))
            if method == "PUT":
                params["party_id"] = KEYHOLDER
        body = case.body
        if repair and isinstance(body, dict) and who not in (None, "admin"):
            if "volumes" in body:
                _repair(body)
                _rebase_volumes(body, draw)
                body.pop("signature", None)
                if isinstance(body.get("addressees"), list):
                    body["addressees"] = draw(
                        st.sampled_from([["*"], *[[p] for p in _others(pools, who)]])
                    )
                if method == "PUT" and params.get("notice_id") in pools.notices:
                    body["version"] = pools.notices[params["notice_id"]].version
            if path == "/v1/messages" and isinstance(body.get("to"), list):
                body["to"] = [draw(st.sampled_from(_others(pools, who)))]
                ref = body.get("ref")
                if isinstance(ref, dict) and ref.get("type") == "notice" and pools.notices:
                    ref["id"] = draw(st.sampled_from(sorted(pools.notices)))
            if path == "/v1/notices/{notice_id}/ack":
                body.pop("signature", None)
            if path == "/v1/units" and isinstance(body.get("id"), str) and "/" in body["id"]:
                body["id"] = f"{who}/{body['id'].split('/', 1)[1]}"
        if repair and isinstance(body, dict):
            if path == "/v1/paper/verify" and pools.codes:
                body["code"] = draw(st.sampled_from(pools.codes))
            if path == "/v1/events/confirm" and "up_to" in body:
                body["up_to"] = draw(st.integers(0, 5))
            if path == "/v1/unit/confirm" and "last_event_id" in body:
                body["last_event_id"] = draw(st.integers(0, 3))
            if path in ("/v1/units", "/v1/units/{party}/{name}"):
                area = body.get("area")
                if isinstance(area, dict) and draw(st.booleans()):
                    area["geometry"] = {"type": "Polygon", "coordinates": [WEST]}
                    area.pop("radius_m", None)
            if path == "/v1/tracks":
                reports = body.get("reports") if "reports" in body else None
                for r in reports or []:
                    if isinstance(r, dict):
                        r["time"] = _iso(_now())
                        r.pop("party", None)
        return who

    def learn(self, method: str, path: str, who: str | None, case: Any, r: Any) -> None:
        pools = self.pools
        pools.outcomes[(method, path, r.status_code)] += 1
        if r.status_code >= 400 and os.environ.get("DECONFLICT_FUZZ_DEBUG"):
            problem = r.json()
            for e in problem.get("errors") or [
                {"path": str(r.status_code), "message": problem["detail"]}
            ]:
                pools.refusals[(method, path, e["path"], e["message"][:70])] += 1
        media = r.headers.get("content-type") or [""]  # schemathesis: each header a list
        if path == "/v1/notices/{notice_id}/printable" and r.status_code == 200:
            pools.codes.append(r.headers["x-verification-code"][0])
        if r.status_code >= 300 or "json" not in media[0]:
            return
        doc = r.json()
        if method in ("POST", "PUT", "DELETE") and path in (
            "/v1/notices",
            "/v1/notices/{notice_id}",
        ):
            pools.learn_notice(doc)
        if (method, path) == ("POST", "/v1/messages"):
            pools.messages[doc["id"]] = (doc["from"], doc["to"])
        if (method, path) == ("GET", "/v1/conflicts"):
            pools.conflicts.update(c["id"] for c in doc["conflicts"] if c.get("id"))
        if (method, path) == ("POST", "/v1/units"):
            pools.units[doc["id"]] = doc["party"]
            pools.tokens[doc["id"]] = doc["token"]
        if (method, path) == ("POST", "/v1/units/{party}/{name}/token"):
            pools.tokens[doc["id"]] = doc["token"]  # rotated: the old one no longer works


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Generous rates: the fuzz is one client sending as fast as the hub answers.
    w = World(tmp_path_factory.mktemp("fuzz"))
    try:
        yield w
    finally:
        w.stop()


def _seed(world: World, pools: Pools) -> None:
    """Real notices, a conflict and a message, so that ids can be drawn from the start."""
    co, ru = world.party("coalition"), world.party("russia")
    for api, to in ((co, ["russia"]), (ru, ["coalition"]), (ru, ["*"])):
        pools.learn_notice(api.ok("POST", "/v1/notices", notice(to), 201))
    m = co.ok("POST", "/v1/messages", {"to": ["russia"], "body": "seed"}, 201)
    pools.messages[m["id"]] = (m["from"], m["to"])
    keyholder = world.admin.ok("POST", "/v1/parties", {"id": KEYHOLDER, "name": "Keys"}, 201)
    pools.tokens[KEYHOLDER] = keyholder["token"]
    # issue 15: a relayed party and a notice its relay received; units that notices reach
    relayed = {"id": RELAYED, "name": "Relayed", "reachable_via": RELAY}
    world.admin.ok("POST", "/v1/parties", relayed, 201)
    made = co.ok("POST", "/v1/notices", notice([RELAYED]), 201)
    pools.learn_notice(made)
    pools.relayed[made["id"]] = made["version"]
    world.party(RELAY).receive()
    for party in ("coalition", "russia"):
        area = {"geometry": {"type": "Polygon", "coordinates": [WEST]}}
        unit = world.party(party).ok(
            "POST", "/v1/units", {"id": f"{party}/seed", "area": area}, 201
        )
        pools.units[unit["id"]] = party
        pools.tokens[unit["id"]] = unit["token"]
        pools.kept.add(unit["id"])
    pools.learn_notice(ru.ok("POST", "/v1/notices", notice(["coalition"]), 201))  # routed


def _fuzz_one(
    world: World, schema: Any, binder: Binder, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schema[path][method]
    positive = mode is GenerationMode.POSITIVE
    examples = FUZZ_EXAMPLES * WEIGHT.get((method, path), 1) if positive else FUZZ_EXAMPLES // 2
    pools = binder.pools
    seed = (
        None if FUZZ_SEED is None else random.Random(f"{FUZZ_SEED}{method}{path}").getrandbits(64)
    )

    @settings(
        max_examples=max(1, examples),
        derandomize=seed is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: Any) -> None:
        who = binder.identity(method, path, data.draw)
        who = binder.bind(method, path, case, who, data.draw, repair=positive)
        headers = dict(case.headers or {})
        headers.pop("Authorization", None)
        if who is not None:
            headers["Authorization"] = f"Bearer {pools.tokens[who]}"
        if path in ("/v1/events", "/v1/unit/events"):
            headers["Accept"] = "application/json"  # the SSE stream never ends
        case.headers = headers
        began = time.monotonic()
        try:
            r = case.call(base_url=world.url, timeout=30)
        finally:
            if time.monotonic() - began > 5:
                print("SLOW", time.monotonic() - began, case.as_curl_command())
        case.validate_response(r, checks=CHECKS)
        binder.learn(method, path, who, case, r)

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    run()


def test_fuzz_the_api_from_its_document(fuzz_world: World) -> None:
    world = fuzz_world
    doc = world.client(None).get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    pools = Pools(tokens={**world.tokens, "admin": ADMIN_TOKEN})
    _seed(world, pools)
    binder = Binder(pools)
    order = ORDER + sorted(set(OPERATIONS) - set(ORDER))
    failures: list[str] = []
    began = time.monotonic()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for method, path in order:
            try:
                _fuzz_one(world, schema, binder, method, path, mode)
            except Unsatisfiable:  # nothing of it can be made invalid (GET /healthz)
                assert mode is GenerationMode.NEGATIVE, (method, path)
            except (Exception, FailureGroup) as exc:  # all fuzzed; all failures reported
                subs = "".join(f"\n  - {e!r}" for e in getattr(exc, "exceptions", ()))
                failures.append(f"{method} {path} ({mode.value}): {exc}{subs}")
    took = time.monotonic() - began
    sent = sum(pools.outcomes.values())
    print(f"fuzz: {sent} requests over {len(order)} operations in {took:.0f} s")
    for (m, p, status), count in sorted(pools.outcomes.items()):
        print(f"  {m:6} {p:40} {status}: {count}")
    for refusal, count in sorted(pools.refusals.items()):
        print(f"  {count:4} {' '.join(refusal)}")
    assert not failures, "\n\n".join(failures)
    ok = {(m, p) for (m, p, s), n in pools.outcomes.items() if s < 300 and n}
    for wanted in [
        ("POST", "/v1/notices"),
        ("PUT", "/v1/notices/{notice_id}"),
        ("POST", "/v1/notices/{notice_id}/ack"),
        ("DELETE", "/v1/notices/{notice_id}"),
        ("POST", "/v1/messages"),
        ("POST", "/v1/check"),
        ("POST", "/v1/units"),
        ("PATCH", "/v1/units/{party}/{name}"),
        ("GET", "/v1/unit/notices/{notice_id}"),
        ("POST", "/v1/unit/confirm"),
        ("POST", "/v1/paper/verify"),
        ("POST", "/v1/events/confirm"),
    ]:
        assert wanted in ok, f"no generated {wanted} was accepted: the binding lost touch"
