"""Conflicts: opened, updated and resolved as notices change; read by the two issuers.

`reconcile` is what a new version does to the conflicts of its notice (inside the
notifying or amending change); `resolve_all` what a cancellation or expiry does. Each
transition is logged and announced to both issuers, each seeing what `conflict_view`
allows (the other notice in full only if it was addressed to them); each side's view is
logged in an entry of its own, which only that side reads (`_announce`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from deconflict.service.auth import Principal
from deconflict.service.errors import NotFound
from deconflict.service.event_types import (
    CONFLICT_OPENED,
    CONFLICT_RESOLVED,
    CONFLICT_UPDATED,
    EventType,
    View,
)
from deconflict.service.ids import new_id
from deconflict.service.ledger import Ledger
from deconflict.service.tx import Tx
from deconflict.service.views import conflict_view, level_of, sees_notice
from deconflict.store import Repo, Row, Store
from deconflict.strategic import Conflict, NoticeShape

__all__ = ["Conflicts", "conflict_row", "views_in", "views_of"]


def _detail(c: Conflict, *, flip: bool) -> dict[str, Any]:
    overlaps = []
    for p in c.volume_pairs:
        o = p.to_json()
        del o["volumes"]
        o["a_volume"], o["b_volume"] = (p.j, p.i) if flip else (p.i, p.j)
        overlaps.append(o)
    buffers = {
        "lateral_m": c.buffers.lateral_m,
        "vertical_m": c.buffers.vertical_m,
        "time_s": c.buffers.time_s,
    }
    return {"buffers": buffers, "min_distance_m": round(c.min_distance_m, 1), "overlaps": overlaps}


def conflict_row(
    conflict_id: str | None, shape: NoticeShape, c: Conflict, ts: str, *, state: str
) -> Row:
    """The stored form of a conflict between `shape` (side a) and `c.b` (side b)."""
    other = c.b
    return {
        "id": conflict_id,
        "notice_a": shape.id,
        "notice_b": other.id,
        "issuer_a": shape.issuer,
        "issuer_b": other.issuer,
        "version_a": shape.version,
        "version_b": other.version,
        "kind_a": shape.kind,
        "kind_b": other.kind,
        "state": state,
        "revision": 1 if conflict_id else 0,
        "detail": json.dumps(_detail(c, flip=False)),
        "resolution": None,
        "opened_at": ts,
        "updated_at": ts,
        "resolved_at": None,
    }


def views_of(who: Principal, found: list[Row], notices: dict[str, Row]) -> list[View]:
    """Conflict views from the notice rows at hand (no read-back)."""
    addressed = {nid: sees_notice(who, n) for nid, n in notices.items()}
    levels = {nid: level_of(n) for nid, n in notices.items()}
    return [conflict_view(r, who, addressed=addressed, levels=levels) for r in found]


def views_in(repo: Repo, who: Principal, found: list[Row]) -> list[View]:
    """Conflict views, with the notices involved read from `repo`."""
    ids = sorted({r[k] for r in found for k in ("notice_a", "notice_b")})
    return views_of(who, found, {n["id"]: n for n in repo.notices.get_many(ids)})


class Conflicts:
    def __init__(self, store: Store, ledger: Ledger) -> None:
        self.store = store
        self.ledger = ledger

    # -- inside a change -----------------------------------------------------
    def reconcile(
        self,
        tx: Tx,
        shape: NoticeShape,
        found: list[Conflict],
        notices: dict[str, Row],
        *,
        new_notice: bool = False,
    ) -> list[Row]:
        """Open, update or resolve the conflicts of `shape`; returns its open conflict rows.

        `notices` holds the rows at hand and is completed with the other notices involved.
        """
        existing = (
            {}
            if new_notice  # a notice stored in this very change has no conflicts yet
            else {
                (r["notice_b"] if r["notice_a"] == shape.id else r["notice_a"]): r
                for r in tx.repo.conflicts.open_of(shape.id)
            }
        )
        missing = sorted({c.b.id for c in found} | set(existing) - set(notices))
        notices.update((n["id"], n) for n in tx.repo.notices.get_many(missing))
        out: list[Row] = []
        for c in found:
            other = c.b
            prev = existing.pop(other.id, None)
            event: EventType[View]
            if prev is None:
                row = conflict_row(new_id("c"), shape, c, tx.ts, state="open")
                tx.repo.conflicts.insert(row)
                event = CONFLICT_OPENED
            else:
                flip = prev["notice_a"] != shape.id
                me, them = ("b", "a") if flip else ("a", "b")
                changes = {
                    f"version_{me}": shape.version,
                    f"kind_{me}": shape.kind,
                    f"version_{them}": other.version,
                    "detail": json.dumps(_detail(c, flip=flip)),
                    "revision": prev["revision"] + 1,
                    "updated_at": tx.ts,
                }
                tx.repo.conflicts.update(prev["id"], **changes)
                row = {**prev, **changes}
                event = CONFLICT_UPDATED
            out.append(row)
            self._announce(tx, row, event, notices)
        for prev in existing.values():
            self.resolve(tx, prev, "no_longer_conflicting", notices)
        return out

    def resolve_all(
        self,
        tx: Tx,
        notice_id: str,
        why: str,
        notices: dict[str, Row],
        *,
        version: int | None = None,
    ) -> None:
        """Resolve every open conflict of a notice (cancelled at `version`, or expired)."""
        for c in tx.repo.conflicts.open_of(notice_id):
            self.resolve(
                tx, c, why, notices, version_of=None if version is None else (notice_id, version)
            )

    def resolve(
        self,
        tx: Tx,
        row: Row,
        why: str,
        notices: dict[str, Row],
        *,
        version_of: tuple[str, int] | None = None,
    ) -> None:
        """Resolve a conflict; `version_of` names the version of a notice that resolved it."""
        changes: Row = {
            "state": "resolved",
            "resolution": why,
            "resolved_at": tx.ts,
            "updated_at": tx.ts,
            "revision": row["revision"] + 1,
        }
        if version_of is not None:
            side = "a" if row["notice_a"] == version_of[0] else "b"
            changes[f"version_{side}"] = version_of[1]
        tx.repo.conflicts.update(row["id"], **changes)
        self._announce(tx, {**row, **changes}, CONFLICT_RESOLVED, notices)

    def _announce(self, tx: Tx, row: Row, event: EventType[View], notices: dict[str, Row]) -> None:
        extra = {"resolution": row["resolution"]} if row.get("resolution") else {}
        seen: dict[str, tuple[dict[str, bool], dict[str, str]]] = {}
        for side in ("a", "b"):
            who = Principal(row[f"issuer_{side}"])
            addressed, levels = {}, {}
            for s in ("a", "b"):
                nid = row[f"notice_{s}"]
                n = notices.get(nid) or tx.repo.notices.get(nid)
                if n is not None:
                    notices[nid] = n
                    addressed[nid] = sees_notice(who, n)
                    levels[nid] = level_of(n)
            seen[side] = (addressed, levels)
        # One entry per side, recording exactly what that side was told (issue 12 on top of
        # issue 11): its own notice in full, the other as it was shown (coarse, existence,
        # or in full if addressed to it). Each is read only by its side (and the operator):
        # an entry naming both notices would make the other side's notice readable, and an
        # entry nobody could read would leave neither side able to prove it was told.
        for side in ("a", "b"):
            party = row[f"issuer_{side}"]
            addressed, levels = seen[side]
            view = conflict_view(row, Principal(party), addressed=addressed, levels=levels)
            shown = [[view["mine"]["notice"], view["mine"]["version"]]]
            if view["other"]["notice"] is not None:
                shown.append([view["other"]["notice"], view["other"]["version"]])
            index = self.ledger.log(
                tx,
                event.name,
                conflict_id=row["id"],
                party=party,
                readers=[party],
                notices=shown,
                revision=row["revision"],
                view=view,
                **extra,
            )
            told = {**view, "ledger_index": index if index >= 0 else None}
            tx.emit(party, event, told)

    # -- dry runs ------------------------------------------------------------
    def would_open(
        self, who: Principal, shape: NoticeShape, found: list[Conflict], ts: str
    ) -> list[View]:
        """The conflicts a notice not stored would have, as its issuer would see them."""
        rows = [conflict_row(None, shape, c, ts, state="would_open") for c in found]
        with self.store.read() as repo:
            views = views_in(repo, who, rows)
        for v in views:
            v["mine"]["notice"] = None
            v.pop("id")
        return views

    # -- reads ---------------------------------------------------------------
    async def listing(
        self,
        who: Principal,
        *,
        states: list[str] | None,
        notice_id: str | None = None,
        limit: int = 500,
    ) -> dict[str, Any]:
        def read() -> list[View]:
            with self.store.read() as repo:
                found = repo.conflicts.find(
                    party=None if who.is_admin else who.party_id,
                    states=states,
                    notice_id=notice_id,
                    limit=limit,
                )
                return views_in(repo, who, found)

        return {"conflicts": await asyncio.to_thread(read)}

    async def get(self, who: Principal, conflict_id: str) -> View:
        def read() -> View:
            with self.store.read() as repo:
                row = repo.conflicts.get(conflict_id)
                if row is None or not (
                    who.is_admin or who.party_id in (row["issuer_a"], row["issuer_b"])
                ):
                    raise NotFound(f"no conflict {conflict_id!r} is visible to you")
                return views_in(repo, who, [row])[0]

        return await asyncio.to_thread(read)
