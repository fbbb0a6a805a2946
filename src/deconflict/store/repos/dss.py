"""The statements of the F3548 DSS interface (tables in `deconflict.store.dss_tables`).

Rows in, rows out; which USS may see or change what is decided in
`deconflict.interop.f3548`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from deconflict.store.dss_tables import dss_references, dss_subscriptions, dss_usss
from deconflict.store.rows import Row

__all__ = ["DssRepo"]


def _rows(result: Any) -> list[Row]:
    return [dict(r) for r in result.mappings().all()]


def _one(result: Any) -> Row | None:
    r = result.mappings().first()
    return None if r is None else dict(r)


class DssRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- USSs ---------------------------------------------------------------------
    def get_uss(self, sub: str) -> Row | None:
        return _one(self._conn.execute(select(dss_usss).where(dss_usss.c.sub == sub)))

    def all_usss(self) -> list[Row]:
        return _rows(self._conn.execute(select(dss_usss)))

    def insert_uss(self, row: Row) -> None:
        self._conn.execute(insert(dss_usss).values(**row))

    def update_uss(self, sub: str, **values: Any) -> None:
        self._conn.execute(update(dss_usss).where(dss_usss.c.sub == sub).values(**values))

    # -- operational intent and constraint references -----------------------------
    def get_reference(self, kind: str, entity_id: str) -> Row | None:
        q = select(dss_references).where(
            dss_references.c.kind == kind, dss_references.c.id == entity_id
        )
        return _one(self._conn.execute(q))

    def all_references(self) -> list[Row]:
        return _rows(
            self._conn.execute(select(dss_references).order_by(dss_references.c.created_at))
        )

    def insert_reference(self, row: Row) -> None:
        self._conn.execute(insert(dss_references).values(**row))

    def update_reference(self, kind: str, entity_id: str, values: Row) -> None:
        self._conn.execute(
            update(dss_references)
            .where(dss_references.c.kind == kind, dss_references.c.id == entity_id)
            .values(**values)
        )

    def delete_reference(self, kind: str, entity_id: str) -> None:
        self._conn.execute(
            delete(dss_references).where(
                dss_references.c.kind == kind, dss_references.c.id == entity_id
            )
        )

    def count_dependents(self, subscription_id: str) -> int:
        """Operational intents that rely on a subscription."""
        q = select(func.count()).where(dss_references.c.subscription_id == subscription_id)
        return int(self._conn.execute(q).scalar_one())

    # -- subscriptions --------------------------------------------------------------
    def get_subscription(self, subscription_id: str) -> Row | None:
        q = select(dss_subscriptions).where(dss_subscriptions.c.id == subscription_id)
        return _one(self._conn.execute(q))

    def all_subscriptions(self) -> list[Row]:
        return _rows(self._conn.execute(select(dss_subscriptions)))

    def insert_subscription(self, row: Row) -> None:
        self._conn.execute(insert(dss_subscriptions).values(**row))

    def update_subscription(self, subscription_id: str, values: Row) -> None:
        self._conn.execute(
            update(dss_subscriptions)
            .where(dss_subscriptions.c.id == subscription_id)
            .values(**values)
        )

    def delete_subscription(self, subscription_id: str) -> None:
        self._conn.execute(
            delete(dss_subscriptions).where(dss_subscriptions.c.id == subscription_id)
        )

    def bump_notification_indices(self, ids: Iterable[str]) -> dict[str, int]:
        """Increment the notification index of each subscription; the new indices by id."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        self._conn.execute(
            update(dss_subscriptions)
            .where(dss_subscriptions.c.id.in_(wanted))
            .values(notification_index=dss_subscriptions.c.notification_index + 1)
        )
        q = select(dss_subscriptions.c.id, dss_subscriptions.c.notification_index).where(
            dss_subscriptions.c.id.in_(wanted)
        )
        return {r.id: r.notification_index for r in self._conn.execute(q)}
