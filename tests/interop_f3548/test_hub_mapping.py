"""F3548 mapped onto the hub: a USS's intent is a `uas_activity` notice of its party,
screened by the same engine, so the hub's parties see it in their conflicts, under the
disclosure rules; and the hub's own notices never leak onto /dss/v1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.interop.f3548.dss import party_id_for
from deconflict.interop.f3548.hub_port import DSS_PARTY
from tests.interop_f3548.conftest import Dss
from tests.interop_f3548.helpers import circle, intent, new_id

OIR = "/dss/v1/operational_intent_references"


@pytest.fixture
def hub_dss(tmp_path: Path) -> Iterator[Dss]:
    d = Dss(tmp_path).start()
    try:
        yield d
    finally:
        d.stop()


def _coalition_notice(lon: float, lat: float) -> dict[str, Any]:
    d = 0.01
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {
        "kind": "air_activity",
        "title": "Strike package BRAVO",
        "remarks": "secret remarks",
        "addressees": ["russia"],
        "volumes": [
            {
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                "altitude_lower": {"value": 0, "units": "M", "reference": "W84"},
                "altitude_upper": {"value": 3000, "units": "M", "reference": "W84"},
                "time_start": circle(0, 0, 1, start_min=0)["time_start"]["value"],
                "time_end": circle(0, 0, 1, start_min=300)["time_start"]["value"],
            }
        ],
    }


def test_a_uss_intent_meets_a_coalition_notice_in_both_parties_conflicts(hub_dss: Dss) -> None:
    admin = hub_dss.hub()
    tokens = {
        p: admin.ok("POST", "/v1/parties", {"id": p, "name": p}, 201)["token"]
        for p in ("coalition", "russia")
    }
    # The operator gives the USS a hub token too by registering, before its first F3548
    # call, the party its `sub` maps to.
    uss_party = party_id_for("gamma-uss")
    uss_token = admin.ok("POST", "/v1/parties", {"id": uss_party, "name": "Gamma USS"}, 201)[
        "token"
    ]
    coalition = hub_dss.hub(tokens["coalition"])
    notice = coalition.ok("POST", "/v1/notices", _coalition_notice(36.2, 35.3), 201)
    gamma = hub_dss.uss("gamma-uss")

    # Hub notices are not F3548 entities: no USS sees them on /dss/v1, nor needs a key.
    area = {"area_of_interest": circle(35.3, 36.2, 3000, start_min=0, minutes=240)}
    assert gamma.ok("POST", f"{OIR}/query", area)["operational_intent_references"] == []
    op = new_id()
    made = gamma.ok("PUT", f"{OIR}/{op}", intent([circle(35.3, 36.2, 200)]), 201)
    assert made["operational_intent_reference"]["manager"] == "gamma-uss"

    # The coalition sees the conflict: the other side is the USS's party, a UAS
    # activity; not the intent itself, which was not addressed to it.
    conflicts = coalition.ok("GET", "/v1/conflicts")["conflicts"]
    assert len(conflicts) == 1
    c = conflicts[0]
    assert c["mine"]["notice"] == notice["id"]
    assert c["other"] == {
        "issuer": uss_party,
        "kind": "uas_activity",
        "notice": None,
        "version": None,
        "addressed_to_you": False,
        # the mirror of an intent F3548 already publishes to every USS in the area
        "disclosure": "exact",
    }
    assert "other_volume" not in c["overlaps"][0]
    # The USS's party sees the same conflict from its side, without the strike package.
    mine = hub_dss.hub(uss_token).ok("GET", "/v1/conflicts")["conflicts"]
    assert len(mine) == 1
    assert mine[0]["other"]["issuer"] == "coalition" and mine[0]["other"]["notice"] is None
    assert mine[0]["other"]["kind"] == "air_activity"
    assert "Strike" not in str(mine) and "secret" not in str(mine)
    # Its notice is the intent's mirror: a uas_activity of the USS's party, addressed to
    # the DSS directory party alone.
    own = hub_dss.hub(uss_token).ok("GET", f"/v1/notices/{mine[0]['mine']['notice']}")
    assert (own["kind"], own["issuer"], own["addressees"]) == (
        "uas_activity",
        uss_party,
        [DSS_PARTY],
    )
    # Russia, a bystander, learns nothing of it.
    assert hub_dss.hub(tokens["russia"]).ok("GET", "/v1/conflicts")["conflicts"] == []

    # Deleting the intent cancels the notice and resolves the conflict for both.
    gamma.ok("DELETE", f"{OIR}/{op}/{made['operational_intent_reference']['ovn']}")
    assert coalition.ok("GET", "/v1/conflicts?state=open")["conflicts"] == []
    assert own["id"] in [
        n["id"] for n in hub_dss.hub(uss_token).ok("GET", "/v1/notices?state=cancelled")["notices"]
    ]


def test_the_dss_state_survives_a_restart(hub_dss: Dss) -> None:
    a, b = hub_dss.uss("alpha"), hub_dss.uss("bravo")
    op = new_id()
    ref = a.ok("PUT", f"{OIR}/{op}", intent([circle(-20, -40, 100)]), 201)[
        "operational_intent_reference"
    ]
    hub_dss.stop()
    hub_dss.start()
    a, b = hub_dss.uss("alpha"), hub_dss.uss("bravo")
    again = a.ok("GET", f"{OIR}/{op}")["operational_intent_reference"]
    assert (again["ovn"], again["version"]) == (ref["ovn"], 1)
    # The rebuilt index still enforces the key.
    r = b.call("PUT", f"{OIR}/{new_id()}", intent([circle(-20, -40, 100)]))
    assert r.status_code == 409
    assert [m["id"] for m in r.json()["missing_operational_intents"]] == [op]
    sub = a.ok("GET", f"/dss/v1/subscriptions/{ref['subscription_id']}")["subscription"]
    assert sub["implicit_subscription"] and sub["dependent_operational_intents"] == [op]


def test_long_windows_and_polar_circles_are_mirrored_without_loss(hub_dss: Dss) -> None:
    polar = hub_dss.uss("polar")
    long = circle(90, 0, 200, start_min=10, minutes=500 * 24 * 60)  # 500 days, on the pole
    made = polar.ok("PUT", f"{OIR}/{new_id()}", intent([long]), 201)
    ref = made["operational_intent_reference"]
    assert ref["time_end"]["value"][:16] == long["time_end"]["value"][:16]
    admin = hub_dss.hub()
    party = party_id_for("polar")
    (notice,) = admin.ok("GET", f"/v1/notices?issuer={party}")["notices"]
    vols = notice["volumes"]
    # Two consecutive windows, the first a year long, meeting exactly: the same span.
    assert [v["time_start"][:16] for v in vols] == [
        long["time_start"]["value"][:16],
        vols[0]["time_end"][:16],
    ]
    assert vols[1]["time_end"][:16] == long["time_end"]["value"][:16]
    # The circle on the pole, 1 cm off it and 2 cm wider.
    _lon, lat = vols[0]["geometry"]["coordinates"]
    assert 89.99999 < lat < 90.0 and vols[0]["radius_m"] == 200.02
    # A query around the pole finds it, from the other side of the pole too.
    area = {"area_of_interest": circle(89.999, 180, 300, start_min=0, minutes=60)}
    found = polar.ok("POST", f"{OIR}/query", area)["operational_intent_references"]
    assert [f["id"] for f in found] == [ref["id"]]
