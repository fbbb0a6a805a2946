"""Witnessing: the hub's checkpoints as C2SP signed notes, and the parties' cosignatures.

Each party's `ledger verify` cosigns the checkpoint it verified (C2SP tlog-cosignature,
Ed25519, with the key the party registered) and sends it here; the hub keeps it and shows
every party each cosigner's newest one. A hub that shows alpha one log and bravo another
must then either show alpha bravo's cosignature on a head alpha's log contradicts (the
fork is proven), or withhold bravo's recent cosignatures from alpha (which
`ledger verify --require-cosigners bravo --max-lag S` turns into a failure).

The hub accepts a cosignature only on a checkpoint it signed that matches its log, and
only from the party whose current key made it. Cosignatures are not ledger entries: an
entry per verification would grow the log that each verification cosigns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from deconflict.ledger.fingerprint import checkpoint_fingerprint, key_fingerprint
from deconflict.ledger.keys import b64d, b64e
from deconflict.ledger.note import (
    ED25519_TYPE,
    Checkpoint,
    SignedNote,
    cosigner_name,
    hub_origin,
    note_key_id,
    sign_checkpoint,
    verify_cosignature,
    verify_hub_signature,
    vkey,
)
from deconflict.service.auth import Principal
from deconflict.service.errors import Invalid, StateConflict
from deconflict.service.ledger_log import HubLedger
from deconflict.service.parties import require_party
from deconflict.service.tx import Tx
from deconflict.service.writer import Writer
from deconflict.store import Repo, Store
from deconflict.utc import format_ts

__all__ = ["MAX_FUTURE_S", "MAX_NOTE", "Witnesses"]

MAX_NOTE = 16_384  # characters of a submitted note
MAX_FUTURE_S = 300  # how far ahead of the hub's clock a cosignature's time may be

Doc = dict[str, Any]


class Witnesses:
    def __init__(
        self, writer: Writer, store: Store, tree: HubLedger, clock: Callable[[], datetime]
    ) -> None:
        self.writer = writer
        self.store = store
        self.tree = tree
        self.clock = clock

    @property
    def origin(self) -> str:
        return hub_origin(self.tree.public_key)

    def note(self, tree_size: int, root: bytes) -> SignedNote:
        return sign_checkpoint(self.tree.key, Checkpoint(self.origin, tree_size, root))

    # -- serving -------------------------------------------------------------
    async def checkpoint(self, tree_size: int | None) -> Doc:
        """The checkpoint at `tree_size` (default: the log's size) and the cosignatures held."""
        found: Doc = await asyncio.to_thread(self._checkpoint, tree_size)
        return found

    def _checkpoint(self, tree_size: int | None) -> Doc:
        with self.store.read() as repo:
            size = repo.ledger.size()
            wanted = size if tree_size is None else tree_size
            if wanted > size:
                raise Invalid(
                    [("tree_size", f"the log holds {size} entries, not {wanted}")],
                    location="query",
                )
            root = self.tree.root(repo.ledger, wanted)
            held = repo.cosignatures.newest_per_party()
        note = self.note(wanted, root)
        on_this = []
        cosignatures = []
        for row in held:
            stored = SignedNote.parse(str(row["note"]))
            if int(row["tree_size"]) == wanted and bytes(row["root_hash"]) == root:
                on_this += [s for s in stored.signatures if s.name != self.origin]
            cosignatures.append(
                {
                    "party": row["party_id"],
                    "name": cosigner_name(str(row["party_id"])),
                    "tree_size": row["tree_size"],
                    "timestamp": row["timestamp"],
                    "checkpoint": str(row["note"]),
                }
            )
        checkpoint = Checkpoint(self.origin, wanted, root)
        return {
            "origin": self.origin,
            "hub_key": vkey(self.origin, ED25519_TYPE, self.tree.public_key),
            "hub_key_fingerprint": key_fingerprint(self.tree.public_key),
            "tree_size": wanted,
            "root_hash": b64e(root),
            "fingerprint": checkpoint_fingerprint(checkpoint),
            "checkpoint": note.with_signatures(on_this).render(),
            "cosignatures": cosignatures,
        }

    # -- receiving -----------------------------------------------------------
    async def add_cosignature(self, who: Principal, body: Any) -> Doc:
        require_party(who, "cosign checkpoints")
        text = body.get("checkpoint") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text or len(text) > MAX_NOTE:
            raise Invalid([("checkpoint", f"a C2SP signed note of at most {MAX_NOTE} characters")])
        try:
            note = SignedNote.parse(text)
        except ValueError as exc:
            raise Invalid([("checkpoint", str(exc))]) from None
        checkpoint = verify_hub_signature(note, self.tree.public_key)
        if checkpoint is None:
            raise Invalid([("checkpoint", f"not a checkpoint this hub ({self.origin}) signed")])
        name = cosigner_name(who.party_id)

        def run(tx: Tx) -> Doc:
            return self._store(tx.repo, tx, who.party_id, name, note, checkpoint)

        found: Doc = await self.writer.run(run)
        return found

    def _store(
        self,
        repo: Repo,
        tx: Tx,
        party: str,
        name: str,
        note: SignedNote,
        checkpoint: Checkpoint,
    ) -> Doc:
        size = repo.ledger.size()
        if (
            checkpoint.tree_size > size
            or self.tree.root(repo.ledger, checkpoint.tree_size) != checkpoint.root_hash
        ):
            raise StateConflict(
                f"the checkpoint of {checkpoint.tree_size} entries is not of this hub's log "
                f"as it stands ({size} entries)"
            )
        key = repo.keys.current(party)
        if key is None:
            raise StateConflict(
                f"register your key first (PUT /v1/parties/{party}/key): a cosignature is "
                "checked against it"
            )
        public = b64d(str(key["public_key"]))
        mine = note.find(name, note_key_id(name, 0x04, public))
        stamps = [verify_cosignature(s, note.text, public) for s in mine]
        if len(mine) != 1 or stamps[0] is None:
            raise Invalid(
                [("checkpoint", f"carries no valid cosignature by {name} with your current key")]
            )
        timestamp = stamps[0]
        if timestamp > self.clock().timestamp() + MAX_FUTURE_S:
            raise Invalid([("checkpoint", "the cosignature's time is in the future")])
        hub_line = [s for s in note.signatures if s.name == self.origin][:1]
        kept = SignedNote(note.text, (*hub_line, mine[0])).render()
        stored = repo.cosignatures.add(
            {
                "party_id": party,
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash,
                "timestamp": timestamp,
                "key_id": mine[0].key_id.hex(),
                "note": kept,
                "received_at": format_ts(tx.now),
            }
        )
        return {
            "party": party,
            "name": name,
            "tree_size": checkpoint.tree_size,
            "timestamp": timestamp,
            "stored": stored,
        }
