"""Fetching what the API serves a party, for `ledger verify` to hold it to the log.

The log may be intact while the tables the API reads from were edited behind it (a title, a
coordinate, a comment, an acknowledgement that was never made). So `ledger verify` fetches
what the party can see (its notices, the acknowledgements it owes and is owed, its hotline
messages and their receipts, its conflicts as its side was told them, its alerts, the party
directory and keys) *before* it takes the head it verifies, and `deconflict.ledger.served` compares
them with the entries of that log. Entries appended meanwhile (by other parties) may or may
not show: the log's size before the fetch bounds what must.
"""

from __future__ import annotations

from typing import Any

from deconflict.client import Client
from deconflict.ledger.served import ServedViews

__all__ = ["fetch_views"]

CONFLICTS_CAP = 500  # what GET /v1/conflicts returns at most
ALERTS_CAP = 1000


def fetch_views(client: Client) -> ServedViews:
    """Everything the party is served that the log covers; the log's size just before."""
    views = ServedViews(int(client.ledger_head()["tree_size"]))
    after: str | None = None
    while True:
        page = client.notices_page(after=after, limit=1000)
        views.notices += page["notices"]
        after = page.get("next_after")
        if not after:
            break
    seen: set[tuple[Any, ...]] = set()
    for role in ("addressee", "issuer"):
        for a in client.acks(role, include_superseded=True):
            key = (a["notice_id"], a["version"], a["addressee"])
            if key not in seen:
                seen.add(key)
                views.acks.append(a)
    views.messages = client.messages("all")
    views.conflicts = client.conflicts()
    views.conflicts_complete = len(views.conflicts) < CONFLICTS_CAP
    views.alerts = client.alerts(limit=ALERTS_CAP)
    views.alerts_complete = len(views.alerts) < ALERTS_CAP
    views.parties = client.parties()
    views.keys = [k for p in views.parties for k in client.party_keys(str(p["id"]))]
    return views
