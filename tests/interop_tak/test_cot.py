"""CoT read as TAK clients read it; what the gateway writes reads back (ours and taky's parser)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import takproto
from lxml import etree
from taky.cot import models

from deconflict.interop.tak.alerts import alert_event, alert_text
from deconflict.interop.tak.chat import chat_event, receipt_event
from deconflict.interop.tak.cot import CotError, cot_time, event_xml, parse_cot
from deconflict.interop.tak.framing import CotStream, proto_to_element
from deconflict.interop.tak.rules import ShareRules, category_of, track_id_of, track_report
from deconflict.interop.tak.shapes import delete_event, notice_events, overlap_events

NOW = datetime.now(UTC)


def _event(**attrs: str) -> bytes:
    base = {
        "version": "2.0",
        "uid": "ANDROID-1",
        "type": "a-f-A-M-F",
        "how": "m-g",
        "time": cot_time(NOW),
        "start": cot_time(NOW),
        "stale": cot_time(NOW + timedelta(minutes=1)),
    }
    base.update(attrs)
    point = attrs.pop("_point", 'lat="35.0" lon="36.0" hae="6000" ce="10" le="10"')
    head = " ".join(f'{k}="{v}"' for k, v in base.items() if not k.startswith("_"))
    return f"<event {head}><point {point}/><detail/></event>".encode()


def _taky_reads(xml: bytes) -> Any:
    """taky's own parser (lxml), as the TAK server will read what the gateway sends."""
    return models.Event.from_elm(etree.fromstring(xml))


def test_a_good_event() -> None:
    ev = parse_cot(_event(), NOW)
    assert (ev.uid, ev.type, ev.lat, ev.lon, ev.hae) == ("ANDROID-1", "a-f-A-M-F", 35.0, 36.0, 6000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<event uid='x'", "malformed XML"),
        (b"<foo/>", "not <event>"),
        (_event(uid=""), "event@uid"),
        (_event(type="a f"), "event@type"),
        (_event(time="yesterday"), "event@time"),
        (_event(time=cot_time(NOW + timedelta(hours=1))), "in the future"),
        (_event(stale=cot_time(NOW - timedelta(seconds=5))), "before start"),
        (
            _event(
                time=cot_time(NOW - timedelta(minutes=5)),
                start=cot_time(NOW - timedelta(minutes=5)),
                stale=cot_time(NOW - timedelta(seconds=5)),
            ),
            "already stale",
        ),
        (_event(_point='lat="91" lon="0" hae="0" ce="1" le="1"'), "point@lat"),
        (_event(_point='lat="1" lon="nan" hae="0" ce="1" le="1"'), "point@lon"),
        (_event(_point='lat="1" lon="2" ce="1" le="1"'), "point@hae: missing"),
        (_event().replace(b"<point", b"<nopoint"), "point: missing"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><event/>', "DTD"),
        (b"<event>" + b"x" * 70_000 + b"</event>", "bytes"),
    ],
)
def test_bad_events_name_the_field(data: bytes, reason: str) -> None:
    with pytest.raises(CotError, match=reason):
        parse_cot(data, NOW)


def test_the_stream_splits_events_and_survives_garbage() -> None:
    stream = CotStream()
    a, b = _event(uid="A"), _event(uid="B")
    items = stream.feed(b"\n" + a + b"  " + b[:20])
    assert items == [a]
    items = stream.feed(b[20:] + b'<?xml version="1.0"?>' + a)
    assert items == [b, a]
    # An event that never ends is dropped once it is too large, and the stream goes on.
    out = stream.feed(b"<event " + b"x" * 70_000)
    assert len(out) == 1 and isinstance(out[0], CotError)
    assert stream.feed(a) == [a]


