"""`deconflict ledger verify`: audit the hub's log (the checks live in deconflict.audit)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deconflict.audit import default_state_path, verify_log
from deconflict.cli.options import HUB_ERRORS, add_server_options, report_hub_error
from deconflict.client import Client

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("ledger", help="the hub's tamper-evident log")
    sub = p.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="check the log's head, entries and history")
    add_server_options(v)
    v.add_argument(
        "--state",
        type=Path,
        help="where heads of earlier runs are kept (default ~/.deconflict/heads-<host>.json)",
    )
    v.add_argument("--proofs", type=int, default=20, help="inclusion proofs to check")
    v.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    if not args.token:
        print("deconflict: no token: pass --token or set DECONFLICT_TOKEN", file=sys.stderr)
        return 2
    state = args.state or default_state_path(args.server)
    try:
        with Client(args.server, args.token) as client:
            report = verify_log(client, state, max_proofs=args.proofs)
    except HUB_ERRORS as exc:
        return report_hub_error(exc, args.server)
    except ValueError as exc:
        print(f"deconflict: {exc}", file=sys.stderr)
        return 1
    for note in report.notes:
        print(note)
    if report.ok:
        print("OK: the log is intact and only grew")
        return 0
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"FAILED: {len(report.problems)} problem(s); state kept in {state}")
    return 1
