"""The statements of the F3548 DSS interface (tables in `deconflict.store.dss_schema`).

Rows in, rows out; which USS may see or change what is decided in
`deconflict.interop.f3548`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from deconflict.store.dss_schema import dss_references, dss_subscriptions, dss_usss
from deconflict.store.repo import Row

__all__ = [
    "all_references",
    "all_subscriptions",
    "all_usss",
    "bump_notification_indices",
    "count_dependents",
    "delete_reference",
    "delete_subscription",
    "get_reference",
    "get_subscription",
    "get_uss",
    "insert_reference",
    "insert_subscription",
    "insert_uss",
    "update_reference",
    "update_subscription",
    "update_uss",
]


def _rows(result: Any) -> list[Row]:
    return [dict(r) for r in result.mappings().all()]


def _one(result: Any) -> Row | None:
    r = result.mappings().first()
    return None if r is None else dict(r)


# -- USSs ---------------------------------------------------------------------
def get_uss(conn: Connection, sub: str) -> Row | None:
    return _one(conn.execute(select(dss_usss).where(dss_usss.c.sub == sub)))


def all_usss(conn: Connection) -> list[Row]:
    return _rows(conn.execute(select(dss_usss)))


def insert_uss(conn: Connection, row: Row) -> None:
    conn.execute(insert(dss_usss).values(**row))


def update_uss(conn: Connection, sub: str, **values: Any) -> None:
    conn.execute(update(dss_usss).where(dss_usss.c.sub == sub).values(**values))


# -- operational intent and constraint references -----------------------------
def get_reference(conn: Connection, kind: str, entity_id: str) -> Row | None:
    q = select(dss_references).where(
        dss_references.c.kind == kind, dss_references.c.id == entity_id
    )
    return _one(conn.execute(q))


def all_references(conn: Connection) -> list[Row]:
    return _rows(conn.execute(select(dss_references).order_by(dss_references.c.created_at)))


def insert_reference(conn: Connection, row: Row) -> None:
    conn.execute(insert(dss_references).values(**row))


def update_reference(conn: Connection, kind: str, entity_id: str, values: Row) -> None:
    conn.execute(
        update(dss_references)
        .where(dss_references.c.kind == kind, dss_references.c.id == entity_id)
        .values(**values)
    )


def delete_reference(conn: Connection, kind: str, entity_id: str) -> None:
    conn.execute(
        delete(dss_references).where(
            dss_references.c.kind == kind, dss_references.c.id == entity_id
        )
    )


def count_dependents(conn: Connection, subscription_id: str) -> int:
    """Operational intents that rely on a subscription."""
    q = select(func.count()).where(dss_references.c.subscription_id == subscription_id)
    return int(conn.execute(q).scalar_one())


# -- subscriptions --------------------------------------------------------------
def get_subscription(conn: Connection, subscription_id: str) -> Row | None:
    q = select(dss_subscriptions).where(dss_subscriptions.c.id == subscription_id)
    return _one(conn.execute(q))


def all_subscriptions(conn: Connection) -> list[Row]:
    return _rows(conn.execute(select(dss_subscriptions)))


def insert_subscription(conn: Connection, row: Row) -> None:
    conn.execute(insert(dss_subscriptions).values(**row))


def update_subscription(conn: Connection, subscription_id: str, values: Row) -> None:
    conn.execute(
        update(dss_subscriptions).where(dss_subscriptions.c.id == subscription_id).values(**values)
    )


def delete_subscription(conn: Connection, subscription_id: str) -> None:
    conn.execute(delete(dss_subscriptions).where(dss_subscriptions.c.id == subscription_id))


def bump_notification_indices(conn: Connection, ids: Iterable[str]) -> dict[str, int]:
    """Increment the notification index of each subscription; the new indices by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    conn.execute(
        update(dss_subscriptions)
        .where(dss_subscriptions.c.id.in_(wanted))
        .values(notification_index=dss_subscriptions.c.notification_index + 1)
    )
    q = select(dss_subscriptions.c.id, dss_subscriptions.c.notification_index).where(
        dss_subscriptions.c.id.in_(wanted)
    )
    return {r.id: r.notification_index for r in conn.execute(q)}
