"""Every in-process call the DSS interface makes into the hub, in one place.

Every use case of the hub is one awaitable call (``await hub.notify(who, body)``);
the DSS's own rows go through the hub's one writer too (`write`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from deconflict.service import Hub, Principal, StateConflict
from deconflict.service.auth import ADMIN
from deconflict.service.tx import Tx
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
    "write",
]

T = TypeVar("T")

# The party every USS notice is addressed to: the DSS directory itself. Nobody signs
# in as it; other USSs learn of intents through /dss/v1 as F3548 says, and the hub's
# own parties through their conflicts (under the disclosure rules).
DSS_PARTY = "f3548-dss"
_OPERATOR = Principal(ADMIN, is_admin=True)


async def write(hub: Hub, change: Callable[[Tx], T]) -> T:
    """The DSS's own rows, as one change through the hub's one writer (group commit)."""
    return await hub.writer.run(change)


def store_of(hub: Hub) -> Store:
    """For the DSS's start-up read of its own rows."""
    return hub.store


def now(hub: Hub) -> datetime:
    return hub.clock()


def check_rate(hub: Hub, party_id: str) -> None:
    hub.check_rate(Principal(party_id))


async def ensure_party(hub: Hub, party_id: str, name: str) -> None:
    """Register ``party_id`` unless it already is (by the operator, or an earlier call)."""
    if party_id in hub.parties:
        return
    with contextlib.suppress(StateConflict):  # registered meanwhile
        await hub.register_party(_OPERATOR, {"id": party_id, "name": name})


async def notify(hub: Hub, party_id: str, body: dict[str, Any]) -> tuple[str, int]:
    """A new notice by ``party_id``; its (id, version)."""
    done = await hub.notify(Principal(party_id), body)
    return str(done["id"]), int(done["version"])


async def amend(
    hub: Hub, party_id: str, notice_id: str, version: int, body: dict[str, Any]
) -> tuple[str, int]:
    """A new version of a notice; a new notice if it has meanwhile expired or been cancelled."""
    try:
        done = await hub.amend(Principal(party_id), notice_id, {**body, "version": version})
    except StateConflict:
        current = await hub.get_notice(Principal(party_id), notice_id)
        if current["state"] == "active":
            raise
        return await notify(hub, party_id, body)
    return str(done["id"]), int(done["version"])


async def cancel(hub: Hub, party_id: str, notice_id: str) -> None:
    """Cancel a notice; one that already ended or was cancelled stays as it is."""
    with contextlib.suppress(StateConflict):
        await hub.cancel(Principal(party_id), notice_id, None, None)


async def conflicts_of(hub: Hub, party_id: str, notice_id: str) -> list[dict[str, Any]]:
    """The open conflicts of a notice, as its issuer sees them."""
    found = await hub.list_conflicts(Principal(party_id), states=["open"], notice_id=notice_id)
    return list(found["conflicts"])
