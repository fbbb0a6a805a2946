"""The witnessing half of `ledger verify`: cosignatures, fingerprints, the split view.

Given the head a party has just verified (and every leaf hash up to it), this

1. fetches the hub's C2SP checkpoint of that head and checks it is the same head;
2. checks every cosignature the hub shows against the cosigner's registered keys (from the
   public `party_key_set` entries of the log just verified) and against the verified log:
   a cosigned checkpoint the log does not extend is a fork, and both signed heads are kept.
   The hub's operator can register a key in any party's name (it holds every token), so a
   cosignature counts only under a key this verifier has pinned for that party: heard out of
   band (``--cosigner-key P=FINGERPRINT``) or, failing that, the first one seen (kept in the
   state file); a cosignature under any other key proves nothing against the operator;
3. with ``require``: fails unless each of those parties cosigned, within ``max_lag_s``, a
   checkpoint at or beyond the party's previous head (a split view starves someone);
4. checks a checkpoint heard from the other side (a file or a ``SIZE/FINGERPRINT``);
5. cosigns the verified checkpoint with the party's key and sends it to the hub.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.client import ApiError, Client
from deconflict.ledger import merkle
from deconflict.ledger.fingerprint import (
    checkpoint_fingerprint,
    key_fingerprint,
    parse_checkpoint_fingerprint,
)
from deconflict.ledger.keys import SignedTreeHead, b64d, public_raw
from deconflict.ledger.note import (
    Checkpoint,
    SignedNote,
    cosign,
    cosigner_name,
    hub_origin,
    verify_cosignature,
    verify_hub_signature,
)

__all__ = ["WitnessOptions", "check_witnesses", "prefix_roots"]


class Report(Protocol):
    problems: list[str]
    notes: list[str]
    warnings: list[str]


@dataclass
class WitnessOptions:
    """What `ledger verify` was asked to do beyond checking the log."""

    key: Ed25519PrivateKey | None = None  # cosign with it (the party's registered key)
    require: Sequence[str] = ()
    max_lag_s: float | None = None
    checkpoint: str | None = None  # a file holding a signed note, or SIZE/FINGERPRINT
    now: Callable[[], float] = time.time
    forks: list[dict[str, Any]] = field(default_factory=list)  # filled: proof of forks
    # party -> key fingerprints heard from that party out of band (`--cosigner-key`)
    cosigner_keys: dict[str, list[str]] = field(default_factory=dict)
    # party -> key fingerprints accepted for it: read from the state file, filled as pinned
    pinned: dict[str, list[str]] = field(default_factory=dict)


def prefix_roots(leaves: Sequence[bytes], sizes: Sequence[int]) -> dict[int, bytes]:
    """The root of the first ``n`` leaves for each ``n`` in ``sizes``, in one pass."""
    wanted = sorted({n for n in sizes if 0 <= n <= len(leaves)})
    out: dict[int, bytes] = {}
    frontier = merkle.Frontier()
    for n in wanted:
        for leaf in leaves[frontier.size : n]:
            frontier.append(leaf)
        out[n] = frontier.root()
    return out


def _extends(
    client: Client, head: SignedTreeHead, leaves: Sequence[bytes] | None, other: Checkpoint
) -> bool:
    """Whether the verified log (``head``) and ``other`` can both be true."""
    if other.tree_size <= head.tree_size:
        if leaves is None:
            return True  # the log itself already failed; nothing more to compare with
        return prefix_roots(leaves, [other.tree_size])[other.tree_size] == other.root_hash
    try:
        proof = client.consistency_proof(head.tree_size, other.tree_size)
        path = [b64d(p) for p in proof.get("proof", [])]
    except (ApiError, ValueError):
        path = []
    if head.tree_size == 0:
        return True
    return merkle.verify_consistency(
        head.tree_size, other.tree_size, head.root_hash, other.root_hash, path
    )


def _party_keys(entries: dict[int, dict[str, Any]]) -> dict[str, list[tuple[int, bytes]]]:
    """Each party's registered keys with the index of the entry that set them."""
    keys: dict[str, list[tuple[int, bytes]]] = {}
    for index, doc in sorted(entries.items()):
        if doc.get("type") == "party_key_set":
            try:
                keys.setdefault(str(doc.get("party")), []).append((index, b64d(doc["public_key"])))
            except (KeyError, ValueError):
                continue
    return keys


