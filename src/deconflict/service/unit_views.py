"""Units (issue 15): what the party and the unit are shown of units and their deliveries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from deconflict.service.auth import Principal
from deconflict.service.errors import Forbidden
from deconflict.store import Row

__all__ = ["delivery_view", "not_a_unit", "summary", "unit_view"]


def unit_view(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "party": row["party_id"],
        "name": row["name"],
        "area": json.loads(row["area"]),
        "kinds": json.loads(row["kinds"]),
        "share_with_issuers": bool(row["share_with_issuers"]),
        "state": row["state"],
        "confirmed_through": row["confirmed_through"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def delivery_view(row: Row) -> dict[str, Any]:
    return {
        "notice_id": row["notice_id"],
        "version": row["version"],
        "unit": row["unit_id"],
        "state": row["state"],
        "routed_at": row["routed_at"],
        "starts_at": row["starts_at"],
        "delivered_at": row["delivered_at"],
        "acknowledged_at": row["acknowledged_at"],
        "comment": row["comment"],
        "missed": row["missed_at"] is not None,
        "missed_at": row["missed_at"],
        "current": not row["superseded"],
    }


def summary(rows: Sequence[Row]) -> dict[str, int]:
    return {
        "responsible": len(rows),
        "delivered": sum(r["state"] != "pending" for r in rows),
        "acknowledged": sum(r["state"] == "acknowledged" for r in rows),
    }


def not_a_unit(who: Principal, action: str) -> None:
    if who.is_admin:
        raise Forbidden(f"the hub operator does not {action}; use a party's token")
    if who.unit is not None:  # pragma: no cover - unit tokens never reach party routes
        raise Forbidden(f"a unit does not {action}; its party does")
