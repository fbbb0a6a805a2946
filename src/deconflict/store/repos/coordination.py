"""The write token, the change log and the leader's lease (tables in
`deconflict.store.coordination_tables`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from deconflict.store.coordination_tables import hub_changes, hub_leader, hub_write_token
from deconflict.store.prepared import Prepared

__all__ = ["CHANGES_PRUNED", "CoordinationRepo"]

CHANGES_PRUNED = "pruned"  # the kind of the mark `prune_changes` leaves

_TAKE = Prepared(
    select(hub_write_token.c.generation).where(hub_write_token.c.id == 1).with_for_update()
)
_GENERATION = Prepared(select(hub_write_token.c.generation).where(hub_write_token.c.id == 1))
_BUMP = Prepared(update(hub_write_token).where(hub_write_token.c.id == 1))
_RECORD = Prepared(insert(hub_changes))


class CoordinationRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def take_write_token(self) -> int:
        """Lock the token row for the rest of this transaction and count it up; returns the
        generation before (the last committed write batch of any process)."""
        found = _TAKE.rows(self._conn, {})
        if not found:
            raise RuntimeError("hub_write_token has no row: the schema is not migrated")
        previous = int(found[0]["generation"])
        _BUMP.execute(self._conn, {"generation": previous + 1})
        return previous

    def generation(self) -> int:
        """The last committed write batch, as this snapshot sees it."""
        return int(_GENERATION.rows(self._conn, {})[0]["generation"])

    def record(self, generation: int, changes: Iterable[tuple[str, str]]) -> None:
        rows = [{"generation": generation, "kind": k, "key": v} for k, v in changes]
        _RECORD.executemany(self._conn, rows)

    def changed_since(self, generation: int) -> list[tuple[str, str]]:
        """(kind, key) of every change committed after `generation`, each once."""
        q = (
            select(hub_changes.c.kind, hub_changes.c.key)
            .where(hub_changes.c.generation > generation)
            .group_by(hub_changes.c.kind, hub_changes.c.key)
        )
        return [(str(k), str(v)) for k, v in self._conn.execute(q)]

    def oldest_change(self) -> int | None:
        q = select(func.min(hub_changes.c.generation))
        found = self._conn.execute(q).scalar()
        return None if found is None else int(found)

    def prune_changes(self, below: int) -> None:
        """Forget the changes of generations before `below`, leaving a `CHANGES_PRUNED` mark at
        `below - 1` in their place: a process that saw less than that finds the mark
        among its `changed_since` and knows that changes it missed are gone."""
        self._conn.execute(delete(hub_changes).where(hub_changes.c.generation < below))
        _RECORD.executemany(
            self._conn, [{"generation": below - 1, "kind": CHANGES_PRUNED, "key": ""}]
        )

    def lease(self, holder: str, now: str, until: str, implausible_after: str) -> bool:
        """Take or renew the leader's lease: held by `holder` until `until` unless another
        holds it unexpired at `now`, and not expiring after `implausible_after` (no
        renewal writes that far ahead). True when `holder` holds it."""
        q = (
            update(hub_leader)
            .where(
                and_(
                    hub_leader.c.id == 1,
                    or_(
                        hub_leader.c.holder == holder,
                        hub_leader.c.expires_at < now,
                        hub_leader.c.expires_at > implausible_after,
                    ),
                )
            )
            .values(holder=holder, expires_at=until)
        )
        return self._conn.execute(q).rowcount == 1

    def leader(self) -> tuple[str, str]:
        """(holder, expires_at) of the lease ("" when never held)."""
        q = select(hub_leader.c.holder, hub_leader.c.expires_at).where(hub_leader.c.id == 1)
        found = self._conn.execute(q).first()
        return ("", "") if found is None else (str(found[0]), str(found[1]))

    def release(self, holder: str) -> None:
        q = (
            update(hub_leader)
            .where(and_(hub_leader.c.id == 1, hub_leader.c.holder == holder))
            .values(holder="", expires_at="")
        )
        self._conn.execute(q)
