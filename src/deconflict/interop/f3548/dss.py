"""The DSS of ASTM F3548-21 strategic coordination, mapped onto the hub.

What F3548 owns stays here: references with versions, OVNs and states, the key
check, subscriptions and their notification indices, USS availability. What the
hub owns stays in the hub: each operational intent is a `uas_activity` notice
of the USS's party and each constraint a `protected_site` notice, so the same
engine screens them against every other party's notices and protected sites,
and the hub's parties see them in their conflicts and ledger (under the
disclosure rules). Every call into the hub goes through `hub_port`.

Writes are serialised by one lock: the key check, the hub notice and the DSS
rows of one change are never interleaved with another change's. The DSS tables
are written in their own transaction after the hub's; if that fails the notice
just written is cancelled again, so the two never disagree for long.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from uas_standards.astm.f3548.v21 import api

from deconflict.geo import Limits, Volume4D, format_utc, parse_volumes
from deconflict.interop.f3548 import hub_port
from deconflict.interop.f3548.errors import DssError
from deconflict.interop.f3548.geometry import (
    covers,
    hub_volumes,
    parse_area,
    parse_extents,
    parse_model,
)
from deconflict.interop.f3548.views import (
    reference_view,
    subscribers_view,
    subscription_view,
)
from deconflict.service import Hub, Invalid, QuotaExceeded, ServiceError, StateConflict
from deconflict.store import Row
from deconflict.store.repos import DssRepo
from deconflict.strategic import NoticeShape, StrategicIndex
from deconflict.utc import format_ts

__all__ = ["Dss", "notice_body", "party_id_for"]

OP, CONSTRAINT = "op", "constraint"
_KIND = {OP: "uas_activity", CONSTRAINT: "protected_site"}
_WHAT = {OP: "operational intent", CONSTRAINT: "constraint"}
OP_STATES = ("Accepted", "Activated", "Nonconforming", "Contingent")
# The states whose change must prove awareness of everything it intersects (the key).
_KEYED_STATES = ("Accepted", "Activated")
_TRANSITIONS = {
    "Accepted": {"Accepted", "Activated", "Nonconforming", "Contingent"},
    "Activated": {"Activated", "Nonconforming", "Contingent"},
    "Nonconforming": {"Activated", "Nonconforming", "Contingent"},
    "Contingent": {"Contingent"},
}
_OVN_RE = re.compile(r"^[A-Za-z0-9.\-_~]{16,128}$")
_SLUG_RE = re.compile(r"[^a-z0-9-]+")
_MAX_SUBSCRIPTION = timedelta(hours=24)  # DSSMaxSubscriptionDurationHours
_STORED = Limits(
    max_vertices=10**9, max_footprint_km=40_000.0, max_window_s=1e12, max_volumes=10**9
)


def party_id_for(sub: str) -> str:
    """The hub party of a USS: readable, and distinct for distinct `sub`s."""
    slug = _SLUG_RE.sub("-", sub.lower()).strip("-")[:40] or "uss"
    return f"uss-{slug}-{hashlib.sha256(sub.encode()).hexdigest()[:8]}"


def _entity_id(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value)) if len(value) == 36 else _bad_id(what)
    except ValueError:
        return _bad_id(what)


def _bad_id(what: str) -> str:
    raise DssError(400, f"the {what} id must be a UUID (8-4-4-4-12 hexadecimal digits)")


def _volumes_json(vols: Iterable[Volume4D]) -> str:
    return json.dumps([v.to_json() for v in vols])


def _shape(entity_id: str, manager: str, vols: tuple[Volume4D, ...]) -> NoticeShape:
    return NoticeShape(
        id=entity_id, issuer=manager, kind="uas_activity", volumes=vols, version=1, priority=0
    )


def notice_body(
    kind: str,
    party: str,
    entity_id: str,
    state: str | None,
    base_url: str,
    vols: tuple[Volume4D, ...],
) -> dict[str, Any]:
    """The hub notice mirroring a reference (``kind`` "op" or "constraint")."""
    what = _WHAT[kind]
    return {
        "kind": _KIND[kind],
        "title": f"F3548 {what} {entity_id}" + (f" ({state})" if state else ""),
        "remarks": f"ASTM F3548-21 {what} reference managed by {party}; details at {base_url}",
        "addressees": [hub_port.DSS_PARTY],
        # Under F3548 any USS may learn a reference's extent (the key check and area
        # queries on /dss/v1, the volumes from the managing USS); coarsening its mirror
        # would hide little, and a footprint grown to whole cells near a pole could not
        # be filed at all (README: what /dss/v1 discloses)
        "disclosure": "exact",
        "volumes": hub_volumes(vols),
    }


@dataclass
class _Memory:
    """What the DSS holds in memory: rows by key, and an index per kind of entity."""

    refs: dict[str, dict[str, Row]] = field(default_factory=lambda: {OP: {}, CONSTRAINT: {}})
    subs: dict[str, Row] = field(default_factory=dict)
    usss: dict[str, Row] = field(default_factory=dict)
    index: dict[str, StrategicIndex] = field(
        default_factory=lambda: {
            OP: StrategicIndex(),
            CONSTRAINT: StrategicIndex(),
            "sub": StrategicIndex(),
        }
    )
    vols: dict[tuple[str, str], tuple[Volume4D, ...]] = field(default_factory=dict)
    # subscription id -> the operational intents that depend on it
    deps: dict[str, set[str]] = field(default_factory=dict)

    def put(self, kind: str, row: Row, vols: tuple[Volume4D, ...]) -> None:
        if kind == "sub":
            self.subs[row["id"]] = row
        else:
            self._undepend(kind, row["id"])
            self.refs[kind][row["id"]] = row
            if row.get("subscription_id"):
                self.deps.setdefault(row["subscription_id"], set()).add(row["id"])
        self.vols[(kind, row["id"])] = vols
        self.index[kind].upsert(_shape(row["id"], row["manager"], vols))

    def _undepend(self, kind: str, entity_id: str) -> None:
        old = self.refs[kind].get(entity_id)
        if old is not None and old.get("subscription_id"):
            found = self.deps.get(old["subscription_id"], set())
            found.discard(entity_id)
            if not found:
                self.deps.pop(old["subscription_id"], None)

    def drop(self, kind: str, entity_id: str) -> None:
        if kind == "sub":
            self.subs.pop(entity_id, None)
        else:
            self._undepend(kind, entity_id)
            self.refs[kind].pop(entity_id, None)
        self.vols.pop((kind, entity_id), None)
        self.index[kind].remove(entity_id)

    def intersecting(self, kind: str, vols: tuple[Volume4D, ...], manager: str = "") -> list[str]:
        probe = _shape("query-" + secrets.token_hex(6), manager, vols)
        found = self.index[kind].query(probe, include_same_issuer=True, describe=False)
        return [c.b.id for c in found]

    def dependents(self, subscription_id: str) -> list[str]:
        return sorted(self.deps.get(subscription_id, ()))


class Dss:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.mem = _Memory()
        self._lock = asyncio.Lock()
        self._loaded = False

    # -- start-up --------------------------------------------------------------
    async def ready(self) -> None:
        if self._loaded:
            return
        async with self._lock:
            if not self._loaded:
                self.mem = await asyncio.to_thread(self._load)
                self._loaded = True

    def _load(self) -> _Memory:
        mem = _Memory()
        with hub_port.store_of(self.hub).read() as repo:
            usss, refs, subs = (
                repo.dss.all_usss(),
                repo.dss.all_references(),
                repo.dss.all_subscriptions(),
            )
        mem.usss = {u["sub"]: u for u in usss}
        for r in refs:
            mem.put(r["kind"], r, parse_volumes(json.loads(r["volumes"]), limits=_STORED))
        for s in subs:
            mem.put("sub", s, parse_volumes(json.loads(s["volumes"]), limits=_STORED))
        return mem

    def _now(self) -> datetime:
        return hub_port.now(self.hub)

    async def _write(self, fn: Any) -> Any:
        """The DSS's rows, as one change through the hub's one writer."""
        return await hub_port.write(self.hub, lambda tx: fn(tx.repo.dss, tx.ts))

    # -- USSs ------------------------------------------------------------------
    async def uss(self, sub: str) -> str:
        """The party of the USS ``sub``, registered with the hub on its first call."""
        await self.ready()
        known = self.mem.usss.get(sub)
        if known is None:
            async with self._lock:
                known = self.mem.usss.get(sub) or await self._register(sub)
        hub_port.check_rate(self.hub, known["party_id"])
        return str(known["party_id"])

    async def _register(self, sub: str) -> Row:
        party_id = party_id_for(sub)
        await hub_port.ensure_party(self.hub, party_id, f"USS {sub[:180]}")
        await hub_port.ensure_party(self.hub, hub_port.DSS_PARTY, "ASTM F3548 DSS directory")
        ts = format_ts(self._now())
        row = {
            "sub": sub,
            "party_id": party_id,
            "availability": "Unknown",
            "availability_version": "",
            "created_at": ts,
            "updated_at": ts,
        }
        await self._write(lambda dss, _ts: dss.insert_uss(row))
        self.mem.usss[sub] = row
        return row

    def availability(self, sub: str) -> str:
        row = self.mem.usss.get(sub)
        return str(row["availability"]) if row else "Unknown"

    def get_availability(self, uss_id: str) -> dict[str, Any]:
        row = self.mem.usss.get(uss_id)
        return {
            "status": {"uss": uss_id, "availability": row["availability"] if row else "Unknown"},
            "version": row["availability_version"] if row else "",
        }

    async def set_availability(self, uss_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise DssError(400, "the body must be a SetUssAvailabilityStatusParameters object")
        # InterUSS's own clients send the state in lower case ("normal").
        names = {s.value.lower(): s.value for s in api.UssAvailabilityState}
        state = names.get(str(body.get("availability", "")).lower())
        if state is None:
            raise DssError(400, f"availability must be one of {', '.join(names.values())}")
        old_version = body.get("old_version", "")
        await self.uss(uss_id)
        async with self._lock:
            row = self.mem.usss[uss_id]
            if old_version != row["availability_version"]:
                raise DssError(409, "old_version is not the current availability version")
            version = secrets.token_hex(10)

            def run(dss: DssRepo, ts: str) -> None:
                dss.update_uss(
                    uss_id, availability=state, availability_version=version, updated_at=ts
                )

            await self._write(run)
            self.mem.usss[uss_id] = {**row, "availability": state, "availability_version": version}
        return self.get_availability(uss_id)

    # -- references: reads -----------------------------------------------------
    def _view(self, row: Row, viewer: str) -> dict[str, Any]:
        return reference_view(row, viewer, self.availability(row["manager"]))

    async def get_reference(self, kind: str, sub: str, entity_id: str) -> dict[str, Any]:
        await self.uss(sub)
        entity_id = _entity_id(entity_id, _WHAT[kind])
        row = self.mem.refs[kind].get(entity_id)
        if row is None:
            raise DssError(404, f"no {_WHAT[kind]} reference {entity_id}")
        return self._view(row, sub)

    async def query_references(self, kind: str, sub: str, body: Any) -> list[dict[str, Any]]:
        await self.uss(sub)
        if not isinstance(body, dict):
            raise DssError(400, "the request body must be a JSON object with area_of_interest")
        area = parse_area(body.get("area_of_interest"), self._now())
        ids = self.mem.intersecting(kind, (area,))
        rows = [self.mem.refs[kind][i] for i in ids]
        return [self._view(r, sub) for r in sorted(rows, key=lambda r: r["id"])]

    # -- references: changes ---------------------------------------------------
    async def put_reference(
        self, kind: str, sub: str, entity_id: str, ovn: str | None, body: Any
    ) -> tuple[int, dict[str, Any]]:
        """Create (``ovn`` None) or update a reference; (HTTP status, response)."""
        party = await self.uss(sub)
        entity_id = _entity_id(entity_id, _WHAT[kind])
        now = self._now()
        if kind == OP:
            params: Any = parse_model(body, api.PutOperationalIntentReferenceParameters, "body")
        else:
            params = parse_model(body, api.PutConstraintReferenceParameters, "body")
        vols = parse_extents(body.get("extents"), now, checked=True)
        base_url = str(params.uss_base_url)
        if not base_url.startswith(("https://", "http://")):
            raise DssError(400, "uss_base_url must be an http(s) URL")
        state = body.get("state") if kind == OP else None
        if kind == OP and (not isinstance(state, str) or state not in OP_STATES):
            raise DssError(400, f"state must be one of {', '.join(OP_STATES)}")
        key = params.get("key") or []
        if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
            raise DssError(400, "key must be an array of OVNs")
        async with self._lock:
            old = self.mem.refs[kind].get(entity_id)
            self._check_change(kind, sub, entity_id, old, ovn, state)
            new_sub = self._subscription_plan(kind, sub, params, old, state) if kind == OP else None
            self._new_ovn(entity_id, params)  # refused before the hub is touched
            if state is None or state in _KEYED_STATES:
                self._key_check(sub, entity_id, kind, vols, set(key))
            notice_id, notice_version = await self._mirror(
                kind, party, entity_id, state, base_url, old, vols
            )
            try:
                return await self._store(
                    kind,
                    sub,
                    entity_id,
                    old,
                    params,
                    state,
                    vols,
                    base_url,
                    new_sub,
                    notice_id,
                    notice_version,
                )
            except BaseException:
                if old is None:
                    await hub_port.cancel(self.hub, party, notice_id)
                raise

    def _check_change(
        self,
        kind: str,
        sub: str,
        entity_id: str,
        old: Row | None,
        ovn: str | None,
        state: str | None,
    ) -> None:
        what = _WHAT[kind]
        if ovn is None:
            if old is not None:
                raise DssError(409, f"{what} {entity_id} already exists; update it at .../{{ovn}}")
            if kind == OP and state != "Accepted":
                raise DssError(400, f"a new operational intent must be Accepted, not {state}")
            return
        if old is None:
            raise DssError(404, f"no {what} reference {entity_id}")
        if old["manager"] != sub:
            raise DssError(403, f"{what} {entity_id} is managed by another USS")
        if ovn != old["ovn"]:
            raise DssError(409, f"{ovn!r} is not the current OVN of {what} {entity_id}")
        if kind == OP and state not in _TRANSITIONS[old["state"]]:
            raise DssError(400, f"an operational intent cannot go from {old['state']} to {state}")

    def _subscription_plan(
        self, kind: str, sub: str, params: Any, old: Row | None, state: str | None
    ) -> dict[str, Any] | None:
        """The implicit subscription to create, or None when an existing one is named."""
        sub_id, implicit = params.get("subscription_id"), params.get("new_subscription")
        if sub_id and implicit:
            raise DssError(400, "give subscription_id or new_subscription, not both")
        if sub_id:
            sub_id = _entity_id(str(sub_id), "subscription")
            found = self.mem.subs.get(sub_id)
            if found is None:
                raise DssError(400, f"no subscription {sub_id}")
            if found["manager"] != sub:
                raise DssError(403, f"subscription {sub_id} belongs to another USS")
            params["subscription_id"] = sub_id
            return None
        if implicit:
            url = str(implicit.get("uss_base_url", ""))
            if not url.startswith(("https://", "http://")):
                raise DssError(400, "new_subscription.uss_base_url must be an http(s) URL")
            return {
                "uss_base_url": url,
                "notify_for_constraints": bool(implicit.get("notify_for_constraints")),
            }
        if old is not None and old["subscription_id"]:
            return {"keep": old["subscription_id"]}
        if state in _KEYED_STATES:
            raise DssError(
                400, "an Accepted or Activated intent needs subscription_id or new_subscription"
            )
        return None

    def _key_check(
        self, sub: str, entity_id: str, kind: str, vols: tuple[Volume4D, ...], key: set[str]
    ) -> None:
        """F3548 awareness: the key must hold the OVN of every intersecting entity."""
        missing_ops = (
            [
                self.mem.refs[OP][i]
                for i in self.mem.intersecting(OP, vols)
                if i != entity_id and self.mem.refs[OP][i]["ovn"] not in key
            ]
            if kind == OP
            else []
        )
        missing_cs = (
            [
                self.mem.refs[CONSTRAINT][i]
                for i in self.mem.intersecting(CONSTRAINT, vols)
                if not (kind == CONSTRAINT and i == entity_id)
                and self.mem.refs[CONSTRAINT][i]["ovn"] not in key
            ]
            if kind == OP
            else []
        )
        if missing_ops or missing_cs:
            raise DssError(
                409,
                f"the key lacks the OVNs of {len(missing_ops)} operational intent(s) and "
                f"{len(missing_cs)} constraint(s) that intersect this one",
                missing_operational_intents=[self._view(r, sub) for r in missing_ops],
                missing_constraints=[self._view(r, sub) for r in missing_cs],
            )

    async def _mirror(
        self,
        kind: str,
        party: str,
        entity_id: str,
        state: str | None,
        base_url: str,
        old: Row | None,
        vols: tuple[Volume4D, ...],
    ) -> tuple[str, int]:
        """The hub notice of a reference, notified or amended."""
        body = notice_body(kind, party, entity_id, state, base_url, vols)
        try:
            if old is None:
                return await hub_port.notify(self.hub, party, body)
            return await hub_port.amend(
                self.hub, party, old["notice_id"], old["notice_version"], body
            )
        except Invalid as exc:
            problems = "; ".join(f"{p}: {m}" for p, m in exc.errors)
            raise DssError(400, f"the hub refused the volumes: {problems}") from exc
        except QuotaExceeded as exc:
            raise DssError(429, exc.detail) from exc
        except StateConflict as exc:
            raise DssError(409, exc.detail) from exc
        except ServiceError as exc:
            raise DssError(400, exc.detail) from exc

    def _notified(
        self, kind: str, vols: Iterable[tuple[Volume4D, ...]], now: datetime
    ) -> list[Row]:
        flag = "notify_for_operational_intents" if kind == OP else "notify_for_constraints"
        ids: set[str] = set()
        for v in vols:
            ids.update(self.mem.intersecting("sub", v))
        subs = [self.mem.subs[i] for i in sorted(ids)]
        return [s for s in subs if s[flag] and s["time_end"] >= format_ts(now)]

    async def _store(
        self,
        kind: str,
        sub: str,
        entity_id: str,
        old: Row | None,
        params: Any,
        state: str | None,
        vols: tuple[Volume4D, ...],
        base_url: str,
        new_sub: dict[str, Any] | None,
        notice_id: str,
        notice_version: int,
    ) -> tuple[int, dict[str, Any]]:
        now = self._now()
        ts = format_ts(now)
        ovn = self._new_ovn(entity_id, params)
        implicit_row: Row | None = None
        sub_id = params.get("subscription_id") if kind == OP else None
        if new_sub is not None and "keep" in new_sub:
            sub_id = new_sub["keep"]
            keep = self.mem.subs.get(sub_id)
            if keep is not None and keep["implicit"]:
                implicit_row = {
                    **keep,
                    "volumes": _volumes_json(vols),
                    **self._window(vols),
                    "updated_at": ts,
                }
        elif new_sub is not None:
            sub_id = str(uuid.uuid4())
            implicit_row = {
                "id": sub_id,
                "manager": sub,
                "version": secrets.token_hex(10),
                "notification_index": 0,
                "uss_base_url": new_sub["uss_base_url"],
                "notify_for_operational_intents": 1,
                "notify_for_constraints": int(new_sub["notify_for_constraints"]),
                "implicit": 1,
                **self._window(vols),
                "volumes": _volumes_json(vols),
                "created_at": ts,
                "updated_at": ts,
            }
        row: Row = {
            "kind": kind,
            "id": entity_id,
            "manager": sub,
            "version": 1 if old is None else old["version"] + 1,
            "ovn": ovn,
            "state": state,
            "uss_base_url": base_url,
            "subscription_id": sub_id,
            **self._window(vols),
            "volumes": _volumes_json(vols),
            "notice_id": notice_id,
            "notice_version": notice_version,
            "created_at": ts if old is None else old["created_at"],
            "updated_at": ts,
        }
        touched = [vols] if old is None else [vols, self.mem.vols[(kind, entity_id)]]
        to_notify = self._notified(kind, touched, now)
        if implicit_row is not None and implicit_row["id"] not in {s["id"] for s in to_notify}:
            to_notify.append(implicit_row)
        orphan = self._orphan(old, sub_id)
        to_notify = [s for s in to_notify if s["id"] != orphan]

        def run(dss: DssRepo, _ts: str) -> dict[str, int]:
            if implicit_row is not None:
                if implicit_row["id"] in self.mem.subs:
                    dss.update_subscription(implicit_row["id"], implicit_row)
                else:
                    dss.insert_subscription(implicit_row)
            if old is None:
                dss.insert_reference(row)
            else:
                dss.update_reference(kind, entity_id, row)
            if orphan:
                dss.delete_subscription(orphan)
            return dss.bump_notification_indices([s["id"] for s in to_notify])

        indices = await self._write(run)
        if implicit_row is not None:
            self._put_sub(
                {**implicit_row, "notification_index": indices.get(implicit_row["id"], 0)}
            )
        for s_id, n in indices.items():
            if s_id in self.mem.subs:
                self.mem.subs[s_id] = {**self.mem.subs[s_id], "notification_index": n}
        if orphan:
            self.mem.drop("sub", orphan)
        self.mem.put(kind, row, vols)
        out: dict[str, Any] = {
            "subscribers": subscribers_view(to_notify, indices),
            ("operational_intent_reference" if kind == OP else "constraint_reference"): self._view(
                row, sub
            ),
        }
        return (201 if old is None else 200), out

    @staticmethod
    def _new_ovn(entity_id: str, params: Any) -> str:
        suffix = params.get("requested_ovn_suffix")
        ovn = f"{entity_id}_{suffix}" if suffix else secrets.token_urlsafe(24)
        if not _OVN_RE.match(ovn):
            raise DssError(400, "requested_ovn_suffix makes an OVN F3548 does not allow")
        return ovn

    def _put_sub(self, row: Row) -> None:
        self.mem.put("sub", row, parse_volumes(json.loads(row["volumes"]), limits=_STORED))

    def _orphan(self, old: Row | None, new_sub_id: str | None) -> str | None:
        """An implicit subscription left without dependents by this change, to delete."""
        if old is None or not old.get("subscription_id") or old["subscription_id"] == new_sub_id:
            return None
        prev = self.mem.subs.get(old["subscription_id"])
        if prev is None or not prev["implicit"]:
            return None
        others = [d for d in self.mem.dependents(prev["id"]) if d != old["id"]]
        return None if others else str(prev["id"])

    @staticmethod
    def _window(vols: tuple[Volume4D, ...]) -> dict[str, str]:
        return {
            "time_start": format_ts(min(v.time_start for v in vols)),
            "time_end": format_ts(max(v.time_end for v in vols)),
        }

    async def delete_reference(
        self, kind: str, sub: str, entity_id: str, ovn: str
    ) -> dict[str, Any]:
        party = await self.uss(sub)
        entity_id = _entity_id(entity_id, _WHAT[kind])
        async with self._lock:
            old = self.mem.refs[kind].get(entity_id)
            if old is None:
                raise DssError(404, f"no {_WHAT[kind]} reference {entity_id}")
            if old["manager"] != sub:
                raise DssError(403, f"{_WHAT[kind]} {entity_id} is managed by another USS")
            if ovn != old["ovn"]:
                raise DssError(409, f"{ovn!r} is not the current OVN of {entity_id}")
            vols = self.mem.vols[(kind, entity_id)]
            to_notify = self._notified(kind, [vols], self._now())
            orphan = self._orphan(old, None)
            to_notify = [s for s in to_notify if s["id"] != orphan]

            def run(dss: DssRepo, _ts: str) -> dict[str, int]:
                dss.delete_reference(kind, entity_id)
                if orphan:
                    dss.delete_subscription(orphan)
                return dss.bump_notification_indices([s["id"] for s in to_notify])

            indices = await self._write(run)
            self.mem.drop(kind, entity_id)
            if orphan:
                self.mem.drop("sub", orphan)
            for s_id, n in indices.items():
                self.mem.subs[s_id] = {**self.mem.subs[s_id], "notification_index": n}
            await hub_port.cancel(self.hub, party, old["notice_id"])
        name = "operational_intent_reference" if kind == OP else "constraint_reference"
        return {"subscribers": subscribers_view(to_notify, indices), name: self._view(old, sub)}

    # -- subscriptions -----------------------------------------------------------
    def _own_sub(self, sub: str, subscription_id: str) -> Row:
        subscription_id = _entity_id(subscription_id, "subscription")
        row = self.mem.subs.get(subscription_id)
        if row is None:
            raise DssError(404, f"no subscription {subscription_id}")
        if row["manager"] != sub:
            raise DssError(403, f"subscription {subscription_id} belongs to another USS")
        return row

    def _sub_view(self, row: Row) -> dict[str, Any]:
        return subscription_view(row, self.mem.dependents(row["id"]))

    async def get_subscription(self, sub: str, subscription_id: str) -> dict[str, Any]:
        await self.uss(sub)
        return {"subscription": self._sub_view(self._own_sub(sub, subscription_id))}

    async def query_subscriptions(self, sub: str, body: Any) -> dict[str, Any]:
        await self.uss(sub)
        if not isinstance(body, dict):
            raise DssError(400, "the request body must be a JSON object with area_of_interest")
        area = parse_area(body.get("area_of_interest"), self._now())
        ids = self.mem.intersecting("sub", (area,))
        rows = [self.mem.subs[i] for i in ids if self.mem.subs[i]["manager"] == sub]
        return {"subscriptions": [self._sub_view(r) for r in sorted(rows, key=lambda r: r["id"])]}

    async def put_subscription(
        self, sub: str, subscription_id: str, version: str | None, body: Any, scopes: frozenset[str]
    ) -> dict[str, Any]:
        await self.uss(sub)
        subscription_id = _entity_id(subscription_id, "subscription")
        params = parse_model(body, api.PutSubscriptionParameters, "body")
        now = self._now()
        extents = body.get("extents")
        if not isinstance(extents, dict):
            raise DssError(400, "extents must be one Volume4D")
        extents = dict(extents)
        start = now if extents.get("time_start") is None else None
        if start is not None:
            extents["time_start"] = {"value": format_utc(now), "format": "RFC3339"}
        if extents.get("time_end") is None:
            extents["time_end"] = {
                "value": format_utc(now + _MAX_SUBSCRIPTION),
                "format": "RFC3339",
            }
        (vol,) = parse_extents([extents], now, checked=True)
        if vol.time_end - max(vol.time_start, now) > _MAX_SUBSCRIPTION + timedelta(seconds=1):
            raise DssError(400, "a subscription may last at most 24 hours")
        for_ops = bool(params.get("notify_for_operational_intents"))
        for_cs = bool(params.get("notify_for_constraints"))
        if not (for_ops or for_cs):
            raise DssError(
                400, "a subscription must notify for operational intents, constraints or both"
            )
        if for_ops and "utm.strategic_coordination" not in scopes:
            raise DssError(
                403, "notifications for operational intents need utm.strategic_coordination"
            )
        if for_cs and "utm.constraint_processing" not in scopes:
            raise DssError(403, "notifications for constraints need utm.constraint_processing")
        url = str(params.uss_base_url)
        if not url.startswith(("https://", "http://")):
            raise DssError(400, "uss_base_url must be an http(s) URL")
        async with self._lock:
            old = self.mem.subs.get(subscription_id)
            if version is None and old is not None:
                raise DssError(409, f"subscription {subscription_id} already exists")
            if version is not None:
                old = self._own_sub(sub, subscription_id)
                if version != old["version"]:
                    raise DssError(
                        409, f"{version!r} is not the current version of the subscription"
                    )
                dependents = self.mem.dependents(subscription_id)
                if dependents and not for_ops:
                    raise DssError(400, "operational intents depend on this subscription")
                for op_id in dependents:
                    if not covers(vol, self.mem.vols[(OP, op_id)], now):
                        raise DssError(
                            400, f"the subscription would no longer cover its intent {op_id}"
                        )
            ts = format_ts(now)
            row: Row = {
                "id": subscription_id,
                "manager": sub,
                "version": secrets.token_hex(10),
                "notification_index": old["notification_index"] if old else 0,
                "uss_base_url": url,
                "notify_for_operational_intents": int(for_ops),
                "notify_for_constraints": int(for_cs),
                "implicit": 0,  # a USS that manages it explicitly owns it from now on
                **self._window((vol,)),
                "volumes": _volumes_json((vol,)),
                "created_at": old["created_at"] if old else ts,
                "updated_at": ts,
            }

            def run(dss: DssRepo, _ts: str) -> None:
                if old is None:
                    dss.insert_subscription(row)
                else:
                    dss.update_subscription(subscription_id, row)

            await self._write(run)
            self.mem.put("sub", row, (vol,))
        out: dict[str, Any] = {"subscription": self._sub_view(row)}
        for kind, name, wanted in (
            (OP, "operational_intent_references", for_ops),
            (CONSTRAINT, "constraint_references", for_cs),
        ):
            if wanted:
                found = [self.mem.refs[kind][i] for i in self.mem.intersecting(kind, (vol,))]
                out[name] = [self._view(r, sub) for r in sorted(found, key=lambda r: r["id"])]
        return out

    async def delete_subscription(
        self, sub: str, subscription_id: str, version: str
    ) -> dict[str, Any]:
        await self.uss(sub)
        async with self._lock:
            row = self._own_sub(sub, subscription_id)
            if version != row["version"]:
                raise DssError(409, f"{version!r} is not the current version of the subscription")
            if self.mem.dependents(row["id"]):
                raise DssError(400, "operational intents still depend on this subscription")
            await self._write(lambda dss, _ts: dss.delete_subscription(row["id"]))
            self.mem.drop("sub", row["id"])
        return {"subscription": subscription_view(row, [])}
