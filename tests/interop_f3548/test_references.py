"""Operational intent references between two USSs: OVNs, versions, the key check,
subscriptions and their notification indices, and what each USS may see and do."""

from __future__ import annotations

from typing import Any

from tests.interop_f3548.conftest import Dss
from tests.interop_f3548.helpers import CM, CP, SC, circle, intent, new_id

OIR = "/dss/v1/operational_intent_references"
NO_OVN = "Available from USS"


def _query(uss: Any, lat: float, lng: float, radius: float = 500) -> dict[str, Any]:
    body = {"area_of_interest": circle(lat, lng, radius, start_min=0, minutes=240)}
    found = uss.ok("POST", f"{OIR}/query", body)["operational_intent_references"]
    return {r["id"]: r for r in found}


def _subscribers(resp: dict[str, Any]) -> dict[str, int]:
    return {
        s["subscription_id"]: s["notification_index"]
        for entry in resp["subscribers"]
        for s in entry["subscriptions"]
    }


def test_create_get_query_update_delete_with_two_usss(dss: Dss) -> None:
    a, b = dss.uss("alpha"), dss.uss("bravo")
    op = new_id()
    created = a.ok("PUT", f"{OIR}/{op}", intent([circle(10, 10, 100)]), 201)
    ref = created["operational_intent_reference"]
    assert (ref["id"], ref["version"], ref["state"], ref["manager"]) == (op, 1, "Accepted", "alpha")
    assert len(ref["ovn"]) >= 16 and ref["uss_availability"] == "Unknown"
    ovn1 = ref["ovn"]
    # The owner sees its OVN; the other USS sees the reference but never the OVN.
    assert a.ok("GET", f"{OIR}/{op}")["operational_intent_reference"]["ovn"] == ovn1
    seen = b.ok("GET", f"{OIR}/{op}")["operational_intent_reference"]
    assert seen["ovn"] == NO_OVN and seen["uss_base_url"] == "https://uss.example/f3548"
    assert _query(b, 10, 10)[op]["ovn"] == NO_OVN
    assert op not in _query(b, 10.5, 10)  # 55 km away
    # Only the manager changes it, and only at its current OVN.
    body = intent([circle(10, 10, 120)], state="Activated", subscription_id=ref["subscription_id"])
    assert b.call("PUT", f"{OIR}/{op}/{ovn1}", body).status_code == 403
    assert a.call("PUT", f"{OIR}/{op}/{'x' * 20}", body).status_code == 409
    updated = a.ok("PUT", f"{OIR}/{op}/{ovn1}", body)["operational_intent_reference"]
    assert (updated["version"], updated["state"]) == (2, "Activated")
    assert updated["ovn"] != ovn1
    assert a.call("PUT", f"{OIR}/{op}/{ovn1}", body).status_code == 409  # stale OVN
    assert a.call("DELETE", f"{OIR}/{op}/{ovn1}").status_code == 409
    assert b.call("DELETE", f"{OIR}/{op}/{updated['ovn']}").status_code == 403
    a.ok("DELETE", f"{OIR}/{op}/{updated['ovn']}")
    assert a.call("GET", f"{OIR}/{op}").status_code == 404
    assert op not in _query(b, 10, 10)
    # Its implicit subscription went with it.
    assert a.call("GET", f"/dss/v1/subscriptions/{ref['subscription_id']}").status_code == 404


def test_the_key_must_prove_awareness_of_every_intersecting_intent(dss: Dss) -> None:
    a, b = dss.uss("alpha"), dss.uss("bravo")
    first, second = new_id(), new_id()
    ovn_a = a.ok("PUT", f"{OIR}/{first}", intent([circle(20, 20, 100)]), 201)[
        "operational_intent_reference"
    ]["ovn"]
    # Bravo plans over alpha's intent without its OVN: 409, naming what it missed.
    r = b.call("PUT", f"{OIR}/{second}", intent([circle(20, 20.001, 100)]))
    assert r.status_code == 409, r.text
    missing = r.json()["missing_operational_intents"]
    assert [m["id"] for m in missing] == [first]
    assert missing[0]["ovn"] == NO_OVN  # the key comes from alpha, never from the DSS
    assert b.call("GET", f"{OIR}/{second}").status_code == 404  # nothing stored
    # With the OVN (learnt from alpha) it goes through.
    ok = b.ok("PUT", f"{OIR}/{second}", intent([circle(20, 20.001, 100)], key=[ovn_a]), 201)
    assert ok["operational_intent_reference"]["id"] == second
    # Disjoint in height or in time: no key needed.
    high = intent([circle(20, 20, 100, lower_m=500, upper_m=600)])
    assert b.call("PUT", f"{OIR}/{new_id()}", high).status_code == 201
    later = intent([circle(20, 20, 100, start_min=200)])
    assert b.call("PUT", f"{OIR}/{new_id()}", later).status_code == 201
    # Alpha now overlaps bravo's intent: to activate it, it must name bravo's OVN; an
    # off-nominal intent (Nonconforming) is published without one.
    ref = a.ok("GET", f"{OIR}/{first}")["operational_intent_reference"]
    activate = intent(
        [circle(20, 20, 100)], state="Activated", subscription_id=ref["subscription_id"]
    )
    r = a.call("PUT", f"{OIR}/{first}/{ovn_a}", activate)
    assert r.status_code == 409 and second in [
        m["id"] for m in r.json()["missing_operational_intents"]
    ]
    off = {**activate, "state": "Nonconforming"}
    assert a.call("PUT", f"{OIR}/{first}/{ovn_a}", off).status_code == 200


