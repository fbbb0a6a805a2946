"""`Tx`: one change as the use cases see it, a savepoint inside its batch's transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from deconflict.service.event_types import EventType
from deconflict.store import Repo, Row
from deconflict.utc import format_ts

__all__ = ["Tx", "must"]

T = TypeVar("T")
P = TypeVar("P")


def must(row: T | None) -> T:
    """A row the current transaction has just written or locked; its absence is a bug."""
    if row is None:
        raise RuntimeError("row vanished inside its own transaction")
    return row


class Tx:
    """What a change may do: read and write through `repo`, emit events, register undos.

    Events are buffered and stored with the batch; parties are woken, and
    `after_commit` actions run, only once the batch is durable.
    """

    def __init__(self, repo: Repo, now: datetime) -> None:
        self.repo = repo
        self.now = now
        self.ts = format_ts(now)
        self.woken: set[str] = set()
        self.after_commit: list[Callable[[], None]] = []
        self.events: list[Row] = []  # appended to the outbox with the batch
        self.undo: list[Callable[[], None]] = []  # reverts in-memory changes, newest last
        # (kind, key) of what other processes must reload: a notice of the index, a party
        self.changes: list[tuple[str, str]] = []

    def emit(self, party_id: str, type_: EventType[P], data: P) -> None:
        self.woken.add(party_id)
        self.events.append(
            {
                "party_id": party_id,
                "type": type_.name,
                "created_at": self.ts,
                "data": json.dumps(data),
            }
        )

    def emit_to(self, party_ids: Iterable[str], type_: EventType[P], data: P) -> None:
        """The same event to several parties (serialised once)."""
        text = None
        for party_id in party_ids:
            if text is None:
                text = json.dumps(data)
            self.woken.add(party_id)
            self.events.append(
                {"party_id": party_id, "type": type_.name, "created_at": self.ts, "data": text}
            )

    def changed(self, kind: str, key: str) -> None:
        """Tell the other processes on this database to reload `key` (issue 14)."""
        self.changes.append((kind, key))

    def on_undo(self, action: Callable[[], None]) -> None:
        """Run `action` if this change (or its batch) is rolled back."""
        self.undo.append(action)

    def revert(self) -> None:
        while self.undo:
            self.undo.pop()()
