"""At start-up: do the hub's tables say what its log says?

An operator who edits the SQLite file while the hub is stopped (a title, a coordinate, a
comment, an acknowledgement that was never made) leaves the log as it was: the parties'
`ledger verify` finds the difference, but the hub should not serve it in the meantime. So
`Hub.start` holds every notice, acknowledgement and message in the tables to the log
(`deconflict.ledger.served`, as the operator sees them: every party at once), and every
conflict as each of its two sides is shown it to that side's entry, and refuses to
start, saying what differs, unless told to start anyway
(``ledger_start_despite_mismatch``, ``deconflict serve --start-despite-ledger-mismatch``).
Starting anyway is itself logged: a public `hub_started_despite_mismatch` entry with the
number of differences (not what they are: they may concern parties other than the reader).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from deconflict.config import Settings
from deconflict.ledger.served import (
    CONFLICT_TYPES,
    ServedViews,
    compare_conflict_sides,
    compare_served,
)
from deconflict.service.auth import Principal
from deconflict.service.views import (
    ack_view,
    conflict_view,
    level_of,
    message_view,
    notice_view,
    sees_notice,
)
from deconflict.store import Repo
from deconflict.store.factory import open_store

__all__ = ["PARALLEL_MIN_CONFLICTS", "LedgerMismatchError", "table_problems"]

log = logging.getLogger(__name__)

_OPERATOR = Principal("", is_admin=True)
_SHOWN = 10  # differences named in the refusal (all are logged)
# Conflicts from which their half of the check runs in a second process: below, the
# ~3 s that process spends importing the hub is more than it saves.
PARALLEL_MIN_CONFLICTS = 5000


class LedgerMismatchError(RuntimeError):
    """The tables and the log disagree; the hub will not serve the tables' version."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n  ".join(problems[:_SHOWN])
        more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        super().__init__(
            f"the hub's tables disagree with its ledger in {len(problems)} place(s): they were "
            f"changed behind the log, which the parties' `ledger verify` will report:\n  "
            f"{shown}{more}\nRestore the database from a copy that agrees with the log; to "
            "start anyway (logged in the ledger for every party to see), set "
            "DECONFLICT_LEDGER_START_DESPITE_MISMATCH=1 or pass "
            "--start-despite-ledger-mismatch"
        )


def table_problems(repo: Repo, settings: Settings | None = None) -> list[str]:
    """Every difference between the tables and the log (empty: they agree).

    Linear in the log, on one core, most of it parsing entries: ~30 s at 100k notices
    and 40k conflicts. Given the `settings` to open the store with, and from
    `PARALLEL_MIN_CONFLICTS` conflicts, the conflicts' half (their entries, their two
    sides' views) runs in a second process meanwhile, in a read of its own. The log's
    `type` column decides which process parses an entry, so each entry is parsed by one
    of them and held to its own type there: a column edited to hide an entry from one
    half is itself a difference.
    """
    pool = elsewhere = None
    if settings is not None and repo.crosscheck.count_conflicts() >= PARALLEL_MIN_CONFLICTS:
        # spawn, not fork: the hub may already run threads
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        elsewhere = pool.submit(_conflicts_apart, settings)
    try:
        size = repo.ledger.size()
        problems: list[str] = []
        entries = _entries(repo, size, CONFLICT_TYPES if elsewhere else (), False, problems)
        _served(repo, size, entries, problems)
        if elsewhere is None:
            _conflict_sides(repo, size, entries, problems)
            return problems
        try:
            problems += elsewhere.result()
        except BrokenProcessPool:  # e.g. an embedding script without a __main__ guard
            log.warning("the start-up check's second process failed; checking in this one")
            _conflict_sides(
                repo, size, _entries(repo, size, CONFLICT_TYPES, True, problems), problems
            )
        return problems
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _conflicts_apart(settings: Settings) -> list[str]:
    """The conflicts' half of `table_problems`, in a process of its own."""
    store = open_store(settings)
    try:
        with store.read() as repo:
            size = repo.ledger.size()
            problems: list[str] = []
            entries = _entries(repo, size, CONFLICT_TYPES, True, problems)
            _conflict_sides(repo, size, entries, problems)
            return problems
    finally:
        store.close()


def _entries(
    repo: Repo, size: int, types: tuple[str, ...], of: bool, problems: list[str]
) -> dict[int, dict[str, Any]]:
    """The log's entries below `size` whose type column is (`of`) or is not in `types`,
    parsed, each held to the type it says it is."""
    out: dict[int, dict[str, Any]] = {}
    for batch in repo.crosscheck.entries(size, types, of=of):
        for idx, column, raw in batch:
            entry = json.loads(raw)
            out[idx] = entry
            if entry.get("type") != column:
                problems.append(
                    f"log entry {idx}: its type column says {column!r}, the entry itself "
                    f"{entry.get('type')!r}: the log's table was edited"
                )
    return out


def _served(repo: Repo, size: int, entries: dict[int, dict[str, Any]], problems: list[str]) -> None:
    """Notices, acknowledgements and messages, as the operator sees them."""
    views = ServedViews(size)
    after: str | None = None
    while True:
        found = repo.notices.find(visible_to=None, states=None, limit=5000, after_id=after)
        views.notices += [notice_view(r) for r in found]
        if len(found) < 5000:
            break
        after = str(found[-1]["id"])
    views.acks = [ack_view(r) for r in repo.acks.find(include_superseded=True, limit=10**9)]
    for batch in repo.crosscheck.messages():
        receipts: dict[str, list[Any]] = {}
        for r in repo.messages.receipts([m["id"] for m in batch]):
            receipts.setdefault(str(r["message_id"]), []).append(r)
        views.messages += [message_view(m, receipts.get(m["id"], []), _OPERATOR) for m in batch]
    compare_served(views, entries, None, problems)


def _conflict_sides(
    repo: Repo, size: int, entries: dict[int, dict[str, Any]], problems: list[str]
) -> None:
    """Every conflict as each of its two sides is shown it."""
    sides: list[tuple[str, dict[str, Any]]] = []
    for batch in repo.crosscheck.conflicts():
        ids = sorted({r[k] for r in batch for k in ("notice_a", "notice_b")})
        notices = {n["id"]: n for n in repo.notices.get_many(ids)}
        levels = {nid: level_of(n) for nid, n in notices.items()}
        for row in batch:
            # the row's own two notices only (given the whole batch's, every row parsed
            # every notice of its batch: hours at 40k conflicts), its detail parsed once
            pair = [notices[k] for k in (row["notice_a"], row["notice_b"]) if k in notices]
            detail = json.loads(row["detail"])
            for side in ("a", "b"):
                who = Principal(str(row[f"issuer_{side}"]))
                addressed = {n["id"]: sees_notice(who, n) for n in pair}
                view = conflict_view(row, who, addressed=addressed, levels=levels, detail=detail)
                sides.append((who.party_id, view))
    compare_conflict_sides(sides, entries, problems, size=size)
