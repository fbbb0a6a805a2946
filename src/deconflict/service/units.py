"""Units (issue 15): a party's sub-accounts, with their own tokens, areas and kinds.

A party creates its units (``party/name``: 64 characters at most, in its own namespace),
each with its own token, an area of responsibility (a footprint, validated as a volume's
is) and the notice kinds it cares about; it lists, changes and disables them. A disabled
unit's token stops working as soon as the change is committed (the directory is cached in
memory, replaced and never mutated, like the parties'). What is routed to a unit, and
what it confirms, is `UnitDeliveries`' (`unit_deliveries.py`).

A unit's token works only on `/v1/unit/...`: `Hub.authenticate`, which every other
endpoint uses, refuses it, so a unit reads what is routed to it and nothing else of its
party, and cannot act as its party.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from deconflict.config import Settings
from deconflict.geo import ErrorCollector, Footprint, Limits, parse_footprint
from deconflict.service.auth import Principal, hash_token, new_token, split_token, tokens_equal
from deconflict.service.errors import Invalid, NotFound, QuotaExceeded, StateConflict, Unauthorized
from deconflict.service.ledger import Ledger
from deconflict.service.tx import Tx, must
from deconflict.service.unit_views import delivery_view, not_a_unit, unit_view
from deconflict.service.writer import Writer
from deconflict.store import Row, Store
from deconflict.strategic import KINDS

__all__ = ["MAX_UNITS_PER_PARTY", "UNIT_ID_RE", "Units"]

UNIT_ID_RE = re.compile(r"^([a-z0-9][a-z0-9-]{0,63})/([a-z0-9][a-z0-9-]{0,63})$")
MAX_UNIT_ID = 64  # it is stored where party ids are (the outbox)
MAX_UNITS_PER_PARTY = 500
_CREATE_FIELDS = frozenset({"id", "name", "area", "kinds", "share_with_issuers"})
_UPDATE_FIELDS = _CREATE_FIELDS - {"id"}


class Units:
    def __init__(
        self,
        settings: Settings,
        *,
        writer: Writer,
        store: Store,
        ledger: Ledger,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.ledger = ledger
        self.limits = Limits(max_vertices=settings.max_vertices).footprint
        self._units: dict[str, Row] = {}  # committed, by id (replaced, never mutated)
        self._keys: dict[str, str] = {}  # token key id -> unit id
        self._areas: dict[str, Footprint] = {}
        self._staged: dict[str, tuple[Row, Footprint]] = {}  # changed in the running batch
        writer.after_batch.append(self._staged.clear)
        # Called in the change that sets a unit's area or kinds, with (tx, its row, its
        # area); each returns the ids of the notices it routed to the unit.
        self.on_area_set: list[Callable[[Tx, Row, Footprint], list[str]]] = []

    def load(self, repo: Any) -> None:
        found = repo.units.all()
        self._units = {u["id"]: u for u in found}
        self._keys = {u["token_key_id"]: u["id"] for u in found}
        self._areas = {u["id"]: self._parse_stored(u) for u in found}

    def _parse_stored(self, row: Row) -> Footprint:
        area = json.loads(row["area"])
        errors = ErrorCollector()
        fp = parse_footprint(area["geometry"], area.get("radius_m"), "area", self.limits, errors)
        if fp is None:  # pragma: no cover - it was validated when stored
            raise RuntimeError(f"stored area of unit {row['id']} no longer parses")
        return fp

    # -- principals ------------------------------------------------------------
    def _by_token(self, token: str) -> Row | None:
        key_id = split_token(token)
        unit_id = self._keys.get(key_id) if key_id else None
        row = self._units.get(unit_id) if unit_id else None
        if row is None or not tokens_equal(token, row["token_hash"]):
            return None
        return row

    def owns_token(self, token: str) -> bool:
        """Whether `token` is a unit's (active or not): for a clearer refusal elsewhere."""
        return self._by_token(token) is not None

    def authenticate(self, token: str) -> Principal:
        row = self._by_token(token)
        if row is None:
            raise Unauthorized("unknown unit token")
        if row["state"] != "active":
            raise Unauthorized("this unit was disabled by its party")
        return Principal(row["party_id"], unit=row["id"], token_key=row["token_key_id"])

    def still_valid(self, who: Principal) -> bool:
        """Whether a unit's principal still stands: the unit active, its token not rotated."""
        row = self._units.get(who.unit) if who.unit else None
        return (
            row is not None
            and row["state"] == "active"
            and (who.token_key is None or row["token_key_id"] == who.token_key)
        )

    def active_by_party(self, parties: Iterable[str]) -> dict[str, list[tuple[Row, Footprint]]]:
        """The active units of these parties as a change sees them (its batch included).

        A party with units that are all disabled is listed with none: its units may still
        have deliveries to supersede. Parties that never had a unit are not listed.
        """
        wanted = set(parties)
        merged: dict[str, tuple[Row, Footprint]] = {
            uid: (u, self._areas[uid]) for uid, u in self._units.items() if u["party_id"] in wanted
        }
        for uid, (u, fp) in self._staged.items():
            if u["party_id"] in wanted:
                merged[uid] = (u, fp)
        out: dict[str, list[tuple[Row, Footprint]]] = {}
        for uid in sorted(merged):
            u, fp = merged[uid]
            units = out.setdefault(u["party_id"], [])
            if u["state"] == "active":
                units.append((u, fp))
        return out

    def _stage(self, tx: Tx, row: Row, fp: Footprint) -> None:
        uid = row["id"]
        previous = self._staged.get(uid)
        self._staged[uid] = (row, fp)

        def unstage() -> None:
            if previous is None:
                self._staged.pop(uid, None)
            else:
                self._staged[uid] = previous

        tx.on_undo(unstage)
        tx.changed("unit", uid)  # issue 14: the other processes reload their directory

        def cache() -> None:
            self._units = {**self._units, uid: row}
            keys = {k: u for k, u in self._keys.items() if u != uid}  # a rotated token's gone
            self._keys = {**keys, row["token_key_id"]: uid}
            self._areas = {**self._areas, uid: fp}

        tx.after_commit.append(cache)

    # -- validation ------------------------------------------------------------
    def _parse(
        self, who: Principal, body: Any, *, creating: bool
    ) -> tuple[dict[str, Any], Footprint | None]:
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        allowed = _CREATE_FIELDS if creating else _UPDATE_FIELDS
        errs = [(k, "unknown field") for k in sorted(set(body) - allowed)]
        out: dict[str, Any] = {}
        if creating:
            unit_id = body.get("id")
            m = UNIT_ID_RE.match(unit_id) if isinstance(unit_id, str) else None
            if m is None:
                errs.append(("id", f"must be {who.party_id}/<name>, the name [a-z0-9][a-z0-9-]*"))
            elif m.group(1) != who.party_id:
                errs.append(
                    ("id", f"must be in your namespace: {who.party_id}/<name>, not {m.group(1)}/")
                )
            elif len(str(unit_id)) > MAX_UNIT_ID:
                errs.append(("id", f"must be at most {MAX_UNIT_ID} characters in all"))
            else:
                out["id"] = str(unit_id)
        if "name" in body or creating:
            name = body.get("name", out.get("id", ""))
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                errs.append(("name", "must be a non-empty string of at most 200 characters"))
            else:
                out["name"] = name
        fp: Footprint | None = None
        if "area" in body or creating:
            area = body.get("area")
            if not isinstance(area, dict):
                errs.append(
                    (
                        "area",
                        'is required: {"geometry": GeoJSON Polygon/Point/LineString, '
                        '"radius_m": r}',
                    )
                )
            else:
                errs += [
                    (f"area.{k}", "unknown field")
                    for k in sorted(set(area) - {"geometry", "radius_m"})
                ]
                collector = ErrorCollector()
                fp = parse_footprint(
                    area.get("geometry"), area.get("radius_m"), "area", self.limits, collector
                )
                errs += [(e.path, e.message) for e in collector.errors]
                if fp is not None and not collector:
                    out["area"] = {"geometry": fp.to_geojson(), "radius_m": fp.radius_m}
        if "kinds" in body or creating:
            kinds = body.get("kinds", list(KINDS))
            if (
                not isinstance(kinds, list)
                or not kinds
                or not all(isinstance(k, str) for k in kinds)
            ):
                errs.append(("kinds", f"must be a non-empty list of: {', '.join(KINDS)}"))
            else:
                bad = [k for k in kinds if k not in KINDS]
                errs += [
                    (f"kinds[{kinds.index(k)}]", f"unknown kind {k!r}: one of {', '.join(KINDS)}")
                    for k in bad
                ]
                out["kinds"] = sorted(set(kinds))
        if "share_with_issuers" in body or creating:
            share = body.get("share_with_issuers", False)
            if not isinstance(share, bool):
                errs.append(("share_with_issuers", "must be true or false"))
            else:
                out["share_with_issuers"] = share
        if errs:
            raise Invalid(errs)
        return out, fp

    # -- the party's use cases -------------------------------------------------
    async def create(self, who: Principal, body: Any) -> dict[str, Any]:
        not_a_unit(who, "create units")
        doc, fp = self._parse(who, body, creating=True)
        area = must(fp)
        key_id, token = new_token()

        def run(tx: Tx) -> dict[str, Any]:
            uid = doc["id"]
            if tx.repo.units.get(uid) is not None or uid in self._staged:
                raise StateConflict(f"unit {uid!r} already exists")
            if len(tx.repo.units.of_party(who.party_id)) >= MAX_UNITS_PER_PARTY:
                raise QuotaExceeded(f"a party may have at most {MAX_UNITS_PER_PARTY} units")
            row = {
                "id": uid,
                "party_id": who.party_id,
                "name": doc["name"],
                "token_key_id": key_id,
                "token_hash": hash_token(token),
                "area": json.dumps(doc["area"]),
                "kinds": json.dumps(doc["kinds"]),
                "share_with_issuers": int(doc["share_with_issuers"]),
                "state": "active",
                "confirmed_through": 0,
                "created_at": tx.ts,
                "updated_at": tx.ts,
            }
            tx.repo.units.insert(row)
            self.ledger.log(
                tx,
                "unit_created",
                party=who.party_id,
                unit=uid,
                name=doc["name"],
                area=doc["area"],
                kinds=doc["kinds"],
                share_with_issuers=doc["share_with_issuers"],
            )
            self._stage(tx, row, area)
            routed = [n for on_area in self.on_area_set for n in on_area(tx, row, area)]
            return {**unit_view(row), "token": token, "routed": routed}

        return await self.writer.run(run)

    def _own_unit(self, repo: Any, who: Principal, unit_id: str) -> Row:
        row: Row | None = repo.units.get(unit_id)
        if row is None or row["party_id"] != who.party_id:
            raise NotFound(f"you have no unit {unit_id!r}")
        return row

    async def listing(self, who: Principal) -> dict[str, Any]:
        not_a_unit(who, "list units")

        def read() -> list[Row]:
            with self.store.read() as repo:
                found: list[Row] = repo.units.of_party(who.party_id)
                return found

        return {"units": [unit_view(u) for u in await asyncio.to_thread(read)]}

    async def get(self, who: Principal, unit_id: str) -> dict[str, Any]:
        not_a_unit(who, "read units")

        def read() -> dict[str, Any]:
            with self.store.read() as repo:
                row = self._own_unit(repo, who, unit_id)
                view = unit_view(row)
                view["deliveries"] = [delivery_view(d) for d in repo.units.current_of_unit(unit_id)]
                return view

        return await asyncio.to_thread(read)

    async def update(self, who: Principal, unit_id: str, body: Any) -> dict[str, Any]:
        not_a_unit(who, "change units")
        await asyncio.to_thread(self._read_own, who, unit_id)  # who may, before what is wrong
        doc, fp = self._parse(who, body, creating=False)
        if not doc:
            raise Invalid(
                [("", f"nothing to change: give any of {', '.join(sorted(_UPDATE_FIELDS))}")]
            )

        def run(tx: Tx) -> dict[str, Any]:
            old = self._own_unit(tx.repo, who, unit_id)
            if old["state"] != "active":
                raise StateConflict(f"unit {unit_id} is disabled; create a new one")
            changes: dict[str, Any] = {"updated_at": tx.ts}
            if "name" in doc:
                changes["name"] = doc["name"]
            if "area" in doc:
                changes["area"] = json.dumps(doc["area"])
            if "kinds" in doc:
                changes["kinds"] = json.dumps(doc["kinds"])
            if "share_with_issuers" in doc:
                changes["share_with_issuers"] = int(doc["share_with_issuers"])
            tx.repo.units.update(unit_id, **changes)
            row = {**old, **changes}
            self.ledger.log(
                tx,
                "unit_updated",
                party=who.party_id,
                unit=unit_id,
                **{k: v for k, v in doc.items()},
            )
            area = fp if fp is not None else self._area_of(unit_id)
            self._stage(tx, row, area)
            routed = (
                [n for on_area in self.on_area_set for n in on_area(tx, row, area)]
                if ("area" in doc or "kinds" in doc)
                else []
            )
            return {**unit_view(row), "routed": routed}

        return await self.writer.run(run)

    def _area_of(self, unit_id: str) -> Footprint:
        """A unit's area as the running batch sees it (committed, or staged in this batch)."""
        return self._areas.get(unit_id) or self._staged[unit_id][1]

    def _read_own(self, who: Principal, unit_id: str) -> Row:
        with self.store.read() as repo:
            return self._own_unit(repo, who, unit_id)

    async def rotate_token(self, who: Principal, unit_id: str) -> dict[str, Any]:
        """A new token for a unit (one lost, or seen by someone it should not be): the old one
        stops working when the change commits; the unit's deliveries and cursor are kept."""
        not_a_unit(who, "rotate a unit's token")
        key_id, token = new_token()

        def run(tx: Tx) -> dict[str, Any]:
            old = self._own_unit(tx.repo, who, unit_id)
            if old["state"] != "active":
                raise StateConflict(f"unit {unit_id} is disabled; create a new one")
            changes = {"token_key_id": key_id, "token_hash": hash_token(token), "updated_at": tx.ts}
            tx.repo.units.update(unit_id, **changes)
            row = {**old, **changes}
            # that it happened and when, so the party can show from when the old token was dead
            self.ledger.log(tx, "unit_token_rotated", party=who.party_id, unit=unit_id)
            self._stage(tx, row, self._area_of(unit_id))
            return {**unit_view(row), "token": token}

        return await self.writer.run(run)

    async def disable(self, who: Principal, unit_id: str) -> dict[str, Any]:
        """Disable a unit: its token stops working, its pending deliveries stop counting."""
        not_a_unit(who, "disable units")

        def run(tx: Tx) -> dict[str, Any]:
            old = self._own_unit(tx.repo, who, unit_id)
            if old["state"] == "disabled":
                return unit_view(old)
            tx.repo.units.update(unit_id, state="disabled", updated_at=tx.ts)
            tx.repo.units.supersede_unit(unit_id)
            row = {**old, "state": "disabled", "updated_at": tx.ts}
            self.ledger.log(tx, "unit_disabled", party=who.party_id, unit=unit_id)
            self._stage(tx, row, self._area_of(unit_id))
            return unit_view(row)

        return await self.writer.run(run)
