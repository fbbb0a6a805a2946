"""`deconflict evidence NOTICE_ID -o FILE` and `deconflict evidence verify FILE` (offline).

An export can carry consistency proofs from earlier signed heads (those `ledger verify`
saved, ``--state``, or an earlier bundle's, ``--since``) to the bundle's head, so that an
offline check shows the later log extends the earlier one. ``verify --against EARLIER`` also
requires every entry the earlier bundle proved to be in the later one, unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from deconflict.cli.options import HUB_ERRORS, add_server_options, report_hub_error
from deconflict.client import Client
from deconflict.ledger import merkle
from deconflict.ledger.evidence import verify_bundle
from deconflict.ledger.keys import SignedTreeHead, b64d, b64e

__all__ = ["compare_bundles", "register", "verify_file"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evidence",
        help="export an evidence bundle for a notice, or verify one offline (evidence verify FILE)",
    )
    p.add_argument("target", help="a notice id to export, or `verify`")
    p.add_argument("file", nargs="?", type=Path, help="(verify) the bundle to check")
    p.add_argument("-o", "--output", type=Path, help="(export) where to write the bundle")
    p.add_argument("--state", type=Path, help="(export) add proofs from these saved heads")
    p.add_argument("--since", type=Path, help="(export) add a proof from this earlier bundle")
    p.add_argument("--against", type=Path, help="(verify) an earlier bundle it must extend")
    p.add_argument("--hub-key", help="(verify) the hub key (base64url) you expect")
    add_server_options(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.target == "verify":
        if args.file is None:
            print("deconflict: evidence verify FILE", file=sys.stderr)
            return 2
        return verify_file(args.file, against=args.against, hub_key=args.hub_key)
    return _export(args)


def _heads_from(path: Path | None, *, bundle: bool) -> list[dict[str, Any]]:
    if path is None:
        return []
    doc = json.loads(path.read_text())
    if bundle:
        return [doc["tree_head"]]
    return list(doc.get("heads", []))


def _export(args: argparse.Namespace) -> int:
    if not args.token:
        print("deconflict: no token: pass --token or set DECONFLICT_TOKEN", file=sys.stderr)
        return 2
    try:
        with Client(args.server, args.token) as client:
            bundle = client.evidence(args.target)
            size = bundle["tree_head"]["tree_size"]
            proofs = []
            beyond = []
            heads = _heads_from(args.state, bundle=False) + _heads_from(args.since, bundle=True)
            for head in heads:
                first = int(head["tree_size"])
                if first > size:
                    beyond.append(head)
                elif first > 0:
                    proof = client.consistency_proof(first, size)
                    proofs.append({"tree_head": head, "proof": proof["proof"]})
            if proofs:
                bundle["consistency"] = proofs
            if beyond:
                # Never dropped: a saved head larger than the log is itself the proof of a
                # cut-back (or a fork); the bundle carries it and `verify` fails on it.
                bundle["heads_beyond"] = beyond
    except HUB_ERRORS as exc:
        return report_hub_error(exc, args.server)
    text = json.dumps(bundle, indent=2) + "\n"
    if args.output:
        args.output.write_text(text)
        print(f"{len(bundle['entries'])} entries about {args.target} written to {args.output}")
    else:
        sys.stdout.write(text)
    for head in beyond:
        print(
            f"PROBLEM: you kept a head of {head['tree_size']} entries ({head['timestamp']}), "
            f"but the hub's log now holds only {size}: the log was cut back or forked; the "
            "bundle carries that head as proof",
            file=sys.stderr,
        )
    return 1 if beyond else 0


def _consistency(bundle: dict[str, Any], problems: list[str]) -> None:
    """Check the consistency proofs a bundle carries from earlier heads to its own."""
    head = SignedTreeHead.from_json(bundle["tree_head"])
    hub_key = b64d(bundle["hub_public_key"])
    for n, item in enumerate(bundle.get("heads_beyond") or []):
        try:
            old = SignedTreeHead.from_json(item)
        except ValueError:
            problems.append(f"heads_beyond[{n}]: malformed")
            continue
        if old.verify(hub_key) and old.tree_size > head.tree_size:
            problems.append(
                f"the log was cut back: the hub signed a head of {old.tree_size} entries at "
                f"{old.timestamp}, and this bundle's log holds only {head.tree_size}"
            )
    for n, item in enumerate(bundle.get("consistency") or []):
        try:
            old = SignedTreeHead.from_json(item.get("tree_head"))
            proof = [b64d(p) for p in item.get("proof", [])]
        except (ValueError, AttributeError):
            problems.append(f"consistency[{n}]: malformed")
            continue
        if not old.verify(hub_key):
            problems.append(f"consistency[{n}]: the earlier head is not signed by the hub key")
        elif not merkle.verify_consistency(
            old.tree_size, head.tree_size, old.root_hash, head.root_hash, proof
        ):
            problems.append(
                f"fork or rewrite: the log of this bundle does not extend the hub's earlier "
                f"head of {old.timestamp} ({old.tree_size} entries)"
            )


def compare_bundles(earlier: dict[str, Any], later: dict[str, Any]) -> list[str]:
    """What the later bundle contradicts in the earlier one (both about the same notice)."""
    problems: list[str] = []
    if earlier.get("hub_public_key") != later.get("hub_public_key"):
        problems.append("the two bundles are signed by different hub keys")
    if not verify_bundle(earlier).ok:
        problems.append("the earlier bundle does not verify on its own: it proves nothing")
        return problems
    before = {e["index"]: e["entry"] for e in earlier.get("entries", [])}
    after = {e["index"]: e["entry"] for e in later.get("entries", [])}
    size = int(later["tree_head"]["tree_size"])
    for index, text in sorted(before.items()):
        if index >= size:
            problems.append(
                f"entry {index}, proven in the earlier bundle, lies beyond the later log's end "
                f"({size} entries): the log was cut back"
            )
        elif index not in after:
            what = json.loads(text).get("type", "entry")
            problems.append(
                f"entry {index} ({what}), proven in the earlier bundle, is missing from the "
                "later one: it was deleted or hidden"
            )
        elif after[index] != text:
            problems.append(f"entry {index} differs between the two bundles: history was rewritten")
    old_head = earlier["tree_head"]
    old_size = int(old_head["tree_size"])
    new_root = later["tree_head"].get("root_hash")
    covered = any(
        c.get("tree_head", {}).get("root_hash") == old_head.get("root_hash")
        and c.get("tree_head", {}).get("tree_size") == old_size
        for c in later.get("consistency") or []
    )
    if old_size > size:
        problems.append(
            f"the later log is shorter: the earlier bundle's head holds {old_size} entries, "
            f"the later one {size}: the log was cut back (or the two come from a fork)"
        )
    elif old_size == size and old_head.get("root_hash") != new_root:
        problems.append(f"fork or rewrite: both heads hold {size} entries but their roots differ")
    elif old_size < size and not covered:
        problems.append(
            "the later bundle carries no consistency proof from the earlier bundle's head "
            "(export it with --since EARLIER)"
        )
    return problems


def verify_file(path: Path, *, against: Path | None = None, hub_key: str | None = None) -> int:
    try:
        bundle = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"deconflict: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    report = verify_bundle(bundle)
    problems = list(report.problems)
    if report.ok:
        if hub_key is not None and bundle.get("hub_public_key") != b64e(b64d(hub_key)):
            problems.append("the bundle is signed by another hub key than the one you expect")
        try:
            _consistency(bundle, problems)
            if against is not None:
                problems += compare_bundles(json.loads(against.read_text()), bundle)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"cannot compare: {exc}")
    for line in report.account:
        print(line)
    if problems:
        for p in problems:
            print(f"PROBLEM: {p}")
        print(f"FAILED: {len(problems)} problem(s) in {path}")
        return 1
    print(f"OK: every entry of {path} is proven in the hub's signed log")
    return 0