def _pin_cosigner(
    party: str,
    fingerprint: str,
    index: int,
    required: bool,
    options: WitnessOptions,
    report: Report,
) -> bool:
    """Whether a cosignature of `party` under the key `fingerprint` counts; pins it if first.

    A key heard out of band is pinned as heard; with none, the first key a cosignature is
    seen under is pinned (trust on first use, said so); any later key counts only once it
    was heard out of band, since a key set in the party's name may be the operator's.
    """
    heard = options.cosigner_keys.get(party, [])
    pins = options.pinned.setdefault(party, [])
    for fp in heard:
        if fp not in pins:
            pins.append(fp)
    if fingerprint in pins:
        return True
    if not pins:
        pins.append(fingerprint)
        report.notes.append(
            f"pinned {party}'s key, fingerprint {fingerprint} (set at entry {index}), as first "
            f"seen: confirm it with {party}'s liaison, or pass --cosigner-key "
            f"{party}=FINGERPRINT as heard from them"
        )
        return True
    say = report.problems.append if required else report.warnings.append
    say(
        f"{party}'s cosignature verifies only with the key {fingerprint} (set in {party}'s name "
        f"at entry {index}), not one you pinned for {party} ({', '.join(pins)}): the hub's "
        f"operator can register a key in any party's name, so this cosignature proves nothing; "
        f"if {party} rotated its key, hear the new fingerprint from {party}'s liaison and pass "
        f"--cosigner-key {party}=FINGERPRINT"
    )
    return False


def check_witnesses(
    client: Client,
    hub_key: bytes,
    head: SignedTreeHead,
    leaves: Sequence[bytes] | None,
    entries: dict[int, dict[str, Any]],
    previous_size: int,
    first_run: bool,
    options: WitnessOptions,
    report: Report,
) -> None:
    origin = hub_origin(hub_key)
    doc = client.checkpoint(head.tree_size)
    try:
        note = SignedNote.parse(str(doc.get("checkpoint", "")))
    except ValueError as exc:
        report.problems.append(f"the hub's checkpoint is not a signed note: {exc}")
        return
    ours = verify_hub_signature(note, hub_key)
    if ours is None or (ours.tree_size, ours.root_hash) != (head.tree_size, head.root_hash):
        report.problems.append(
            f"the hub's checkpoint of {head.tree_size} entries is not signed by the hub key "
            "or contradicts its own tree head"
        )
        return
    verified_note = SignedNote(note.text, tuple(s for s in note.signatures if s.name == origin))
    report.notes.append(
        f"checkpoint fingerprint {checkpoint_fingerprint(ours)} (read it to the other side)"
    )
    me = client.party
    keys = _party_keys(entries)
    if options.key is not None and keys.get(me):
        index, current = keys[me][-1]
        if current != public_raw(options.key):
            report.problems.append(
                f"the log's latest key for you, {key_fingerprint(current)} (entry {index}), is "
                f"not the key in your file ({key_fingerprint(public_raw(options.key))}): someone "
                "(the operator holds every token) registered a key in your name; whatever is "
                "signed with it is not yours"
            )
    good: dict[str, tuple[int, int]] = {}  # party -> (size, timestamp) of a sound cosignature
    for item in doc.get("cosignatures") or []:
        party = str(item.get("party"))
        name = cosigner_name(party)
        try:
            shown = SignedNote.parse(str(item.get("checkpoint", "")))
        except ValueError:
            report.problems.append(f"the cosignature shown for {party} is not a signed note")
            continue
        theirs = verify_hub_signature(shown, hub_key)
        if theirs is None:
            report.problems.append(
                f"the checkpoint shown as cosigned by {party} is not signed by the hub key"
            )
            continue
        signed = [
            (t, index, public)
            for s in shown.signatures
            if s.name == name
            for index, public in keys.get(party, [])
            if (t := verify_cosignature(s, shown.text, public)) is not None
        ]
        if not signed:
            report.problems.append(
                f"the cosignature shown for {party} does not verify with any key {party} "
                "registered: it is forged"
            )
            continue
        # a pinned key that verifies, else the latest that does (to say which it is)
        accepted = {*options.pinned.get(party, []), *options.cosigner_keys.get(party, [])}
        _, index, public = max(signed, key=lambda x: (key_fingerprint(x[2]) in accepted, x[1]))
        # only that key's times: a line under another key beside it must not freshen it
        stamps = [t for t, _, k in signed if k == public]
        if party != me and not _pin_cosigner(
            party, key_fingerprint(public), index, party in options.require, options, report
        ):
            continue
        if not _extends(client, head, leaves, theirs):
            report.problems.append(
                f"fork: {party} cosigned a checkpoint of {theirs.tree_size} entries, signed by "
                f"the hub, that the log you verified ({head.tree_size} entries) contradicts: the "
                f"hub shows {party} another log (both signed heads are kept as proof)"
            )
            options.forks.append(
                {"verified": verified_note.render(), "cosigned_by": party, "other": shown.render()}
            )
            continue
        good[party] = (theirs.tree_size, max(stamps))
    others = sorted(p for p in good if p != me)
    if others:
        report.notes.append(
            f"cosigned, consistently with what you verified, by {', '.join(others)}"
        )
    elif first_run and head.tree_size > 0:
        report.warnings.append(
            f"you are checking this log for the first time and no other party has cosigned "
            f"it: nothing you checked tells this log of {head.tree_size} entries from one the "
            "operator rewrote from the start. Read the hub key fingerprint and the checkpoint "
            "fingerprint above to another party's liaison, or pass --hub-key and "
            "--require-cosigners"
        )
    now = options.now()
    for party in options.require:
        if party == me:
            continue
        found = good.get(party)
        lag = "" if options.max_lag_s is None else f" in the last {options.max_lag_s:g} s"
        if (
            found is None
            or found[0] < previous_size
            or (options.max_lag_s is not None and now - found[1] > options.max_lag_s)
        ):
            report.problems.append(
                f"{party} has not cosigned a checkpoint at or beyond your previous head "
                f"({previous_size} entries){lag}: the hub may be showing {party} another log "
                f"(a split view); ask {party} to run `deconflict ledger verify`, or compare "
                "fingerprints by phone"
            )
    if options.checkpoint is not None:
        _check_heard(client, hub_key, head, leaves, options.checkpoint, report)
    if options.key is not None and not report.problems:
        line = cosign(options.key, cosigner_name(me), verified_note.text, int(now))
        try:
            client.add_cosignature(verified_note.with_signatures([line]).render())
            report.notes.append(
                f"cosigned the checkpoint of {head.tree_size} entries as {cosigner_name(me)}"
            )
        except ApiError as exc:
            report.warnings.append(f"the hub did not take your cosignature: {exc}")