def test_tak_protocol_round_trip() -> None:
    framed = bytes(takproto.xml2proto(_event(uid="P"), takproto.TAKProtoVer.STREAM))
    stream = CotStream()
    items = stream.feed(framed[:3]) + stream.feed(framed[3:])
    assert len(items) == 1 and not isinstance(items[0], bytes | CotError)
    ev = parse_cot(ET.tostring(proto_to_element(items[0])), NOW)
    assert (ev.uid, ev.lat, ev.lon, ev.hae) == ("P", 35.0, 36.0, 6000.0)
    bad = stream.feed(b"\xbf\xff\xff\xff\xff\xff\x01")
    assert len(bad) == 1 and isinstance(bad[0], CotError)


def test_nothing_is_shared_unless_chosen() -> None:
    ev = parse_cot(_event(), NOW)
    assert not ShareRules().shares(ev)
    assert ShareRules(uids=frozenset({"ANDROID-1"})).shares(ev)
    assert ShareRules(types=("a-f-A",)).shares(ev)
    assert not ShareRules(types=("a-f-G",)).shares(ev)
    marker = parse_cot(_event(how="h-g-i-g-o"), NOW)  # placed by hand on a map
    assert not ShareRules(types=("a-f-A",)).shares(marker)
    assert ShareRules(uids=frozenset({"ANDROID-1"})).shares(marker)
    hostile = parse_cot(_event(type="a-h-A-M-F"), NOW)  # not the party's own
    assert not ShareRules(uids=frozenset({"ANDROID-1"})).shares(hostile)


def test_track_report() -> None:
    d = _event().replace(b"<detail/>", b'<detail><track speed="200" course="370"/></detail>')
    with pytest.raises(CotError, match="track@course"):
        track_report(parse_cot(d, NOW))
    d = _event().replace(b"<detail/>", b'<detail><track speed="200" course="90"/></detail>')
    r = track_report(parse_cot(d, NOW))
    assert r["gs_mps"] == 200 and r["trk_deg"] == 90 and r["category"] == "manned"
    assert category_of("a-f-A-M-F-Q") == "uas" and category_of("a-f-G-U-C") == "manned"
    assert track_id_of("ANDROID-1 2/3") == "ANDROID-1_2_3"
    assert track_id_of("_x") == "T_x"


def _volume(geometry: dict[str, Any], radius: float = 0) -> dict[str, Any]:
    return {
        "geometry": geometry,
        "radius_m": radius,
        "altitude_lower": {"value": 0, "units": "FT", "reference": "W84"},
        "altitude_upper": {"value": 250, "units": "FL"},
        "time_start": (NOW + timedelta(hours=1)).isoformat(),
        "time_end": (NOW + timedelta(hours=2)).isoformat(),
    }


def test_shapes_read_back_as_tak_reads_them() -> None:
    notice = {
        "id": "n-1",
        "version": 2,
        "issuer": "russia",
        "kind": "protected_site",
        "title": "Hospital",
        "volumes": [
            _volume(
                {"type": "Polygon", "coordinates": [[[36, 35], [36.1, 35], [36, 35.1], [36, 35]]]}
            ),
            _volume({"type": "Point", "coordinates": [36.5, 35.5]}, 300),
            _volume({"type": "LineString", "coordinates": [[36, 35], [36.2, 35.2]]}, 1000),
            {**_volume({"type": "Point", "coordinates": [1, 1]}, 5), "time_end": NOW.isoformat()},
        ],
    }
    events = notice_events(notice, NOW)
    assert [uid for uid, _ in events] == [f"deconflict.notice.n-1.{i}" for i in range(3)]
    for uid, xml in events:
        ev = parse_cot(xml, NOW)
        assert ev.uid == uid and ev.type.startswith("r-")
        assert abs((ev.stale - (NOW + timedelta(hours=2))).total_seconds()) < 1e-3
        remarks = ev.find("remarks")
        assert remarks is not None and "russia" in (remarks.text or "")
        assert "FL250" in (remarks.text or "") and "v2" in (remarks.text or "")
        assert _taky_reads(xml).uid == uid
    polygon, circle, corridor = (parse_cot(x, NOW) for _, x in events)
    assert len(polygon.detail.findall("link")) == 3
    assert circle.attr("shape/ellipse", "major") == "300.0"
    assert corridor.attr("__deconflict", "width_m") == "2000"