def test_subscriptions_and_notification_indices(dss: Dss) -> None:
    a, b = dss.uss("alpha"), dss.uss("bravo")
    sub = new_id()
    body = {
        "extents": circle(30, 30, 1000, start_min=0, minutes=180),
        "uss_base_url": "https://bravo.example",
        "notify_for_operational_intents": True,
        "notify_for_constraints": False,
    }
    made = b.ok("PUT", f"/dss/v1/subscriptions/{sub}", body)
    assert made["subscription"]["notification_index"] == 0
    assert made["operational_intent_references"] == []
    assert "constraint_references" not in made
    # Alpha's new intent inside it: alpha is told to notify bravo's subscription (index 1)
    # and its own implicit one.
    op = new_id()
    resp = a.ok("PUT", f"{OIR}/{op}", intent([circle(30, 30, 50)]), 201)
    indices = _subscribers(resp)
    implicit = resp["operational_intent_reference"]["subscription_id"]
    assert indices == {sub: 1, implicit: 1}
    ovn = resp["operational_intent_reference"]["ovn"]
    # Outside it: no notification for bravo.
    far = a.ok("PUT", f"{OIR}/{new_id()}", intent([circle(31, 30, 50)]), 201)
    assert sub not in _subscribers(far)
    # Deleting the intent notifies again (index 2); the subscription now lists it as met.
    gone = a.ok("DELETE", f"{OIR}/{op}/{ovn}")
    assert _subscribers(gone)[sub] == 2
    got = b.ok("GET", f"/dss/v1/subscriptions/{sub}")["subscription"]
    assert got["notification_index"] == 2
    # Another USS can neither read nor change bravo's subscription; a query shows only
    # one's own.
    assert a.call("GET", f"/dss/v1/subscriptions/{sub}").status_code == 403
    r = a.call("PUT", f"/dss/v1/subscriptions/{sub}/{got['version']}", body)
    assert r.status_code == 403
    area = {"area_of_interest": circle(30, 30, 2000, start_min=0, minutes=180)}
    assert [
        s["id"] for s in b.ok("POST", "/dss/v1/subscriptions/query", area)["subscriptions"]
    ] == [sub]
    assert a.ok("POST", "/dss/v1/subscriptions/query", area)["subscriptions"] == []
    # Stale version: 409. A subscription for constraints needs constraint_processing.
    assert b.call("DELETE", f"/dss/v1/subscriptions/{sub}/stale").status_code == 409
    both = {**body, "notify_for_constraints": True}
    assert b.call("PUT", f"/dss/v1/subscriptions/{sub}/{got['version']}", both).status_code == 403
    b.ok("PUT", f"/dss/v1/subscriptions/{sub}/{got['version']}", both, scopes=f"{SC} {CP}")
    latest = b.ok("GET", f"/dss/v1/subscriptions/{sub}")["subscription"]
    b.ok("DELETE", f"/dss/v1/subscriptions/{sub}/{latest['version']}")
    assert b.call("GET", f"/dss/v1/subscriptions/{sub}").status_code == 404


