"""Relayed parties and printed notices (issue 15) on the command line.

deconflict party add ID NAME [--reachable-via RELAY]     (the hub operator's token)
deconflict relay owed                                     what you owe as a relay
deconflict relay step NOTICE forwarded --means phone --to "duty officer"
deconflict relay step NOTICE acknowledged --means phone --by "deputy representative"
deconflict relay chain NOTICE                             the chain (issuer or relay)
deconflict relay step m-... forwarded --means fax --to "duty officer"   a hotline message
deconflict relay chain m-...                              a message's chain (sender or relay)
deconflict notice print NOTICE [--pdf] [--lang ru] [-o FILE]  the printable notice
deconflict notice verify-paper CODE [--paper FILE]        no token needed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from deconflict.cli.options import HUB_ERRORS, add_server_options, report_hub_error
from deconflict.client import Client
from deconflict.ledger.keys import load_private_key

__all__ = ["register"]

Doc = dict[str, Any]
_MEANS = ("phone", "fax", "diplomatic_note", "in_person", "email", "radio", "courier", "other")


def _common(p: argparse.ArgumentParser) -> None:
    add_server_options(p)
    p.add_argument("--json", action="store_true", help="print the hub's JSON answer")
    p.add_argument(
        "--key",
        type=Path,
        default=os.environ.get("DECONFLICT_KEY") or None,
        help="your Ed25519 key file: sign the steps you record (default: $DECONFLICT_KEY)",
    )


def register(subparsers: Any) -> None:
    party = subparsers.add_parser("party", help="register parties (the hub operator)")
    sub = party.add_subparsers(dest="party_command", required=True)
    p = sub.add_parser("add", help="register a party; prints its token (none if relayed)")
    p.add_argument("id")
    p.add_argument("name")
    p.add_argument(
        "--reachable-via",
        metavar="RELAY",
        help="a party that never connects, reached only through this relay party",
    )
    _common(p)
    p.set_defaults(handler=_run(_party_add))

    relay = subparsers.add_parser("relay", help="relay notices to parties that never connect")
    sub = relay.add_subparsers(dest="relay_command", required=True)
    p = sub.add_parser("owed", help="what you owe as a relay, soonest deadline first")
    _common(p)
    p.set_defaults(handler=_run(_owed))
    p = sub.add_parser("step", help="record a step: forwarded, acknowledged, refused, no_answer")
    p.add_argument("notice", help="the notice (n-...) or hotline message (m-...) you relay")
    p.add_argument("step", choices=["forwarded", "acknowledged", "refused", "no_answer"])
    p.add_argument(
        "--version", type=int, help="a notice's version (default: current); not for a message"
    )
    p.add_argument("--recipient", help="the relayed party (needed if you relay it to several)")
    p.add_argument("--means", choices=_MEANS, help="how (required for forwarded)")
    p.add_argument("--to", help="to whom you forwarded it (required for forwarded)")
    p.add_argument("--by", help="who acknowledged it (required for acknowledged)")
    p.add_argument("--at", help="when (RFC 3339; default now)")
    p.add_argument("--comment")
    _common(p)
    p.set_defaults(handler=_run(_step))
    p = sub.add_parser(
        "chain", help="a relayed notice's or message's chain: delivered, forwarded, answered"
    )
    p.add_argument("notice", help="the notice (n-...) or hotline message (m-...)")
    _common(p)
    p.set_defaults(handler=_run(_chain))

    notice = subparsers.add_parser("notice", help="printed notices")
    sub = notice.add_subparsers(dest="notice_command", required=True)
    p = sub.add_parser("print", help="the printable notice (text, or --pdf) with its code")
    p.add_argument("notice")
    p.add_argument("--pdf", action="store_true", help="a PDF instead of plain text")
    p.add_argument("-o", "--output", type=Path, help="write it here (default: stdout, text)")
    p.add_argument(
        "--lang", help="the paper's language: en (default), ru or ar; the code is the same"
    )
    _common(p)
    p.set_defaults(handler=_run(_print))
    p = sub.add_parser(
        "verify-paper", help="check a printed notice's code against the hub's ledger (no token)"
    )
    p.add_argument("code", help="the verification code on the paper")
    p.add_argument("--paper", type=Path, help="the paper's text: check it is what was printed")
    _common(p)
    p.set_defaults(handler=_run(_verify_paper, token=False))


def _run(fn: Any, *, token: bool = True) -> Any:
    def handler(args: argparse.Namespace) -> int:
        if token and not args.token:
            print("deconflict: no token: pass --token or set DECONFLICT_TOKEN", file=sys.stderr)
            return 2
        try:
            key = load_private_key(Path(args.key)) if getattr(args, "key", None) else None
        except (OSError, ValueError) as exc:
            print(f"deconflict: cannot load key {args.key}: {exc}", file=sys.stderr)
            return 2
        try:
            with Client(args.server, args.token if token else None, key=key) as client:
                code: int = fn(client, args)
                return code
        except HUB_ERRORS as exc:
            return report_hub_error(exc, args.server)

    return handler


def _out(args: argparse.Namespace, doc: Any, text: str) -> int:
    print(json.dumps(doc, indent=2) if args.json else text)
    return 0


def _party_add(client: Client, args: argparse.Namespace) -> int:
    made = client.register_party(args.id, args.name, args.reachable_via)
    if made.get("reachable_via"):
        text = (
            f"registered {made['id']}, reachable only through {made['reachable_via']} "
            "(it never connects: no token)"
        )
    else:
        text = f"registered {made['id']}; its token (shown once): {made['token']}"
    return _out(args, made, text)


def _is_message(ref: str) -> bool:
    """Message ids start with m-, notice ids with n- (`deconflict.service.ids`)."""
    return ref.startswith("m-")


def _owed_line(o: Doc) -> str:
    if o.get("what") == "message":
        return (
            f"{o['message_id']} (message, {o.get('priority')}) to {o['recipient']}: {o['owes']}"
            f" (forward by {o['forward_deadline']}{', OVERDUE' if o['forward_overdue'] else ''})"
            f" {o.get('title', '')}"
        )
    return (
        f"{o['notice_id']} v{o['version']} to {o['recipient']}: {o['owes']}"
        f" (forward by {o['forward_deadline']}"
        f"{', OVERDUE' if o['forward_overdue'] else ''}; answer by {o.get('ack_deadline')}"
        f"{', OVERDUE' if o.get('ack_overdue') else ''}) {o.get('title', '')}"
    )


def _owed(client: Client, args: argparse.Namespace) -> int:
    owed = client.relay_owed()
    return _out(args, owed, "\n".join(_owed_line(o) for o in owed) or "nothing owed")


def _step(client: Client, args: argparse.Namespace) -> int:
    record = {
        "means": args.means,
        "to": args.to,
        "by": args.by,
        "at": args.at,
        "comment": args.comment,
    }
    if _is_message(args.notice):
        if args.version is not None:
            print("deconflict: a hotline message has no version", file=sys.stderr)
            return 2
        done = client.relay_message_step(args.notice, args.step, args.recipient, **record)
        return _out(args, done, f"recorded: {args.step} ({done['recipient']}, {args.notice})")
    version = args.version or int(client.notice(args.notice)["version"])
    done = client.relay_step(args.notice, version, args.step, args.recipient, **record)
    return _out(args, done, f"recorded: {args.step} ({done['recipient']}, version {version})")


def _chain(client: Client, args: argparse.Namespace) -> int:
    message = _is_message(args.notice)
    chain = client.message_relay_chain(args.notice) if message else client.relay_chain(args.notice)
    lines = []
    for leg in chain["legs"]:
        what = "message" if message else f"version {leg['version']}"
        lines.append(f"{what} to {leg['recipient']} via {leg['relay']}:")
        for s in leg["steps"]:
            how = f" by {s['means']}" if s["means"] else ""
            whom = f" ({s['counterpart']})" if s["counterpart"] else ""
            lines.append(f"  {s['at']}  {s['step']}{how}{whom}  [ledger {s['ledger_index']}]")
    return _out(args, chain, "\n".join(lines) or "no relayed addressee")


def _print(client: Client, args: argparse.Namespace) -> int:
    content, code = client.printable(args.notice, "pdf" if args.pdf else "text", args.lang)
    if args.output is not None:
        args.output.write_bytes(content)
        print(f"wrote {args.output}; verification code {code}", file=sys.stderr)
    elif args.pdf:
        sys.stdout.buffer.write(content)
    else:
        sys.stdout.write(content.decode("utf-8"))
    return 0


def _verify_paper(client: Client, args: argparse.Namespace) -> int:
    text = args.paper.read_text(encoding="utf-8") if args.paper else None
    found = client.verify_paper(args.code, text)
    if found is None:
        print("NO MATCH: no notice printed by this hub has this code", file=sys.stderr)
        return 1
    if text is not None and not found.get("text_matches"):
        print(f"{found['says']}, but the paper's text is NOT what was printed", file=sys.stderr)
        return 1
    extra = "; the paper's text is what was printed" if text is not None else ""
    return _out(args, found, f"MATCH: {found['says']}{extra}")