def test_overlap_keeps_to_what_the_hub_disclosed() -> None:
    conflict = {
        "id": "c-1",
        "state": "open",
        "other": {"issuer": "russia", "kind": "air_activity", "notice": None},
        "overlaps": [
            {
                "region": {
                    "type": "Polygon",
                    "coordinates": [[[36, 35], [36.5, 35], [36, 35.5], [36, 35]]],
                },
                "altitude_band": {"lower_m": 0, "upper_m": 3000},
                "time_window": {"start": cot_time(NOW), "end": cot_time(NOW + timedelta(hours=1))},
            }
        ],
    }
    [(uid, xml)] = overlap_events(conflict, NOW)
    ev = parse_cot(xml, NOW)
    assert uid == "deconflict.conflict.c-1.0.0" and ev.type == "r-a-f"
    assert len(ev.detail.findall("link")) == 3
    assert _taky_reads(delete_event(uid, NOW)).etype == "t-x-d-d"


def test_alerts_carry_the_advisory_only() -> None:
    alert = {
        "id": "a-1",
        "kind": "separation",
        "state": "active",
        "severity": "predicted",
        "revision": 1,
        "track_id": "ANDROID-1",
        "position": {"lat": 35.0, "lon": 36.0},
        "other": {
            "party": "russia",
            "category": "manned",
            "clock": 3,
            "range_nm": 10.0,
            "rel_alt_ft": 1000.0,
            "vertical": "climbing",
            "track": {"lat": 35.0, "lon": 36.2},  # as if shared: still never drawn
        },
        "tcpa_s": 45.0,
        "dcpa_nm": 0.5,
        "t_los_s": 20.0,
    }
    text = alert_text(alert)
    assert "3 o'clock" in text and "10.0 NM" in text and "1,000 ft above, climbing" in text
    assert "closest 0.5 NM" in text
    assert "Reply ACK" in text
    assert "Acknowledged by coalition" in alert_text({**alert, "acknowledged_by": ["coalition"]})
    _, xml = alert_event(alert, device_uid="ANDROID-1", callsigns=["VIPER11", "VIPER12"], now=NOW)
    ev = parse_cot(xml, NOW)
    assert (ev.lat, ev.lon) == (35.0, 36.0)
    assert b"36.2" not in xml
    assert [d.get("callsign") for d in ev.detail.findall("marti/dest")] == ["VIPER11", "VIPER12"]
    assert _taky_reads(xml).detail.has_marti


def test_chat_and_receipts_read_as_geochat_by_taky() -> None:
    xml = chat_event(
        message_id="m-1",
        text="hello",
        sender_uid="deconflict-hotline",
        sender_callsign="russia",
        to_uid="ANDROID-1",
        to_callsign="VIPER11",
        chatroom="HOTLINE",
        now=NOW,
    )
    chat = _taky_reads(xml).detail
    assert isinstance(chat, models.GeoChat)
    assert chat.dst_uid == "ANDROID-1" and chat.message == "hello"
    for what, type_ in (("delivered", "b-t-f-d"), ("read", "b-t-f-r")):
        r = receipt_event(
            what=what,
            message_id="m-1",
            sender_uid="deconflict-hotline",
            sender_callsign="HOTLINE",
            to_uid="ANDROID-1",
            to_callsign="VIPER11",
            chatroom="HOTLINE",
            now=NOW,
        )
        ev = parse_cot(r, NOW)
        assert ev.type == type_ and ev.uid == "m-1"
        assert list(_taky_reads(r).detail.marti_cs) == ["VIPER11"]


def test_event_xml_round_trip() -> None:
    xml = event_xml(
        uid="u", type_="a-f-G", lat=1.5, lon=-2.5, hae=10, stale=NOW + timedelta(minutes=1), now=NOW
    )
    ev = parse_cot(xml, NOW)
    assert (ev.lat, ev.lon, ev.hae) == (1.5, -2.5, 10.0)
