"""Auditing the hub's log from a party's side, without trusting the hub.

What one run checks, as the party whose token it holds:

1. the hub's public key is the one pinned on the first run (kept in the state file);
2. the current tree head is signed by that key;
3. every entry up to the head: the ones that concern the party arrive in full, are canonical
   JSON and hash to the leaf hash the hub claims; all leaf hashes together hash to the
   signed root (so no entry was changed, dropped, inserted or moved); a sample of inclusion
   proofs from the hub verifies;
4. the head is consistent with every head saved on earlier runs: the log only grew;
   what the API serves the party (fetched just before the head) is what those entries say,
   object by object and field by field (`deconflict.ledger.served`);
5. the witnessing (`deconflict.audit_witness`): the hub's C2SP checkpoint of that head, every
   cosignature the hub shows (a cosigned head the log contradicts is a fork), the parties
   that must have cosigned recently (``--require-cosigners``), a checkpoint heard from the
   other side (``--checkpoint``); then the party cosigns what it verified.

On the first run the hub key is pinned, and checked against ``--hub-key FINGERPRINT`` (read
over the phone by someone who knows the hub) when given.

Any failure is described in plain words (the command exits 1). A head that contradicts an
earlier one is kept in the state file as `conflicting_heads`: two heads signed by the hub that
cannot both be true are the proof of a fork or a rewrite.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from deconflict.audit_view import fetch_views
from deconflict.audit_witness import WitnessOptions, check_witnesses
from deconflict.client import ApiError, Client
from deconflict.ledger import merkle
from deconflict.ledger.canonical import canonical_json
from deconflict.ledger.fingerprint import key_fingerprint, normalise
from deconflict.ledger.keys import SignedTreeHead, b64d, b64e, key_id
from deconflict.ledger.served import compare_served

__all__ = ["AuditReport", "WitnessOptions", "default_state_path", "verify_log"]

PAGE = 1000


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: dict[int, dict[str, Any]] = field(default_factory=dict)  # those seen in full

    @property
    def ok(self) -> bool:
        return not self.problems


def default_state_path(server: str) -> Path:
    host = urlsplit(server).netloc or server
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in host)
    return Path.home() / ".deconflict" / f"heads-{safe}.json"


def _load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a state file")
    return doc


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)


def _check_entries(
    client: Client, head: SignedTreeHead, report: AuditReport, max_proofs: int
) -> list[bytes] | None:
    """Fetch every entry up to the head; the leaf hashes, or None if they cannot be had."""
    leaves: list[bytes] = []
    full: list[int] = []
    start = 0
    while start < head.tree_size:
        page = client.ledger_entries(start, min(head.tree_size, start + PAGE))
        items = page.get("entries") or []
        if not items:
            break
        for item in items:
            index = item.get("index")
            if index != len(leaves):
                report.problems.append(
                    f"entry {len(leaves)} is missing from the log the hub serves (it skipped to "
                    f"{index}): an entry was deleted"
                )
                return None
            try:
                claimed = b64d(item["leaf_hash"])
            except (KeyError, ValueError):
                report.problems.append(f"entry {index}: the hub sent no valid leaf hash")
                return None
            text = item.get("entry")
            if text is not None:
                data = text.encode("utf-8")
                if merkle.leaf_hash(data) != claimed:
                    report.problems.append(
                        f"entry {index}: its content does not match its leaf hash: the entry "
                        "was altered after it was logged"
                    )
                try:
                    doc = json.loads(text)
                    canonical = canonical_json(doc) == data
                except ValueError:
                    canonical = False
                if not canonical:
                    report.problems.append(f"entry {index}: not canonical JSON")
                elif isinstance(doc, dict):
                    report.entries[int(index)] = doc
                full.append(index)
            leaves.append(claimed)
            if len(leaves) == head.tree_size:
                break
        start = len(leaves)
    if len(leaves) != head.tree_size:
        report.problems.append(
            f"the hub signed a log of {head.tree_size} entries but serves only {len(leaves)}"
        )
        return None
    if merkle.root(leaves) != head.root_hash:
        report.problems.append(
            "the entries the hub serves do not hash to the root it signed: entries were "
            "changed, reordered, dropped or inserted behind the log"
        )
    # The hub's own proofs must agree too (a sample: the newest entries that concern us).
    for index in full[-max_proofs:] if max_proofs > 0 else []:
        proof = client.inclusion_proof(index, head.tree_size)
        path = [b64d(p) for p in proof.get("proof", [])]
        if not merkle.verify_inclusion(leaves[index], index, head.tree_size, path, head.root_hash):
            report.problems.append(f"entry {index}: the hub's inclusion proof does not verify")
    report.notes.append(
        f"{len(leaves)} entries checked ({len(full)} in full, the others by their leaf hash)"
    )
    return leaves


def _check_history(
    client: Client,
    head: SignedTreeHead,
    leaves: list[bytes] | None,
    saved: list[SignedTreeHead],
    report: AuditReport,
) -> list[SignedTreeHead]:
    """Compare with every head saved earlier; returns those the new head contradicts."""
    contradicted = []
    for old in sorted(saved, key=lambda h: h.tree_size):
        when = f"the head of {old.timestamp} ({old.tree_size} entries)"
        if old.tree_size > head.tree_size:
            report.problems.append(
                f"the log shrank: {when} is larger than the current one ({head.tree_size} "
                "entries): entries were dropped (a rollback or a fork)"
            )
            contradicted.append(old)
            continue
        if old.tree_size == 0:
            continue
        if old.tree_size == head.tree_size:
            good = old.root_hash == head.root_hash
        else:
            try:
                proof = client.consistency_proof(old.tree_size, head.tree_size)
                path = [b64d(p) for p in proof.get("proof", [])]
            except (ApiError, ValueError):
                path = []
            good = merkle.verify_consistency(
                old.tree_size, head.tree_size, old.root_hash, head.root_hash, path
            )
        if leaves is not None and good:
            good = merkle.root(leaves[: old.tree_size]) == old.root_hash
        if not good:
            report.problems.append(
                f"fork or rewrite: the current log does not extend {when}; entries among the "
                f"first {old.tree_size} were changed, reordered or replaced since"
            )
            contradicted.append(old)
    return contradicted


def verify_log(
    client: Client,
    state_path: Path,
    *,
    max_proofs: int = 20,
    save: bool = True,
    hub_key_fingerprint: str | None = None,
    witness: WitnessOptions | None = None,
) -> AuditReport:
    report = AuditReport()
    options = witness or WitnessOptions()
    state = _load_state(state_path)
    key_doc = client.ledger_key()
    hub_key = b64d(key_doc["public_key"])
    fingerprint = key_fingerprint(hub_key)
    if hub_key_fingerprint is not None and normalise(hub_key_fingerprint) != fingerprint:
        report.problems.append(
            f"the hub's key has the fingerprint {fingerprint}, not the "
            f"{normalise(hub_key_fingerprint)} you were given: this is not the hub (or the "
            "log) the other side knows; nothing was pinned"
        )
        return report
    pinned = state.get("hub_key")
    if pinned is None:
        state["hub_key"] = b64e(hub_key)
        checked = " (as you were told)" if hub_key_fingerprint is not None else ""
        report.notes.append(
            f"pinned the hub key {key_id(hub_key)}, fingerprint {fingerprint}{checked} (first run)"
        )
    elif b64d(pinned) != hub_key:
        report.problems.append(
            f"the hub's key changed: pinned {key_id(b64d(pinned))}, now {key_id(hub_key)}; "
            "heads signed by a new key prove nothing about the old log"
        )
        return report
    views = fetch_views(client)  # before the head: what was served is in the log it signs
    head = SignedTreeHead.from_json(client.ledger_head())
    if not head.verify(hub_key):
        report.problems.append("the tree head's signature does not verify with the hub key")
        return report
    saved = [SignedTreeHead.from_json(h) for h in state.get("heads", [])]
    leaves = _check_entries(client, head, report, max_proofs)
    contradicted = _check_history(client, head, leaves, saved, report)
    if leaves is not None:
        compared = compare_served(views, report.entries, client.party, report.problems)
        report.warnings.extend(views.warnings)
        report.notes.append(f"{compared} objects the hub serves you compared with the log")
    previous = max((h.tree_size for h in saved), default=0)
    pinned = state.get("cosigner_keys", {})
    options.pinned = {str(p): [str(f) for f in fps] for p, fps in pinned.items()}
    check_witnesses(
        client, hub_key, head, leaves, report.entries, previous, not saved, options, report
    )
    if options.forks:
        state.setdefault("forks", []).extend(options.forks)
    if report.ok:
        report.notes.append(
            f"the log holds {head.tree_size} entries (root {b64e(head.root_hash)[:16]}...), "
            f"consistent with {len(saved)} head(s) saved earlier"
        )
        state.setdefault("heads", []).append(head.to_json())
        state["cosigner_keys"] = {p: fps for p, fps in options.pinned.items() if fps}
    else:
        conflicting = state.setdefault("conflicting_heads", [])
        conflicting.append(
            {"head": head.to_json(), "contradicts": [h.to_json() for h in contradicted]}
        )
    if save:
        state["server"] = client.server
        _save_state(state_path, state)
    return report