def _check_heard(
    client: Client,
    hub_key: bytes,
    head: SignedTreeHead,
    leaves: Sequence[bytes] | None,
    heard: str,
    report: Report,
) -> None:
    """A checkpoint heard from the other side: a signed-note file, or SIZE/FINGERPRINT."""
    origin = hub_origin(hub_key)
    path = Path(heard)
    if path.is_file():
        try:
            other = verify_hub_signature(SignedNote.parse(path.read_text()), hub_key)
        except (OSError, ValueError) as exc:
            report.problems.append(f"{heard}: not a signed checkpoint ({exc})")
            return
        if other is None:
            report.problems.append(f"{heard}: not a checkpoint signed by this hub's key")
            return
        if not _extends(client, head, leaves, other):
            report.problems.append(
                f"fork: the checkpoint in {heard} ({other.tree_size} entries) is signed by the "
                "hub but contradicts the log you verified"
            )
            return
        report.notes.append(f"the checkpoint in {heard} is consistent with the log you verified")
        return
    try:
        size, fingerprint = parse_checkpoint_fingerprint(heard)
    except ValueError as exc:
        report.problems.append(f"--checkpoint {heard!r}: neither a file nor a fingerprint: {exc}")
        return
    if size <= head.tree_size:
        if leaves is None:
            return
        root = prefix_roots(leaves, [size])[size]
    else:
        try:
            doc = client.checkpoint(size)
            other = verify_hub_signature(SignedNote.parse(str(doc["checkpoint"])), hub_key)
        except (ApiError, KeyError, ValueError):
            other = None
        if other is None or not _extends(client, head, leaves, other):
            report.problems.append(
                f"the checkpoint heard ({size}/{fingerprint}) is beyond the log you verified "
                "and the hub cannot show one consistent with it"
            )
            return
        root = other.root_hash
    mine = checkpoint_fingerprint(Checkpoint(origin, size, root))
    if mine != f"{size}/{fingerprint}":
        report.problems.append(
            f"the checkpoint heard ({size}/{fingerprint}) is not the one your log holds at "
            f"{size} entries ({mine}): one of you is shown a fork"
        )
    else:
        report.notes.append(f"the checkpoint heard ({mine}) matches the log you verified")
