"""`deconflict ledger verify`: audit the hub's log (the checks live in deconflict.audit)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from deconflict.audit import WitnessOptions, default_state_path, verify_log
from deconflict.cli.options import HUB_ERRORS, add_server_options, report_hub_error
from deconflict.client import Client
from deconflict.ledger.fingerprint import normalise
from deconflict.ledger.keys import b64d, load_private_key

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ledger", help="the hub's tamper-evident log")
    sub = p.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="check the log's head, entries and history; cosign it")
    add_server_options(v)
    v.add_argument(
        "--state",
        type=Path,
        help="where heads of earlier runs are kept (default ~/.deconflict/heads-<host>.json)",
    )
    v.add_argument("--proofs", type=int, default=20, help="inclusion proofs to check")
    v.add_argument(
        "--key",
        type=Path,
        help="your Ed25519 key file (the one you registered): cosign the checkpoint verified",
    )
    v.add_argument(
        "--hub-key",
        metavar="FINGERPRINT",
        help="the hub key's fingerprint as you were told it (checked, then pinned, first run)",
    )
    v.add_argument(
        "--checkpoint",
        metavar="FINGERPRINT_OR_FILE",
        help="a checkpoint heard from the other side: SIZE/FINGERPRINT or a signed-note file",
    )
    v.add_argument(
        "--cosigner-key",
        metavar="PARTY=FINGERPRINT",
        action="append",
        default=[],
        help="a party's key fingerprint as heard from its liaison: its cosignatures count only "
        "under a key pinned for it (repeat for each party; else the first key seen is pinned)",
    )
    v.add_argument(
        "--require-cosigners",
        metavar="P1,P2",
        default="",
        help="parties that must have cosigned a checkpoint at or beyond your previous head",
    )
    v.add_argument(
        "--max-lag",
        metavar="SECONDS",
        type=float,
        help="(with --require-cosigners) ... within this many seconds",
    )
    v.set_defaults(handler=_verify)
    c = sub.add_parser(
        "check",
        help="check one served notice, acknowledgement, message, conflict or alert against its "
        "ledger entry",
    )
    add_server_options(c)
    c.add_argument(
        "kind", choices=["notice", "message", "ack", "conflict", "alert"], help="what to check"
    )
    c.add_argument("id", help="the object's id (for an ack: the notice id)")
    c.add_argument(
        "--state",
        type=Path,
        help="the state file of `ledger verify`, whose pinned hub key is used (default as there)",
    )
    c.set_defaults(handler=_check)


def _verify(args: argparse.Namespace) -> int:
    if not args.token:
        print("deconflict: no token: pass --token or set DECONFLICT_TOKEN", file=sys.stderr)
        return 2
    state = args.state or default_state_path(args.server)
    try:
        key = load_private_key(args.key) if args.key else None
    except (OSError, ValueError) as exc:
        print(f"deconflict: cannot load key {args.key}: {exc}", file=sys.stderr)
        return 2
    heard: dict[str, list[str]] = {}
    for item in args.cosigner_key:
        party, sep, fingerprint = item.partition("=")
        try:
            if not (sep and party.strip()):
                raise ValueError("expected PARTY=FINGERPRINT")
            heard.setdefault(party.strip(), []).append(normalise(fingerprint))
        except ValueError as exc:
            print(f"deconflict: --cosigner-key {item!r}: {exc}", file=sys.stderr)
            return 2
    options = WitnessOptions(
        key=key,
        require=[p.strip() for p in args.require_cosigners.split(",") if p.strip()],
        max_lag_s=args.max_lag,
        checkpoint=args.checkpoint,
        cosigner_keys=heard,
    )
    try:
        with Client(args.server, args.token) as client:
            report = verify_log(
                client,
                state,
                max_proofs=args.proofs,
                hub_key_fingerprint=args.hub_key,
                witness=options,
            )
    except HUB_ERRORS as exc:
        return report_hub_error(exc, args.server)
    except ValueError as exc:
        print(f"deconflict: {exc}", file=sys.stderr)
        return 1
    for note in report.notes:
        print(note)
    for warning in report.warnings:
        print(f"WARNING: {warning}")
    if report.ok:
        print("OK: the log is intact and only grew")
        return 0
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"FAILED: {len(report.problems)} problem(s); state kept in {state}")
    return 1


def _check(args: argparse.Namespace) -> int:
    """The served object, its entry and that entry's inclusion proof in a signed head."""
    if not args.token:
        print("deconflict: no token: pass --token or set DECONFLICT_TOKEN", file=sys.stderr)
        return 2
    state = args.state or default_state_path(args.server)
    try:
        with Client(args.server, args.token) as client:
            pinned = json.loads(state.read_text()).get("hub_key") if state.exists() else None
            if pinned is None:
                print(
                    f"deconflict: no hub key pinned in {state}: run `deconflict ledger verify` "
                    "first (an object checked against a key it was just given proves nothing)",
                    file=sys.stderr,
                )
                return 2
            obj: dict[str, Any] | None
            if args.kind == "notice":
                obj = client.notice(args.id)
            elif args.kind == "message":
                obj = next((m for m in client.messages() if m["id"] == args.id), None)
            elif args.kind == "conflict":
                obj = client.conflict(args.id)
            elif args.kind == "alert":
                obj = client.alert(args.id)
            else:
                notice = client.notice(args.id)
                mine = [a for a in notice.get("acks") or [] if a["addressee"] == client.party]
                obj = mine[0] if mine else (notice.get("acks") or [None])[0]
            if obj is None:
                print(f"deconflict: no {args.kind} {args.id} is served to you", file=sys.stderr)
                return 1
            problems = client.check_served(obj, b64d(pinned))
    except HUB_ERRORS as exc:
        return report_hub_error(exc, args.server)
    except ValueError as exc:
        print(f"deconflict: {exc}", file=sys.stderr)
        return 1
    if not problems:
        print(
            f"OK: {args.kind} {args.id} is what ledger entry {obj['ledger_index']} says, and "
            "that entry is in the hub's signed log"
        )
        return 0
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1
