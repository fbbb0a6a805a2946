"""Delivery down to the unit (issue 15): routing, confirmation, acknowledgement, escalation.

Every notice version a party receives is routed, in the change that stores it
(`Notices.on_version`), to the party's active units whose area it touches and whose kinds
include it: the unit's own stream gets `notice_routed`, and a delivery row (pending ->
delivered -> acknowledged) is kept per (version, unit). Delivered means the unit's client
confirmed it received the event: by the cursor it resumes from (``after`` or
``Last-Event-ID`` of its next read) or by `POST /v1/unit/confirm`; an acknowledgement
implies it.

When the activity starts (the earliest start of the volumes that touch the unit's area)
and a unit still has not received it, the sweep escalates: the party gets
`unit_delivery_missed` naming the unit, the issuer `units_not_reached` with a count only
("delivered to 2 of 3 units responsible for the area"), and names only of units whose
party chose to share them. Every step is a ledger entry naming the receiving party
(``party``) and never the issuer, so the issuer reads none of them but the count it is
told (`units_not_reached`); a routing is one entry per (version, party) whatever the
number of units, so the log's size does not count them either.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Any

from deconflict.config import Settings
from deconflict.geo import Footprint, Volume4D
from deconflict.geo.separation import separation
from deconflict.service.acks import parse_ack_body, visible_notice
from deconflict.service.auth import Principal
from deconflict.service.errors import (
    Forbidden,
    Invalid,
    NotFound,
    StaleVersion,
    StateConflict,
    Unauthorized,
)
from deconflict.service.event_types import (
    NOTICE_ROUTED,
    NOTICE_UNROUTED,
    UNIT_ACKNOWLEDGED,
    UNIT_DELIVERED,
    UNIT_DELIVERY_MISSED,
    UNITS_NOT_REACHED,
    NoticeUnrouted,
    UnitDelivered,
    UnitDeliveryMissed,
    UnitsNotReached,
)
from deconflict.service.idempotency import Once, keyed
from deconflict.service.index import NoticeIndex
from deconflict.service.ledger import Ledger
from deconflict.service.stream import Events, Page
from deconflict.service.tx import Tx, must
from deconflict.service.unit_views import delivery_view, not_a_unit, summary, unit_view
from deconflict.service.units import Units
from deconflict.service.views import notice_view
from deconflict.service.writer import Writer
from deconflict.store import Row, Store
from deconflict.utc import format_ts

__all__ = ["DELIVERY_STATES", "UnitDeliveries"]

DELIVERY_STATES = ("pending", "delivered", "acknowledged")
# Within the geometry's tolerance, a unit is routed a notice rather than missed.
TOUCH_M = 1.0


class UnitDeliveries:
    def __init__(
        self,
        settings: Settings,
        *,
        writer: Writer,
        store: Store,
        index: NoticeIndex,
        ledger: Ledger,
        events: Events,
        units: Units,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.index = index
        self.ledger = ledger
        self.events = events
        self.units = units
        units.on_area_set.append(self._reroute)

    # -- the liaison's views ---------------------------------------------------
    async def notice_units(self, who: Principal, notice_id: str) -> dict[str, Any]:
        """The liaison's view of one notice: which of its units have it, which do not."""
        not_a_unit(who, "read unit deliveries")

        def read() -> dict[str, Any]:
            with self.store.read() as repo:
                row = visible_notice(repo, who, notice_id)
                if row["issuer"] == who.party_id:
                    raise Forbidden(
                        "deliveries to units are their party's; as the issuer you are told a "
                        "count if an activity starts before every unit responsible has it"
                    )
                found = repo.units.of_notice(notice_id, who.party_id)
            current = [d for d in found if d["version"] == row["version"] and not d["superseded"]]
            return {
                "notice_id": notice_id,
                "version": row["version"],
                "units": [delivery_view(d) for d in current],
                "summary": summary(current),
                "earlier": [delivery_view(d) for d in found if d not in current],
            }

        return await asyncio.to_thread(read)

    async def deliveries(
        self, who: Principal, *, states: list[str] | None, limit: int = 500
    ) -> dict[str, Any]:
        """The party's current deliveries to its units (e.g. every pending one)."""
        not_a_unit(who, "read unit deliveries")

        def read() -> list[Row]:
            with self.store.read() as repo:
                found: list[Row] = repo.units.find(who.party_id, states=states, limit=limit)
                return found

        return {"deliveries": [delivery_view(d) for d in await asyncio.to_thread(read)]}

    # -- routing (inside the changes that store notice versions) ---------------
    def _concerns(
        self, fp: Footprint, kinds: list[str], kind: str, volumes: Sequence[Volume4D]
    ) -> datetime | None:
        """The activity's start in the area if the version concerns the unit, else None."""
        if kind not in kinds:
            return None
        starts = [
            v.time_start
            for v in volumes
            if separation(fp, v.footprint, within_m=TOUCH_M).lower_bound_m <= TOUCH_M
        ]
        return min(starts) if starts else None

    def route(
        self,
        tx: Tx,
        row: Row,
        recipients: Sequence[str],
        before: Iterable[str],
        volumes: Sequence[Volume4D],
    ) -> None:
        """`row` (a notice version) went to `recipients`: route it to their units.

        `before`: who had the previous version (their units lose it if their party did).
        """
        by_party = self.units.active_by_party(set(recipients) | set(before))
        if not by_party:  # the common case: no party concerned has units
            return
        nid, version = row["id"], row["version"]
        cancelled = row["state"] != "active"
        view: dict[str, Any] | None = None
        receiving = set(recipients)
        for party in sorted(by_party):
            units = by_party[party] if party in receiving else []
            previous = (  # a first version was routed to no one before
                {d["unit_id"]: d for d in tx.repo.units.current_of_notice(nid, party)}
                if version > 1
                else {}
            )
            routed: list[tuple[Row, datetime]] = []
            for u, fp in units:
                if cancelled and u["id"] in previous:
                    routed.append((u, tx.now))  # the units that had it learn it is cancelled
                    continue
                starts = self._concerns(fp, json.loads(u["kinds"]), row["kind"], volumes)
                if starts is not None and not cancelled:
                    routed.append((u, starts))
            if not routed and not previous:
                continue
            tx.repo.units.supersede(nid, party)
            tx.repo.units.insert_deliveries(
                [
                    self._delivery(tx, row, u["id"], party, None if cancelled else starts)
                    for u, starts in routed
                ]
            )
            if view is None:
                view = notice_view(row)
            tx.emit_to([u["id"] for u, _ in routed], NOTICE_ROUTED, view)
            kept = {u["id"] for u, _ in routed}
            reason = (
                "no longer addressed to your party"
                if party not in receiving
                else ("outside your area or kinds now")
            )
            for uid in sorted(set(previous) - kept):
                tx.emit(
                    uid,
                    NOTICE_UNROUTED,
                    NoticeUnrouted(id=nid, issuer=row["issuer"], version=version, reason=reason),
                )
            self.ledger.log(
                tx,
                "unit_routing",
                party=party,
                notice_id=nid,
                version=version,
                units=sorted(kept),
                unrouted=sorted(set(previous) - kept),
            )

    @staticmethod
    def _delivery(tx: Tx, row: Row, unit_id: str, party: str, starts: datetime | None) -> Row:
        return {
            "notice_id": row["id"],
            "version": row["version"],
            "unit_id": unit_id,
            "party_id": party,
            "issuer": row["issuer"],
            "state": "pending",
            "routed_at": tx.ts,
            "starts_at": format_ts(starts) if starts is not None else None,
            "delivered_at": None,
            "acknowledged_at": None,
            "comment": None,
            "missed_at": None,
            "superseded": 0,
        }

    def _reroute(self, tx: Tx, unit: Row, fp: Footprint) -> list[str]:
        """A unit's area or kinds were set: the party's active notices it now concerns.

        Returns the ids of the notices newly routed to it.
        """
        uid, party = unit["id"], unit["party_id"]
        kinds = json.loads(unit["kinds"])
        current = {d["notice_id"]: d for d in tx.repo.units.current_of_unit(uid)}
        wanted: dict[str, datetime] = {}
        for shape in self.index:
            if shape.issuer == party or not ("*" in shape.readers or party in shape.readers):
                continue
            starts = self._concerns(fp, kinds, shape.kind, shape.volumes)
            if starts is not None:
                wanted[shape.id] = starts
        added = sorted(n for n in wanted if n not in current)
        removed = sorted(n for n, d in current.items() if n not in wanted)
        for nid in removed:
            d = current[nid]
            tx.repo.units.update_delivery(nid, d["version"], uid, superseded=1)
            tx.emit(
                uid,
                NOTICE_UNROUTED,
                NoticeUnrouted(
                    id=nid, issuer=d["issuer"], version=d["version"], reason="your area changed"
                ),
            )
        rows = tx.repo.notices.get_many(added) if added else []
        for r in rows:
            if tx.repo.units.delivery(r["id"], r["version"], uid) is not None:
                # the same version left the unit's area and came back: its delivery is
                # current again, with what the unit did with it (one row per version)
                tx.repo.units.update_delivery(
                    r["id"], r["version"], uid, superseded=0, starts_at=format_ts(wanted[r["id"]])
                )
            else:
                tx.repo.units.insert_deliveries(
                    [self._delivery(tx, r, uid, party, wanted[r["id"]])]
                )
            tx.emit(uid, NOTICE_ROUTED, notice_view(r))
        if added or removed:
            self.ledger.log(
                tx,
                "unit_rerouted",
                party=party,
                unit=uid,
                routed=[[r["id"], r["version"]] for r in rows],
                unrouted=[[n, current[n]["version"]] for n in removed],
            )
        return [r["id"] for r in rows]

    # -- the unit's use cases --------------------------------------------------
    def _unit_row(self, tx: Tx, who: Principal) -> Row:
        row = tx.repo.units.get(who.outbox)
        if row is None or row["state"] != "active":
            raise Unauthorized("this unit was disabled by its party")
        r: Row = row
        return r

    def _mark_delivered(self, tx: Tx, d: Row, via: str) -> None:
        tx.repo.units.update_delivery(
            d["notice_id"], d["version"], d["unit_id"], state="delivered", delivered_at=tx.ts
        )
        self.ledger.log(
            tx,
            "unit_delivery",
            party=d["party_id"],
            unit=d["unit_id"],
            notice_id=d["notice_id"],
            version=d["version"],
            via=via,
        )
        tx.emit(
            d["party_id"],
            UNIT_DELIVERED,
            UnitDelivered(
                notice_id=d["notice_id"],
                version=d["version"],
                unit=d["unit_id"],
                delivered_at=tx.ts,
                via=via,
            ),
        )

    async def confirm(
        self, who: Principal, through: int, field: str = "last_event_id", location: str = "body"
    ) -> dict[str, Any]:
        """The unit's client received every event up to `through`: deliveries confirmed."""
        if who.unit is None:  # pragma: no cover - only unit routes call this
            raise Forbidden("only a unit confirms its deliveries")

        def run(tx: Tx) -> dict[str, Any]:
            unit = self._unit_row(tx, who)
            last = tx.repo.events.last_seq_of(unit["id"])
            if through > last:
                raise Invalid(
                    [(field, f"{through} is past your last event ({last}); resume from {last}")],
                    location=location,
                )
            done: list[dict[str, Any]] = []
            if through > unit["confirmed_through"]:
                seen = {
                    (d["id"], d["version"])
                    for e in tx.repo.units.routed_events(
                        unit["id"], unit["confirmed_through"], through
                    )
                    if e["type"] == NOTICE_ROUTED.name
                    for d in [json.loads(e["data"])]
                }
                for nid, version in sorted(seen):
                    d = tx.repo.units.delivery(nid, version, unit["id"])
                    if d is not None and d["state"] == "pending" and not d["superseded"]:
                        self._mark_delivered(tx, d, "confirm")
                        done.append({"notice_id": nid, "version": version})
                tx.repo.units.update(unit["id"], confirmed_through=through)
            return {
                "confirmed_through": max(through, unit["confirmed_through"]),
                "delivered": done,
            }

        return await self.writer.run(run)

    async def confirm_request(self, who: Principal, body: Any) -> dict[str, Any]:
        """`POST /v1/unit/confirm` {"last_event_id": n}: the explicit confirmation."""
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        errs = [(k, "unknown field") for k in sorted(set(body) - {"last_event_id"})]
        through = body.get("last_event_id")
        if isinstance(through, bool) or not isinstance(through, int) or through < 0:
            errs.append(("last_event_id", "is required: the id of the last event you received"))
        if errs:
            raise Invalid(errs)
        return await self.confirm(who, int(through))  # type: ignore[arg-type]

    async def acknowledge(
        self, who: Principal, notice_id: str, body: Any, once: Once | None = None
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        wanted, comment = parse_ack_body(body, self.settings.max_message_chars)

        def run(tx: Tx) -> dict[str, Any]:
            unit = self._unit_row(tx, who)
            current = [
                d for d in tx.repo.units.current_of_unit(unit["id"]) if d["notice_id"] == notice_id
            ]
            if not current:
                raise NotFound(f"no notice {notice_id!r} is routed to you")
            d = current[0]
            if d["version"] != wanted:
                raise StaleVersion(
                    f"version {wanted} is not the one routed to you; acknowledge version "
                    f"{d['version']}",
                    current_version=d["version"],
                )
            if d["state"] == "acknowledged":
                if comment is None or comment == d["comment"]:
                    return delivery_view(d)
                raise StateConflict(
                    f"you acknowledged version {wanted} at {d['acknowledged_at']}; an "
                    "acknowledgement is recorded once and its comment is not replaced"
                )
            if d["state"] == "pending":
                self._mark_delivered(tx, d, "ack")
            changes = {"state": "acknowledged", "acknowledged_at": tx.ts, "comment": comment}
            if d["delivered_at"] is None:
                changes["delivered_at"] = tx.ts
            tx.repo.units.update_delivery(notice_id, wanted, unit["id"], **changes)
            self.ledger.log(
                tx,
                "unit_ack",
                party=d["party_id"],
                unit=d["unit_id"],
                notice_id=notice_id,
                version=wanted,
                **({"comment": comment} if comment else {}),
            )
            done = delivery_view({**d, **changes})
            tx.emit(d["party_id"], UNIT_ACKNOWLEDGED, done)
            return done

        return await self.writer.run(keyed(once, run))

    def _routed(self, who: Principal, notice_id: str | None) -> list[dict[str, Any]]:
        with self.store.read() as repo:
            found = [
                d
                for d in repo.units.current_of_unit(who.outbox)
                if notice_id is None or d["notice_id"] == notice_id
            ]
            notices = {r["id"]: r for r in repo.notices.get_many([d["notice_id"] for d in found])}
        out = []
        for d in found:
            row = notices.get(d["notice_id"])
            if row is None or row["version"] != d["version"]:
                continue
            out.append({**notice_view(row), "delivery": delivery_view(d)})
        return out

    async def unit_notices(self, who: Principal) -> dict[str, Any]:
        return {"notices": await asyncio.to_thread(self._routed, who, None)}

    async def unit_notice(self, who: Principal, notice_id: str) -> dict[str, Any]:
        found = await asyncio.to_thread(self._routed, who, notice_id)
        if not found:
            raise NotFound(f"no notice {notice_id!r} is routed to you")
        return found[0]

    async def whoami(self, who: Principal) -> dict[str, Any]:
        def read() -> Row:
            with self.store.read() as repo:
                row: Row | None = repo.units.get(who.outbox)
                return must(row)

        return unit_view(await asyncio.to_thread(read))

    async def poll(self, who: Principal, after: int, limit: int) -> dict[str, Any]:
        """A page of the unit's events after `after` (confirm the cursor first)."""
        page = await asyncio.to_thread(self.events.page, who, after, limit)
        return {"events": page, "last_id": page[-1]["id"] if page else after}

    def stream(self, who: Principal, after: int) -> AsyncGenerator[Page, None]:
        """The unit's live stream; it ends as soon as the unit is disabled or the token it
        was opened with is rotated."""

        async def pages() -> AsyncGenerator[Page, None]:
            async with aclosing(self.events.stream(who, after)) as found:
                async for page in found:
                    if not self.units.still_valid(who):
                        return
                    yield page

        return pages()

    # -- escalation (the sweep) ------------------------------------------------
    def escalate_due(self, tx: Tx) -> int:
        """Activities that began before a unit responsible for their area had them."""
        due = tx.repo.units.due(tx.ts)
        groups: dict[tuple[str, int, str], list[Row]] = {}
        for d in due:
            groups.setdefault((d["notice_id"], d["version"], d["party_id"]), []).append(d)
        for (nid, version, party), missed in groups.items():
            for d in missed:
                tx.repo.units.update_delivery(nid, version, d["unit_id"], missed_at=tx.ts)
                tx.emit(
                    party,
                    UNIT_DELIVERY_MISSED,
                    UnitDeliveryMissed(
                        notice_id=nid,
                        version=version,
                        unit=d["unit_id"],
                        starts_at=d["starts_at"],
                        state=d["state"],
                    ),
                )
            self.ledger.log(
                tx,
                "unit_delivery_missed",
                party=party,
                notice_id=nid,
                version=version,
                units=[d["unit_id"] for d in missed],
            )
            responsible = [
                d for d in tx.repo.units.current_of_notice(nid, party) if d["version"] == version
            ]
            reached = sum(d["state"] != "pending" for d in responsible)
            shared = sorted(
                d["unit_id"]
                for d in missed
                if (u := tx.repo.units.get(d["unit_id"])) is not None and u["share_with_issuers"]
            )
            summary = f"delivered to {reached} of {len(responsible)} units responsible for the area"
            issuer = missed[0]["issuer"]
            self.ledger.log(
                tx,
                "units_not_reached",
                issuer=issuer,
                party=party,
                notice_id=nid,
                version=version,
                units_responsible=len(responsible),
                units_delivered=reached,
                units=shared,
            )
            tx.emit(
                issuer,
                UNITS_NOT_REACHED,
                UnitsNotReached(
                    notice_id=nid,
                    version=version,
                    addressee=party,
                    units_responsible=len(responsible),
                    units_delivered=reached,
                    summary=summary,
                    units=shared,
                ),
            )
        return len(due)
