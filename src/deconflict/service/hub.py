"""`Hub`: the service facade the HTTP API, the CLI and the benchmarks use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from deconflict.service.auth import Principal
from deconflict.service.core import Tx
from deconflict.service.messages import MessageOps
from deconflict.store import Row, parse_ts

__all__ = ["Hub"]

_NOTICE_EVENTS = ("notice_received", "notice_updated")


def _event(row: Row) -> dict[str, Any]:
    return {
        "id": row["seq"],
        "type": row["type"],
        "time": row["created_at"],
        "data": json.loads(row["data"]),
    }


class Hub(MessageOps):
    # -- the event outbox ----------------------------------------------------
    def events_after(self, who: Principal, after: int, limit: int = 200) -> list[dict[str, Any]]:
        return [_event(r) for r in self._outbox(who, after, limit)]

    def events_with_json(
        self, who: Principal, after: int, limit: int = 200
    ) -> list[tuple[dict[str, Any], str]]:
        """`events_after`, each with its JSON text (what a stream sends, never re-encoded)."""
        return [
            (
                _event(r),
                f'{{"id":{r["seq"]},"type":{json.dumps(r["type"])},'
                f'"time":{json.dumps(r["created_at"])},"data":{r["data"]}}}',
            )
            for r in self._outbox(who, after, limit)
        ]

    def _outbox(self, who: Principal, after: int, limit: int) -> list[Row]:
        with self.store.read_one() as repo:
            return repo.events_after(who.party_id, after, limit)

    def events_delivered(self, who: Principal, events: list[dict[str, Any]]) -> None:
        """Record what a stream or a poll handed over: deliveries and coordinate reads."""
        change = self.events_delivered_change(who, events)
        if change is not None:
            self._write(change)

    def events_delivered_change(
        self, who: Principal, events: list[dict[str, Any]]
    ) -> Callable[[Tx], None] | None:
        """The change recording a hand-over, or None when there is nothing to record."""
        if who.is_admin:
            return None
        notices = [e["data"] for e in events if e["type"] in _NOTICE_EVENTS]
        handed = [
            (e["data"]["id"], e["data"]["version"])
            for e in events
            if e["type"] in _NOTICE_EVENTS or e["type"] == "notice_cancelled"
        ]
        messages = [e["data"]["id"] for e in events if e["type"] == "message_received"]
        if not handed and not messages:
            return None

        def run(tx: Tx) -> None:
            tx.repo.record_reads(
                [
                    {
                        "notice_id": n["id"],
                        "version": n["version"],
                        "party_id": who.party_id,
                        "via": "events",
                        "read_at": tx.ts,
                    }
                    for n in notices
                ]
            )
            if handed:
                self._mark_delivered(tx, who.party_id, handed)
            if messages:
                self._messages_delivered(tx, who, messages)

        return run

    # -- the background sweep ------------------------------------------------
    def sweep(self) -> dict[str, int]:
        """Escalate overdue acknowledgements and expire ended notices.

        All state is in the database, so a restarted hub picks up exactly where
        the previous one stopped; each escalation is sent once.
        """

        def run(tx: Tx) -> dict[str, int]:
            return {"overdue": self.escalate_due(tx), "expired": self.expire_due(tx)}

        return self._write(run)

    def event_time(self, event: dict[str, Any]) -> float:
        return parse_ts(event["time"]).timestamp()