def test_a_subscription_must_keep_covering_its_intents(dss: Dss) -> None:
    a = dss.uss("alpha")
    sub = new_id()
    body = {
        "extents": circle(40, 40, 1000, start_min=0, minutes=180),
        "uss_base_url": "https://alpha.example",
        "notify_for_operational_intents": True,
    }
    version = a.ok("PUT", f"/dss/v1/subscriptions/{sub}", body)["subscription"]["version"]
    op = new_id()
    a.ok("PUT", f"{OIR}/{op}", intent([circle(40, 40.005, 200)], subscription_id=sub), 201)
    small = {**body, "extents": circle(40, 40, 300, start_min=0, minutes=180)}
    r = a.call("PUT", f"/dss/v1/subscriptions/{sub}/{version}", small)
    assert r.status_code == 400 and op in r.json()["message"]
    r = a.call("DELETE", f"/dss/v1/subscriptions/{sub}/{version}")
    assert r.status_code == 400  # an intent depends on it


def test_bad_requests_are_400_and_store_nothing(dss: Dss) -> None:
    a = dss.uss("alpha")
    good = intent([circle(50, 50, 100)])
    bad: list[tuple[str, Any]] = [
        ("not a uuid", good),
        (new_id(), {**good, "extents": good["extents"][0]}),
        (new_id(), {**good, "extents": []}),
        (new_id(), {**good, "state": "Ended"}),
        (new_id(), {**good, "state": "Activated"}),
        (new_id(), {**good, "extents": [circle(50, 50, 100, start_min=-120, minutes=60)]}),
        (new_id(), {**good, "extents": [circle(50, 50, -5)]}),
        (new_id(), {**good, "extents": [circle(95, 50, 100)]}),
        (new_id(), {**good, "extents": [circle(50, 50, 100, lower_m=200, upper_m=100)]}),
        (new_id(), {**good, "subscription_id": new_id()}),
        (new_id(), {k: v for k, v in good.items() if k != "new_subscription"}),
    ]
    for entity, body in bad:
        r = a.call("PUT", f"{OIR}/{entity}", body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["message"]
    wrong_ref = circle(50, 50, 100)
    wrong_ref["volume"]["altitude_lower"]["reference"] = "AMSL"
    assert a.call("PUT", f"{OIR}/{new_id()}", intent([wrong_ref])).status_code == 400
    assert a.call("POST", f"{OIR}/query").status_code == 400
    assert _query(a, 50, 50) == {}


def test_constraints_are_screened_in_the_key_check(dss: Dss) -> None:
    a, b = dss.uss("alpha"), dss.uss("bravo")
    cid = new_id()
    cbody = {"extents": [circle(60, 60, 500)], "uss_base_url": "https://authority.example"}
    made = a.ok("PUT", f"/dss/v1/constraint_references/{cid}", cbody, 201, scopes=CM)
    cref = made["constraint_reference"]
    assert cref["version"] == 1 and "state" not in cref
    # Intents planned into it must name the constraint's OVN too.
    r = b.call("PUT", f"{OIR}/{new_id()}", intent([circle(60, 60, 50)]))
    assert r.status_code == 409
    assert [c["id"] for c in r.json()["missing_constraints"]] == [cid]
    seen = b.ok("GET", f"/dss/v1/constraint_references/{cid}", scopes=CP)["constraint_reference"]
    assert seen["ovn"] == NO_OVN
    assert b.call("GET", f"/dss/v1/constraint_references/{cid}", scopes=SC).status_code == 403
    ok = intent([circle(60, 60, 50)], key=[cref["ovn"]])
    assert b.call("PUT", f"{OIR}/{new_id()}", ok).status_code == 201
    a.ok("DELETE", f"/dss/v1/constraint_references/{cid}/{cref['ovn']}", scopes=CM)
    assert b.call("GET", f"/dss/v1/constraint_references/{cid}", scopes=CP).status_code == 404


def test_uss_availability(dss: Dss) -> None:
    a = dss.uss("alpha")
    got = a.ok("GET", "/dss/v1/uss_availability/alpha")
    assert got["status"] == {"uss": "alpha", "availability": "Unknown"}
    aa = "utm.availability_arbitration"
    assert (
        a.call("PUT", "/dss/v1/uss_availability/alpha", {"availability": "Down"}).status_code == 403
    )
    put = a.ok(
        "PUT",
        "/dss/v1/uss_availability/alpha",
        {"availability": "Down", "old_version": got["version"]},
        scopes=aa,
    )
    assert put["status"]["availability"] == "Down"
    stale = {"availability": "Normal", "old_version": got["version"]}
    assert a.call("PUT", "/dss/v1/uss_availability/alpha", stale, scopes=aa).status_code == 409
    op = new_id()
    ref = a.ok("PUT", f"{OIR}/{op}", intent([circle(70, 70, 50)]), 201)[
        "operational_intent_reference"
    ]
    assert ref["uss_availability"] == "Down"
