"""Evidence bundles: everything about one notice, checkable offline by anyone.

A bundle holds ledger entries (as the exact canonical bytes that were
hashed), an inclusion proof for each against one signed tree head, and the
hub's public key. ``verify_bundle`` needs nothing else: no server, no
database, no trust in the hub operator. It checks

1. the tree head's signature by the hub key;
2. each entry's bytes are canonical JSON (RFC 8785) and its inclusion proof
   leads to the signed root;
3. each party signature inside an entry against the key that party had
   registered *at that point of the log* (its latest ``party_key_set`` entry
   before it, itself proven in the bundle): a rotated-out key, a forged or a
   replayed signature is named as such;

and then tells what the entries say in plain language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from deconflict.ledger import merkle
from deconflict.ledger.canonical import canonical_json
from deconflict.ledger.keys import SignedTreeHead, b64d, b64e, key_id, verify_statement

__all__ = ["BUNDLE_FORMAT", "SIGNED_TYPES", "EvidenceReport", "build_bundle", "verify_bundle"]

BUNDLE_FORMAT = "deconflict-evidence/1"
# Entries that record what a party asserted: signed by it once it has a key.
SIGNED_TYPES = frozenset({"notice_version", "ack", "relay_step"})


@dataclass
class EvidenceReport:
    problems: list[str] = field(default_factory=list)
    account: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def build_bundle(
    notice_id: str,
    entries: list[tuple[int, bytes, list[bytes]]],
    head: SignedTreeHead,
    hub_public_key: bytes,
) -> dict[str, Any]:
    """Assemble a bundle from (index, entry bytes, inclusion proof) triples."""
    return {
        "format": BUNDLE_FORMAT,
        "notice_id": notice_id,
        "hub_public_key": b64e(hub_public_key),
        "tree_head": head.to_json(),
        "entries": [
            {"index": index, "entry": data.decode("utf-8"), "proof": [b64e(p) for p in proof]}
            for index, data, proof in sorted(entries, key=lambda e: e[0])
        ],
    }


def _parse_entries(
    bundle: dict[str, Any], head: SignedTreeHead, report: EvidenceReport
) -> list[tuple[int, dict[str, Any]]]:
    out: list[tuple[int, dict[str, Any]]] = []
    raw_entries = bundle.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        report.problems.append("the bundle holds no entries")
        return out
    seen: set[int] = set()
    for n, item in enumerate(raw_entries):
        where = f"entries[{n}]"
        if not isinstance(item, dict):
            report.problems.append(f"{where}: not an object")
            continue
        index, text, proof = item.get("index"), item.get("entry"), item.get("proof")
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(text, str):
            report.problems.append(f"{where}: index and entry are required")
            continue
        if index in seen:
            report.problems.append(f"{where}: entry {index} appears twice")
            continue
        seen.add(index)
        data = text.encode("utf-8")
        try:
            proof_bytes = [b64d(p) for p in proof] if isinstance(proof, list) else None
        except ValueError:
            proof_bytes = None
        if proof_bytes is None or not merkle.verify_inclusion(
            merkle.leaf_hash(data), index, head.tree_size, proof_bytes, head.root_hash
        ):
            report.problems.append(
                f"entry {index}: not in the signed log (its inclusion proof fails: "
                "the entry or its position was altered)"
            )
            continue
        try:
            entry = json.loads(text)
            canonical = canonical_json(entry) == data
        except ValueError:
            entry, canonical = None, False
        if not canonical or not isinstance(entry, dict):
            report.problems.append(f"entry {index}: not canonical JSON")
            continue
        out.append((index, entry))
    return out


def _check_signatures(entries: list[tuple[int, dict[str, Any]]], report: EvidenceReport) -> None:
    keys: dict[str, list[tuple[int, str, bytes]]] = {}
    for index, entry in entries:
        if entry.get("type") == "party_key_set":
            try:
                public = b64d(entry["public_key"])
            except (KeyError, ValueError):
                report.problems.append(f"entry {index}: malformed public key")
                continue
            keys.setdefault(entry.get("party", ""), []).append((index, key_id(public), public))
    for index, entry in entries:
        if entry.get("type") not in SIGNED_TYPES:
            continue  # written by the hub itself, vouched for by its signed tree head
        statement, signature = entry.get("statement"), entry.get("signature")
        # issue 15: what a relay recorded (its steps, the answer it reported) the relay signs
        party = (
            entry.get("issuer")
            if entry.get("type") == "notice_version"
            else entry.get("relay") or entry.get("party")
        )
        history = [k for k in keys.get(str(party), []) if k[0] < index]
        if signature is None:
            if history:
                report.problems.append(
                    f"entry {index}: unsigned, although {party} had registered a key "
                    f"(entry {history[-1][0]})"
                )
            continue
        if not history:
            report.problems.append(
                f"entry {index}: signed by {party}, but no key of {party} is proven in the bundle"
            )
            continue
        current_index, current_id, current_key = history[-1]
        claimed = entry.get("key_id")
        if claimed != current_id:
            older = [k for k in history if k[1] == claimed]
            if older:
                report.problems.append(
                    f"entry {index}: signed with a key of {party} that was rotated out at "
                    f"entry {current_index}"
                )
            else:
                report.problems.append(f"entry {index}: signed with an unknown key {claimed!r}")
            continue
        if not isinstance(signature, str) or not verify_statement(
            current_key, statement, signature
        ):
            report.problems.append(
                f"entry {index}: the signature of {party} does not verify (forged or altered)"
            )


# Units (issue 15): entries the receiving party reads, and the count its issuer is told.
_UNIT_TYPES = (
    "unit_routing",
    "unit_delivery",
    "unit_ack",
    "unit_delivery_missed",
    "units_not_reached",
)


def _describe_unit(index: int, at: Any, t: str, e: dict[str, Any]) -> str:
    what = f"version {e.get('version')} of {e.get('notice_id')}"
    if t == "unit_routing":
        units = ", ".join(e.get("units", [])) or "none of its units"
        return f"[{index}] {at}: {what} was routed to {units} of {e.get('party')}"
    if t == "unit_delivery":
        return f"[{index}] {at}: {what} was delivered to unit {e.get('unit')} ({e.get('via')})"
    if t == "unit_ack":
        comment = f' with comment "{e["comment"]}"' if e.get("comment") else ""
        return f"[{index}] {at}: unit {e.get('unit')} acknowledged {what}{comment}"
    if t == "unit_delivery_missed":
        units = ", ".join(e.get("units", []))
        return f"[{index}] {at}: {what} began before unit(s) {units} had received it"
    return (
        f"[{index}] {at}: {what} began when {e.get('units_delivered')} of "
        f"{e.get('units_responsible')} units of {e.get('party')} responsible had received it"
    )


def _describe(index: int, entry: dict[str, Any]) -> str:
    t, at = entry.get("type"), entry.get("at", "?")
    signed = f" (signed with key {entry['key_id'][:12]}...)" if entry.get("signature") else ""
    if t == "notice_version":
        content = entry.get("content", {})
        state = entry.get("state", "active")
        what = "cancelled" if state == "cancelled" else f"notified '{content.get('title', '')}'"
        to = ", ".join(content.get("addressees", [])) or "nobody"
        return (
            f"[{index}] {at}: {entry.get('issuer')} {what}: notice {entry.get('notice_id')} "
            f"version {entry.get('version')} to {to}{signed}"
        )
    if t == "delivery":
        return (
            f"[{index}] {at}: version {entry.get('version')} was delivered to "
            f"{entry.get('party')} ({entry.get('via', 'stream')})"
        )
    # a relay's entries name a notice version, or (a hotline message) the message
    relayed = (
        f"message {entry['message_id']}"
        if entry.get("message_id")
        else f"version {entry.get('version')}"
    )
    if t == "relay_received":
        return (
            f"[{index}] {at}: {relayed} for {entry.get('party')} was "
            f"delivered to its relay {entry.get('relay')}"
        )
    if t == "relay_step":
        how = f" by {entry['means']}" if entry.get("means") else ""
        whom = entry.get("to") or entry.get("by")
        return (
            f"[{index}] {at}: relay {entry.get('relay')} recorded {relayed} "
            f"{entry.get('step')} for {entry.get('party')}{how}"
            f"{f' ({whom})' if whom else ''} at {entry.get('reported_at')}{signed}"
        )
    if t == "ack":
        comment = f' with comment "{entry["comment"]}"' if entry.get("comment") else ""
        return (
            f"[{index}] {at}: {entry.get('party')} acknowledged version {entry.get('version')}"
            f"{comment}{signed}"
        )
    if t == "ack_overdue":
        return (
            f"[{index}] {at}: {entry.get('party')} had not acknowledged version "
            f"{entry.get('version')} by its deadline"
        )
    if t in _UNIT_TYPES:  # issue 15
        return _describe_unit(index, at, t, entry)
    if t == "party_key_set":
        return f"[{index}] {at}: {entry.get('party')} registered key {entry.get('key_id')}"
    if t in ("conflict_opened", "conflict_updated", "conflict_resolved"):
        view = entry.get("view")
        if isinstance(view, dict):  # one side's entry: what that side was told
            mine, other = view.get("mine") or {}, view.get("other") or {}
            theirs = (
                f"notice {other['notice']} v{other.get('version')}"
                if other.get("notice")
                else f"a {other.get('kind')} notice ({other.get('disclosure')} disclosure)"
            )
            return (
                f"[{index}] {at}: conflict {entry.get('conflict_id')} {t[9:]}, as told to "
                f"{entry.get('party')}: its notice {mine.get('notice')} v{mine.get('version')} "
                f"against {theirs} of {other.get('issuer')}"
            )
        notices = " and ".join(f"{n} v{v}" for n, v in entry.get("notices", []))
        return f"[{index}] {at}: conflict {entry.get('conflict_id')} {t[9:]} between {notices}"
    if t == "message":
        return (
            f"[{index}] {at}: {entry.get('from')} sent message {entry.get('message_id')} "
            f"({entry.get('priority')}) to {', '.join(entry.get('to', []))}"
        )
    if t == "message_receipt":
        return (
            f"[{index}] {at}: message {entry.get('message_id')} {entry.get('receipt')} "
            f"by {entry.get('party')}"
            + (f", as recorded by its relay {entry['relay']}" if entry.get("relay") else "")
        )
    if t == "party_registered":
        return f"[{index}] {at}: party {entry.get('party')} ({entry.get('name')}) was registered"
    if t == "notice_withdrawn":
        return (
            f"[{index}] {at}: version {entry.get('version')} of notice {entry.get('notice_id')} "
            f"is no longer addressed to {entry.get('party')}"
        )
    if t == "notice_expired":
        return (
            f"[{index}] {at}: notice {entry.get('notice_id')} of {entry.get('issuer')} expired "
            f"(version {entry.get('version')}: every volume had ended)"
        )
    if t in ("alert_raised", "alert_cleared"):
        why = f" ({entry['reason']})" if entry.get("reason") else ""
        return (
            f"[{index}] {at}: {entry.get('kind')} alert {entry.get('alert_id')} {t[6:]} for "
            f"{', '.join(entry.get('parties', []))}{why}"
        )
    if t == "hub_started_despite_mismatch":
        return (
            f"[{index}] {at}: the hub was started although its tables disagreed with this log "
            f"in {entry.get('differences')} place(s)"
        )
    if t == "alert_acknowledged":
        return f"[{index}] {at}: {entry.get('party')} acknowledged alert {entry.get('alert_id')}"
    return f"[{index}] {at}: {t}"


def verify_bundle(bundle: Any) -> EvidenceReport:
    """Check a bundle offline; the report lists every problem and, if sound, the account."""
    report = EvidenceReport()
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        report.problems.append(f"not a {BUNDLE_FORMAT} bundle")
        return report
    try:
        hub_key = b64d(bundle.get("hub_public_key", ""))
        head = SignedTreeHead.from_json(bundle.get("tree_head"))
    except ValueError as exc:
        report.problems.append(str(exc))
        return report
    if not head.verify(hub_key):
        report.problems.append("the tree head's signature does not verify with the hub key")
        return report
    entries = _parse_entries(bundle, head, report)
    _check_signatures(entries, report)
    report.account.append(
        f"The hub's log held {head.tree_size} entries at {head.timestamp} "
        f"(root {b64e(head.root_hash)[:16]}..., signed by hub key {head.key_id[:12]}...)."
    )
    report.account.extend(_describe(i, e) for i, e in sorted(entries, key=lambda x: x[0]))
    return report
