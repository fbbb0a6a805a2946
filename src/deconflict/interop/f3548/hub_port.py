"""Every in-process call the DSS interface makes into the hub, in one place.

The hub's service layer is becoming one awaitable call per use case
(``await hub.notify(who, body)`` ...); only this module knows how today's hub
is called, so re-pointing the DSS to that API changes this file alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from deconflict.service import Hub, Principal, StateConflict
from deconflict.service.auth import ADMIN
from deconflict.store import Store

__all__ = [
    "DSS_PARTY",
    "amend",
    "cancel",
    "check_rate",
    "conflicts_of",
    "ensure_party",
    "notify",
    "now",
    "store_of",
]

# The party every USS notice is addressed to: the DSS directory itself. Nobody signs
# in as it; other USSs learn of intents through /dss/v1 as F3548 says, and the hub's
# own parties through their conflicts (under the disclosure rules).
DSS_PARTY = "f3548-dss"
_OPERATOR = Principal(ADMIN, is_admin=True)


def store_of(hub: Hub) -> Store:
    return hub.store


def now(hub: Hub) -> datetime:
    return hub.now()


def check_rate(hub: Hub, party_id: str) -> None:
    hub.check_rate(Principal(party_id))


async def ensure_party(hub: Hub, party_id: str, name: str) -> None:
    """Register ``party_id`` unless it already is (by the operator, or an earlier call)."""
    if party_id in hub.party_ids():
        return
    with contextlib.suppress(StateConflict):  # registered meanwhile
        await asyncio.to_thread(hub.register_party, _OPERATOR, {"id": party_id, "name": name})


async def notify(hub: Hub, party_id: str, body: dict[str, Any]) -> tuple[str, int]:
    """A new notice by ``party_id``; its (id, version)."""
    done = await hub.write_async(hub.notify_change(Principal(party_id), body))
    return str(done["id"]), int(done["version"])


async def amend(
    hub: Hub, party_id: str, notice_id: str, version: int, body: dict[str, Any]
) -> tuple[str, int]:
    """A new version of a notice; a new notice if it has meanwhile expired or been cancelled."""
    try:
        done = await asyncio.to_thread(
            hub.amend, Principal(party_id), notice_id, {**body, "version": version}
        )
    except StateConflict:
        current = await asyncio.to_thread(hub.get_notice, Principal(party_id), notice_id)
        if current["state"] == "active":
            raise
        return await notify(hub, party_id, body)
    return str(done["id"]), int(done["version"])


async def cancel(hub: Hub, party_id: str, notice_id: str) -> None:
    """Cancel a notice; one that already ended or was cancelled stays as it is."""
    with contextlib.suppress(StateConflict):
        await asyncio.to_thread(hub.cancel, Principal(party_id), notice_id)


async def conflicts_of(hub: Hub, party_id: str, notice_id: str) -> list[dict[str, Any]]:
    """The open conflicts of a notice, as its issuer sees them."""
    found = await asyncio.to_thread(
        hub.list_conflicts, Principal(party_id), states=["open"], notice_id=notice_id
    )
    return list(found["conflicts"])
