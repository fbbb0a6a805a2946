"""Client commands for a liaison officer's terminal: notify, acks, ack, conflicts, message, watch.

Each takes --server and --token, defaulting to DECONFLICT_URL and DECONFLICT_TOKEN.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deconflict.cli.options import HUB_ERRORS, add_server_options, report_hub_error
from deconflict.client import ApiError, Client
from deconflict.ledger.keys import load_private_key

__all__ = ["register"]

Doc = dict[str, Any]
# Fields of a scenario file that the hub assigns itself.
_SCENARIO_ONLY = ("id", "issuer", "version", "state")


def _common(p: argparse.ArgumentParser) -> None:
    add_server_options(p)
    p.add_argument("--json", action="store_true", help="print the hub's JSON answer")
    p.add_argument(
        "--key",
        type=Path,
        default=os.environ.get("DECONFLICT_KEY") or None,
        help="your Ed25519 key file: sign what you notify, amend, cancel and acknowledge "
        "(default: $DECONFLICT_KEY)",
    )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("notify", help="notify the notice(s) in FILE to the hub")
    p.add_argument("file", type=Path, help='a notice document, or {"notices": [...]}')
    p.add_argument(
        "--disclosure",
        choices=["exact", "coarse", "existence"],
        help="what parties not addressed learn of it (default: exact for a protected_site, "
        "coarse otherwise; the document's own grain is kept)",
    )
    _common(p)
    p.set_defaults(handler=_wrap(_notify))

    p = subparsers.add_parser("acks", help="acknowledgements you owe (or are owed: --issued)")
    p.add_argument("--issued", action="store_true", help="answers to your own notices")
    p.add_argument("--state", help="e.g. pending,delivered")
    _common(p)
    p.set_defaults(handler=_wrap(_acks))

    p = subparsers.add_parser("ack", help="acknowledge receipt of a notice's current version")
    p.add_argument("notice", help="notice id")
    p.add_argument("--version", type=int, help="the version you read (default: the current one)")
    p.add_argument("--comment", help="optional remark to the issuer")
    _common(p)
    p.set_defaults(handler=_wrap(_ack))

    p = subparsers.add_parser("conflicts", help="conflicts of your notices")
    p.add_argument("--state", default="open", help="open, resolved or all (default open)")
    _common(p)
    p.set_defaults(handler=_wrap(_conflicts))

    p = subparsers.add_parser("message", help="send a hotline message")
    p.add_argument("text", help="the message")
    p.add_argument("--to", action="append", required=True, help="recipient party (repeatable)")
    p.add_argument("--priority", default="routine", choices=["routine", "urgent", "flash"])
    p.add_argument("--subject", default="")
    p.add_argument("--ref", help="what it is about: notice:<id>, conflict:<id> or alert:<id>")
    _common(p)
    p.set_defaults(handler=_wrap(_message))

    p = subparsers.add_parser("watch", help="follow your live event stream")
    p.add_argument("--after", type=int, help="resume after this event id")
    p.add_argument("--count", type=int, help="stop after this many events")
    _common(p)
    p.set_defaults(handler=_wrap(_watch))


def _wrap(fn: Callable[[Client, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        if not args.token:
            print("deconflict: no token: pass --token or set DECONFLICT_TOKEN", file=sys.stderr)
            return 2
        try:
            key = load_private_key(Path(args.key)) if getattr(args, "key", None) else None
        except (OSError, ValueError) as exc:
            print(f"deconflict: cannot load key {args.key}: {exc}", file=sys.stderr)
            return 2
        try:
            with Client(args.server, args.token, key=key) as client:
                return fn(client, args)
        except HUB_ERRORS as exc:
            return report_hub_error(exc, args.server)
        except KeyboardInterrupt:
            return 130

    return handler


def _emit(args: argparse.Namespace, doc: Any, human: Callable[[], None]) -> int:
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        human()
    return 0


def _metres(value: Any) -> str:
    """Altitudes to the metre, as every command prints them (6096-7620 m)."""
    return f"{value:.0f}" if isinstance(value, int | float) else "?"


def _describe_conflict(c: Doc) -> str:
    other = c.get("other") or {}
    mine = c.get("mine") or {}
    o = (c.get("overlaps") or [{}])[0]
    window = o.get("time_window") or {}
    band = o.get("altitude_band") or {}
    where = "overlap" if not o.get("min_distance_m") else f"{o['min_distance_m']:.0f} m apart"
    return (
        f"{c.get('id') or '(dry run)'} [{c.get('state')}] your {mine.get('kind')} "
        f"{mine.get('notice') or ''} x {other.get('issuer')}'s {other.get('kind')} "
        f"{other.get('notice') or '(not addressed to you)'}"
        f"{'' if other.get('disclosure', 'exact') == 'exact' else ' [' + other['disclosure'] + ']'}"
        f": {where}, "
        f"{_metres(band.get('lower_m'))}-{_metres(band.get('upper_m'))} m, "
        f"{window.get('start', '?')} to {window.get('end', '?')}"
    )


def _notify(client: Client, args: argparse.Namespace) -> int:
    try:
        doc = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"deconflict notify: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    docs = doc["notices"] if isinstance(doc, dict) and "notices" in doc else [doc]
    results = []
    for i, d in enumerate(docs):
        body = {k: v for k, v in d.items() if k not in _SCENARIO_ONLY}
        if args.disclosure:
            given = body.get("disclosure")
            grain = given.get("grain") if isinstance(given, dict) else None
            body["disclosure"] = {"level": args.disclosure, **({"grain": grain} if grain else {})}
        try:
            results.append(client.notify(body))
        except ApiError as exc:
            if len(docs) == 1:
                raise
            # which notice of the file, and what already happened to the others
            label = f"notices[{i}]"
            if isinstance(d, dict) and (d.get("id") or d.get("title")):
                label += f" ({d.get('id') or d.get('title')!s})"
            print(f"deconflict notify: {label} of {args.file} was refused:", file=sys.stderr)
            print(f"  {exc}".replace("\n", "\n  "), file=sys.stderr)
            stored = ", ".join(f"notices[{j}] as {r['id']}" for j, r in enumerate(results))
            print(f"  stored before it: {stored or 'none'}", file=sys.stderr)
            print(f"  not sent: notices[{i + 1}:] ({len(docs) - i - 1})", file=sys.stderr)
            return 1

    def human() -> None:
        for r in results:
            level = (r.get("disclosure") or {}).get("level", "?")
            print(
                f"notified {r['id']} v{r['version']} ({r['kind']}) to {', '.join(r['addressees'])}"
                f", disclosure {level}"
            )
            for c in r["conflicts"]:
                print("  CONFLICT " + _describe_conflict(c))

    return _emit(args, results if len(results) > 1 else results[0], human)


def _acks(client: Client, args: argparse.Namespace) -> int:
    acks = client.acks(role="issuer" if args.issued else "addressee", state=args.state)

    def cancellations() -> set[tuple[str, int]]:
        # The version that cancels a notice is acknowledged like any other: say so.
        out = set()
        for notice_id in {a["notice_id"] for a in acks}:
            n = client.notice(notice_id)
            if n.get("state") == "cancelled":
                out.add((notice_id, int(n["version"])))
        return out

    def human() -> None:
        if not acks:
            print("no acknowledgements")
        cancelling = cancellations()
        for a in acks:
            flag = " OVERDUE" if a["overdue"] else ""
            who = a["addressee"] if args.issued else f"from {a['issuer']}"
            what = " (the cancellation)" if (a["notice_id"], a["version"]) in cancelling else ""
            print(
                f"{a['notice_id']} v{a['version']}{what} {who}: {a['state']}{flag}"
                f" (deadline {a['deadline'] or 'none'})"
            )

    return _emit(args, acks, human)


def _ack(client: Client, args: argparse.Namespace) -> int:
    version = args.version or client.notice(args.notice)["version"]
    ack = client.ack(args.notice, version, args.comment)
    return _emit(
        args,
        ack,
        lambda: print(
            f"acknowledged {ack['notice_id']} v{ack['version']} at {ack['acknowledged_at']}"
        ),
    )


def _conflicts(client: Client, args: argparse.Namespace) -> int:
    state = None if args.state == "all" else args.state
    conflicts = client.conflicts(state=state)

    def human() -> None:
        if not conflicts:
            print("no conflicts")
        for c in conflicts:
            print(_describe_conflict(c))

    return _emit(args, conflicts, human)


def _message(client: Client, args: argparse.Namespace) -> int:
    ref = None
    if args.ref:
        kind, _, ref_id = args.ref.partition(":")
        ref = {"type": kind, "id": ref_id}
    m = client.send_message(
        args.to, args.text, priority=args.priority, subject=args.subject, ref=ref
    )
    return _emit(
        args, m, lambda: print(f"sent {m['id']} ({m['priority']}) to {', '.join(m['to'])}")
    )


CONFIRM_EVERY = 50  # printed events between two confirmations while the stream is busy


def _watch(client: Client, args: argparse.Namespace) -> int:
    """Print the events; confirm to the hub only what was printed (its deliveries)."""
    seen = 0
    shown = confirmed = 0
    try:
        for event in client.stream(after=args.after, idle=True):
            if event is None:  # a heartbeat: the stream is idle
                if shown > confirmed:
                    confirmed = int(client.confirm(shown)["confirmed_up_to"])
                continue
            if args.json:
                print(json.dumps(event), flush=True)
            else:
                line = f"#{event['id']} {event['time']} {event['type']}: {_summary(event)}"
                print(line, flush=True)
            seen += 1
            shown = int(event["id"])
            if args.count is not None and seen >= args.count:
                break
            if seen % CONFIRM_EVERY == 0:
                confirmed = int(client.confirm(shown)["confirmed_up_to"])
    finally:
        if shown > confirmed:
            client.confirm(shown)
    return 0


def _summary(event: Doc) -> str:
    d = event["data"]
    t = event["type"]
    if t.startswith("notice_"):
        head = f"{d.get('issuer')} {d.get('kind')} {d.get('id')}"
        return f"{head} v{d.get('version')} {d.get('title', '')}"
    if t.startswith("conflict_"):
        return _describe_conflict(d)
    if t.startswith("ack_"):
        who = d.get("addressee") or d.get("party")
        return f"{d.get('notice_id')} v{d.get('version')} {who}"
    if t == "message_received":
        return f"[{d['priority']}] from {d['from']}: {d['body']}"
    return json.dumps(d)
