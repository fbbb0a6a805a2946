"""F3548 documents of the DSS's rows, as one USS may see them."""

from __future__ import annotations

from typing import Any

from deconflict.geo import format_utc
from deconflict.store import Row
from deconflict.utc import parse_ts

__all__ = ["NO_OVN", "reference_view", "subscribers_view", "subscription_view", "time_doc"]

# What F3548 DSSs answer in place of another USS's OVN: only the owner learns it.
NO_OVN = "Available from USS"


def time_doc(ts: str) -> dict[str, str]:
    return {"value": format_utc(parse_ts(ts)), "format": "RFC3339"}


def reference_view(row: Row, viewer: str, availability: str) -> dict[str, Any]:
    """An operational intent or constraint reference; the OVN only for its manager."""
    out: dict[str, Any] = {
        "id": row["id"],
        "manager": row["manager"],
        "uss_availability": availability,
        "version": row["version"],
        "ovn": row["ovn"] if row["manager"] == viewer else NO_OVN,
        "time_start": time_doc(row["time_start"]),
        "time_end": time_doc(row["time_end"]),
        "uss_base_url": row["uss_base_url"],
    }
    if row["kind"] == "op":
        out["state"] = row["state"]
        out["subscription_id"] = row["subscription_id"]
    return out


def subscription_view(row: Row, dependents: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "version": row["version"],
        "notification_index": row["notification_index"],
        "time_start": time_doc(row["time_start"]),
        "time_end": time_doc(row["time_end"]),
        "uss_base_url": row["uss_base_url"],
        "notify_for_operational_intents": bool(row["notify_for_operational_intents"]),
        "notify_for_constraints": bool(row["notify_for_constraints"]),
        "implicit_subscription": bool(row["implicit"]),
        "dependent_operational_intents": sorted(dependents),
    }


def subscribers_view(subs: list[Row], indices: dict[str, int]) -> list[dict[str, Any]]:
    """`SubscriberToNotify` entries: the subscriptions to notify, by USS base URL."""
    by_url: dict[str, list[dict[str, Any]]] = {}
    for s in sorted(subs, key=lambda s: s["id"]):
        by_url.setdefault(s["uss_base_url"], []).append(
            {"subscription_id": s["id"], "notification_index": indices[s["id"]]}
        )
    return [{"uss_base_url": url, "subscriptions": entries} for url, entries in by_url.items()]
