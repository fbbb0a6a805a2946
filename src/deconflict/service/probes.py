"""Probes: a party touching another's notice by asking rather than by notifying.

A dry run that conflicts with a notice the prober is not an addressee of is a probe of
it, and so is a notice of the prober's that is cancelled or amended away within
`Settings.probe_window_s` of conflicting with one. The issuer gets a `notice_probed`
event (who, when, what the prober was shown) and lists them (`listing`). Each
(prober, issuer) pair has a daily budget of probing dry runs: past it the hub still
answers, since safety comes first, but about that issuer's notices at `existence`
level only, and says so to both.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from deconflict.config import Settings
from deconflict.service.auth import Principal
from deconflict.service.event_types import NOTICE_PROBED, NoticeProbed, View
from deconflict.service.tx import Tx
from deconflict.service.views import conflict_view, level_of, sees_notice
from deconflict.service.writer import Writer
from deconflict.store import Row, Store
from deconflict.utc import format_ts, parse_ts

__all__ = ["Probes", "existence_only"]

# What of an overlap the probed issuer is told: where and when the prober touched it.
_SHOWN = ("time_window", "altitude_band", "region")


def _told(overlaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: o[k] for k in _SHOWN if k in o} for o in overlaps]


def existence_only(view: View) -> View:
    """A conflict view cut down to the `existence` level (a prober past its budget)."""
    view["overlaps"] = [{"time_window": o.get("time_window")} for o in view["overlaps"]]
    view["other"]["disclosure"] = "existence"
    view["other"]["probe_budget_exceeded"] = True
    return view


class Probes:
    def __init__(
        self, settings: Settings, writer: Writer, store: Store, clock: Callable[[], datetime]
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.clock = clock

    # -- dry runs --------------------------------------------------------------
    async def checked(self, who: Principal, probed: list[tuple[str, int, str, View]]) -> set[str]:
        """Record the probes of one dry run: (notice id, version, issuer, view) each.

        Returns the issuers whose budget the prober had already spent today: their
        notices are to be answered at `existence` level.
        """
        if not probed:
            return set()
        run_id = secrets.token_hex(8)

        def run(tx: Tx) -> set[str]:
            day = format_ts(tx.now.replace(hour=0, minute=0, second=0, microsecond=0))
            budget = self.settings.probe_budget_per_day
            over = {
                issuer
                for issuer in {p[2] for p in probed}
                if tx.repo.probes.count_since(who.party_id, issuer, day) >= budget
            }
            rows = []
            for notice_id, version, issuer, view in probed:
                overlaps = _told(view["overlaps"])
                if issuer in over:
                    overlaps = [{"time_window": o.get("time_window")} for o in overlaps]
                rows.append(
                    self._emit(
                        tx,
                        who.party_id,
                        notice_id,
                        version,
                        issuer,
                        "check",
                        issuer in over,
                        overlaps,
                        run_id,
                    )
                )
            tx.repo.probes.record(rows)
            return over

        return await self.writer.run(run)

    # -- notices withdrawn soon after conflicting --------------------------------
    def withdrawn(
        self, tx: Tx, prober: str, conflicts: list[Row], notices: dict[str, Row], via: str
    ) -> None:
        """Inside a change: `prober`'s notice no longer has these conflicts (cancelled or
        amended away); those opened within the probe window were probes."""
        window = self.settings.probe_window_s
        run_id = secrets.token_hex(8)
        rows = []
        who = Principal(prober)
        for c in conflicts:
            if (tx.now - parse_ts(c["opened_at"])).total_seconds() > window:
                continue
            side = "b" if c["issuer_a"] == prober else "a"
            other_id = c[f"notice_{side}"]
            other = notices.get(other_id) or tx.repo.notices.get(other_id)
            if other is None or other["issuer"] == prober or sees_notice(who, other):
                continue
            view = conflict_view(
                c, who, addressed={other_id: False}, levels={other_id: level_of(other)}
            )
            rows.append(
                self._emit(
                    tx,
                    prober,
                    other_id,
                    c[f"version_{side}"],
                    other["issuer"],
                    via,
                    False,
                    _told(view["overlaps"]),
                    run_id,
                )
            )
        tx.repo.probes.record(rows)

    @staticmethod
    def _emit(
        tx: Tx,
        prober: str,
        notice_id: str,
        version: int,
        issuer: str,
        via: str,
        over: bool,
        overlaps: list[dict[str, Any]],
        run_id: str,
    ) -> Row:
        tx.emit(
            issuer,
            NOTICE_PROBED,
            NoticeProbed(
                notice=notice_id,
                version=version,
                by=prober,
                at=tx.ts,
                via=via,
                over_budget=over,
                overlaps=overlaps,
            ),
        )
        return {
            "notice_id": notice_id,
            "version": version,
            "issuer": issuer,
            "prober": prober,
            "via": via,
            "run": run_id,
            "over_budget": int(over),
            "overlap": json.dumps(overlaps),
            "at": tx.ts,
        }

    # -- reads -----------------------------------------------------------------
    async def listing(self, who: Principal, *, limit: int, after: int) -> dict[str, Any]:
        """The probes of `who`'s notices (the admin: every probe), oldest first."""

        def read() -> list[Row]:
            with self.store.read() as repo:
                return repo.probes.of_issuer(
                    None if who.is_admin else who.party_id, limit=limit, after=after
                )

        found = await asyncio.to_thread(read)
        return {
            "probes": [
                {
                    "id": r["id"],
                    "notice": r["notice_id"],
                    "version": r["version"],
                    "by": r["prober"],
                    "at": r["at"],
                    "via": r["via"],
                    "over_budget": bool(r["over_budget"]),
                    "overlaps": json.loads(r["overlap"]),
                    **({"issuer": r["issuer"]} if who.is_admin else {}),
                }
                for r in found
            ],
            "next_after": found[-1]["id"] if len(found) == limit else None,
        }
