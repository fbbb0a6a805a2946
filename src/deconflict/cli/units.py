"""Units (issue 15): `deconflict units ...` for the party's liaison, `deconflict unit ...`
for the unit itself (with the unit's token).

    deconflict units create coalition/strike-cell-2 --area area.json --kinds air_activity,fires
    deconflict units list | show ID | update ID ... | disable ID
    deconflict units status NOTICE        which units have (and have not) received it
    deconflict units pending              every delivery that has not reached its unit
    deconflict unit watch                 the unit's stream; confirms each notice received
    deconflict unit notices | ack NOTICE
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from deconflict.cli.client_cmds import _common, _emit, _wrap
from deconflict.client import Client

__all__ = ["register"]

Doc = dict[str, Any]


def _area(text: str) -> Doc:
    """An area: a JSON file, or the JSON itself; a bare GeoJSON geometry is accepted."""
    path = Path(text)
    raw = path.read_text(encoding="utf-8") if path.exists() else text
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--area: not JSON nor a JSON file: {exc}") from None
    if isinstance(doc, dict) and "geometry" not in doc and "type" in doc:
        doc = {"geometry": doc}
    if not isinstance(doc, dict):
        raise argparse.ArgumentTypeError("--area: must be a JSON object")
    return doc


def _kinds(text: str) -> list[str]:
    return [k.strip() for k in text.split(",") if k.strip()]


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("units", help="your party's units: create, list, status")
    sub = top.add_subparsers(dest="units_command", metavar="ACTION", required=True)

    p = sub.add_parser("create", help="create a unit; prints its token once")
    p.add_argument("id", help="party/name, in your own namespace")
    p.add_argument("--area", type=_area, required=True, help="footprint: a JSON file or JSON")
    p.add_argument("--radius-m", type=float, help="radius of a Point or LineString area")
    p.add_argument("--kinds", type=_kinds, help="notice kinds it cares about (default: all)")
    p.add_argument("--name", help="display name")
    p.add_argument(
        "--share-with-issuers",
        action="store_true",
        help="issuers may be told this unit's name when it missed their notice",
    )
    _common(p)
    p.set_defaults(handler=_wrap(_create))

    p = sub.add_parser("list", help="your units")
    _common(p)
    p.set_defaults(handler=_wrap(_list))

    p = sub.add_parser("show", help="one unit and its current deliveries")
    p.add_argument("id")
    _common(p)
    p.set_defaults(handler=_wrap(_show))

    p = sub.add_parser("update", help="change a unit's name, area, kinds or sharing")
    p.add_argument("id")
    p.add_argument("--area", type=_area)
    p.add_argument("--radius-m", type=float)
    p.add_argument("--kinds", type=_kinds)
    p.add_argument("--name")
    p.add_argument("--share-with-issuers", choices=["yes", "no"])
    _common(p)
    p.set_defaults(handler=_wrap(_update))

    p = sub.add_parser("disable", help="disable a unit: its token stops working at once")
    p.add_argument("id")
    _common(p)
    p.set_defaults(handler=_wrap(_disable))

    p = sub.add_parser("rotate-token", help="a new token for a unit; the old one stops working")
    p.add_argument("id")
    _common(p)
    p.set_defaults(handler=_wrap(_rotate))

    p = sub.add_parser("status", help="which of your units have received a notice")
    p.add_argument("notice", help="notice id")
    _common(p)
    p.set_defaults(handler=_wrap(_status))

    p = sub.add_parser("pending", help="deliveries that have not reached their unit")
    _common(p)
    p.set_defaults(handler=_wrap(_pending))

    top = subparsers.add_parser("unit", help="a unit's own terminal (with the unit's token)")
    sub = top.add_subparsers(dest="unit_command", metavar="ACTION", required=True)
    p = sub.add_parser("watch", help="follow the unit's stream, confirming what it receives")
    p.add_argument("--after", type=int, help="resume after this event id")
    p.add_argument("--count", type=int, help="stop after this many events")
    _common(p)
    p.set_defaults(handler=_wrap(_watch))

    p = sub.add_parser("notices", help="the notices routed to this unit")
    _common(p)
    p.set_defaults(handler=_wrap(_notices))

    p = sub.add_parser("ack", help="acknowledge the version routed to this unit")
    p.add_argument("notice")
    p.add_argument("--version", type=int, help="default: the version routed to you")
    p.add_argument("--comment")
    _common(p)
    p.set_defaults(handler=_wrap(_ack))


def _with_radius(area: Doc, radius: float | None) -> Doc:
    return {**area, "radius_m": radius} if radius is not None else area


def _line(u: Doc) -> str:
    kinds = ",".join(u["kinds"])
    shared = " shared" if u["share_with_issuers"] else ""
    return f"{u['id']:32} {u['state']:9} {kinds}{shared}"


def _create(client: Client, args: argparse.Namespace) -> int:
    made = client.create_unit(
        args.id,
        _with_radius(args.area, args.radius_m),
        kinds=args.kinds,
        name=args.name,
        share_with_issuers=args.share_with_issuers,
    )

    def human() -> None:
        print(f"created {made['id']}; its token (shown once): {made['token']}")
        if made["routed"]:
            print(f"routed to it now: {', '.join(made['routed'])}")

    return _emit(args, made, human)


def _list(client: Client, args: argparse.Namespace) -> int:
    found = client.units()

    def human() -> None:
        for u in found:
            print(_line(u))

    return _emit(args, found, human)


def _show(client: Client, args: argparse.Namespace) -> int:
    u = client.unit(args.id)

    def human() -> None:
        print(_line(u))
        for d in u["deliveries"]:
            print(f"  {d['notice_id']} v{d['version']} {d['state']}")

    return _emit(args, u, human)


def _update(client: Client, args: argparse.Namespace) -> int:
    changes: Doc = {}
    if args.area is not None:
        changes["area"] = _with_radius(args.area, args.radius_m)
    if args.kinds is not None:
        changes["kinds"] = args.kinds
    if args.name is not None:
        changes["name"] = args.name
    if args.share_with_issuers is not None:
        changes["share_with_issuers"] = args.share_with_issuers == "yes"
    u = client.update_unit(args.id, **changes)
    return _emit(args, u, lambda: print(_line(u)))


def _disable(client: Client, args: argparse.Namespace) -> int:
    u = client.disable_unit(args.id)
    return _emit(args, u, lambda: print(f"{u['id']} disabled; its token no longer works"))


def _rotate(client: Client, args: argparse.Namespace) -> int:
    u = client.rotate_unit_token(args.id)
    said = f"{u['id']}: new token (shown once): {u['token']}; the old one no longer works"
    return _emit(args, u, lambda: print(said))


def _delivery(d: Doc) -> str:
    missed = "  MISSED: the activity began before it had it" if d["missed"] else ""
    when = d["acknowledged_at"] or d["delivered_at"] or d["routed_at"]
    return f"  {d['unit']:32} {d['state']:12} {when}{missed}"


def _status(client: Client, args: argparse.Namespace) -> int:
    found = client.notice_units(args.notice)

    def human() -> None:
        s = found["summary"]
        print(
            f"{found['notice_id']} v{found['version']}: {s['delivered']} of {s['responsible']} "
            f"units have it, {s['acknowledged']} acknowledged"
        )
        for d in found["units"]:
            print(_delivery(d))

    return _emit(args, found, human)


def _pending(client: Client, args: argparse.Namespace) -> int:
    found = client.unit_deliveries(state="pending")

    def human() -> None:
        for d in found:
            print(f"{d['notice_id']} v{d['version']}{_delivery(d)}")

    return _emit(args, found, human)


def _watch(client: Client, args: argparse.Namespace) -> int:
    for seen, event in enumerate(client.stream(after=args.after, path="/v1/unit/events"), 1):
        if event is None:  # a heartbeat (only with idle=True)
            continue
        if event["type"] == "notice_routed":
            client.unit_confirm(event["id"])  # received: the party sees it delivered
        d = event["data"]
        if args.json:
            print(json.dumps(event), flush=True)
        else:
            state = "" if d.get("state", "active") == "active" else f" [{d['state']}]"
            title = d.get("title", d.get("reason", ""))
            print(
                f"#{event['id']} {event['time']} {event['type']}: {d.get('issuer')} "
                f"{d.get('kind', '')} {d.get('id')} v{d.get('version')} {title}{state}",
                flush=True,
            )
        if args.count is not None and seen >= args.count:
            break
    return 0


def _notices(client: Client, args: argparse.Namespace) -> int:
    found = client.unit_notices()

    def human() -> None:
        for n in found:
            print(
                f"{n['id']} v{n['version']} {n['issuer']} {n['kind']} {n['title']} "
                f"[{n['delivery']['state']}]"
            )

    return _emit(args, found, human)


def _ack(client: Client, args: argparse.Namespace) -> int:
    version = args.version
    if version is None:
        version = client.unit_notice(args.notice)["delivery"]["version"]
    done = client.unit_ack(args.notice, version, args.comment)
    return _emit(args, done, lambda: print(f"acknowledged {done['notice_id']} v{done['version']}"))
