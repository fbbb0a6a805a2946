"""Notices: notify, amend, cancel, expire, read (audited), and the conflicts they raise."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from deconflict.ledger import statements
from deconflict.service.auth import Principal
from deconflict.service.core import PROTECTED_SITE_PRIORITY, Tx
from deconflict.service.documents import NoticeDoc, parse_notice
from deconflict.service.errors import (
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    StaleVersion,
    StateConflict,
)
from deconflict.service.ids import new_id
from deconflict.service.ledger import LedgerOps, SignedRequest
from deconflict.service.parsers import ParsedVolumes
from deconflict.service.views import (
    ack_view,
    addressees_of,
    conflict_view,
    notice_view,
    sees_notice,
)
from deconflict.store import Repo, Row, format_ts
from deconflict.strategic import Conflict, NoticeShape

__all__ = ["NoticeOps"]

_CONTENT_KEYS = ("kind", "title", "remarks", "priority", "addressees", "volumes")


def _notice_row(notice: Row, content: Row, *, version: int, version_created_at: str) -> Row:
    """A notice as `Repo.get_notice` returns it, from the rows just written (no read-back)."""
    row = {k: v for k, v in notice.items() if k != "current_version"}
    row.update(content)
    row["version"] = version
    row["version_created_at"] = version_created_at
    return row


def _entry_content(content: Row) -> Row:
    """A version's stored content as its ledger entry carries it (JSON decoded)."""
    out = {k: content[k] for k in ("kind", "title", "remarks", "priority")}
    out["addressees"] = json.loads(content["addressees"])
    out["volumes"] = json.loads(content["volumes"])
    if content.get("ack_deadline"):
        out["ack_deadline"] = content["ack_deadline"]
    return out


def _conflict_detail(c: Conflict, *, flip: bool) -> dict[str, Any]:
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


class NoticeOps(LedgerOps):
    # -- helpers -------------------------------------------------------------
    def _visible_notice(self, repo: Repo, who: Principal, notice_id: str) -> Row:
        row = repo.get_notice(notice_id)
        if row is None or not sees_notice(who, row):
            raise NotFound(f"no notice {notice_id!r} is visible to you")
        return row

    def _own_notice(self, repo: Repo, who: Principal, notice_id: str) -> Row:
        row = self._visible_notice(repo, who, notice_id)
        if row["issuer"] != who.party_id:
            raise Forbidden("only the issuer changes a notice")
        return row

    def _expand(self, addressees: tuple[str, ...] | list[str], issuer: str) -> list[str]:
        """The parties a notice goes to; inside a change, those registered in its batch too."""
        if "*" in addressees:
            return sorted(p for p in self._party_ids_in_tx() if p != issuer)
        return sorted(addressees)

    def _addressed_map(self, repo: Repo, who: Principal, rows: list[Row]) -> dict[str, bool]:
        ids = {r[k] for r in rows for k in ("notice_a", "notice_b")}
        return {n["id"]: sees_notice(who, n) for n in repo.get_notices(sorted(ids))}

    def _conflict_views(self, repo: Repo, who: Principal, rows: list[Row]) -> list[dict[str, Any]]:
        addressed = self._addressed_map(repo, who, rows)
        return [conflict_view(r, who, addressed=addressed) for r in rows]

    @staticmethod
    def _conflict_views_of(
        who: Principal, rows: list[Row], notices: dict[str, Row]
    ) -> list[dict[str, Any]]:
        """Conflict views from notice rows already at hand (no read-back)."""
        addressed = {nid: sees_notice(who, n) for nid, n in notices.items()}
        return [conflict_view(r, who, addressed=addressed) for r in rows]

    def _parse(
        self, who: Principal, doc: Any, *, amendment: bool, parsed: ParsedVolumes | None
    ) -> NoticeDoc:
        return parse_notice(
            doc,
            settings=self.settings,
            known_parties=self._parties,
            issuer=who.party_id,
            amendment=amendment,
            parsed=parsed,
        )

    def _shape(self, notice_id: str, who: Principal, doc: NoticeDoc, version: int) -> NoticeShape:
        priority = PROTECTED_SITE_PRIORITY if doc.kind == "protected_site" else doc.priority
        return NoticeShape(
            id=notice_id,
            issuer=who.party_id,
            kind=doc.kind,
            volumes=doc.volumes,
            version=version,
            priority=priority,
        )

    @staticmethod
    def _content(doc: NoticeDoc) -> Row:
        """The stored text of a version, as in `notice_versions`."""
        return {
            "kind": doc.kind,
            "title": doc.title,
            "remarks": doc.remarks,
            "priority": doc.priority,
            "addressees": json.dumps(list(doc.addressees)),
            "volumes": json.dumps([v.to_json() for v in doc.volumes]),
            "ack_deadline": format_ts(doc.ack_deadline) if doc.ack_deadline else None,
        }

    def _store_version(
        self,
        tx: Tx,
        notice_id: str,
        issuer: str,
        content: Row,
        version: int,
        recipients: list[str],
        *,
        state: str = "active",
        new_notice: bool = False,
        signed: dict[str, Any] | None = None,
    ) -> list[Row]:
        """Store (and log) one version, its recipients and its pending acks; returns the acks."""
        self._log(
            tx,
            "notice_version",
            notice_id=notice_id,
            version=version,
            issuer=issuer,
            state=state,
            content=_entry_content(content),
            **(signed or {}),
        )
        tx.repo.insert_version(
            {
                "notice_id": notice_id,
                "version": version,
                **content,
                "created_at": tx.ts,
                "state": state,
            }
        )
        if new_notice:
            tx.repo.add_recipients(notice_id, recipients)
        else:
            tx.repo.set_recipients(notice_id, recipients)
        ack_rows = [
            {
                "notice_id": notice_id,
                "version": version,
                "addressee": p,
                "issuer": issuer,
                "state": "pending",
                "deadline": content["ack_deadline"],
                "created_at": tx.ts,
                "delivered_at": None,
                "acknowledged_at": None,
                "comment": None,
                "overdue_at": None,
                "superseded": 0,
            }
            for p in recipients
        ]
        tx.repo.insert_acks(ack_rows)
        return ack_rows

    @staticmethod
    def _future_deadline(tx: Tx, deadline: str | None) -> str | None:
        """A deadline carried over to a later obligation, unless it has already passed."""
        return deadline if deadline is not None and deadline > tx.ts else None

    def _check_window(self, tx: Tx, doc: NoticeDoc) -> str:
        ends = max(v.time_end for v in doc.volumes)
        if ends <= tx.now:
            raise Invalid([("volumes", "every volume has already ended; nothing to notify")])
        return format_ts(ends)

    def _reconcile(
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
                for r in tx.repo.open_conflicts_of(shape.id)
            }
        )
        missing = sorted({c.b.id for c in found} | set(existing) - set(notices))
        notices.update((n["id"], n) for n in tx.repo.get_notices(missing))
        rows: list[Row] = []
        for c in found:
            other = c.b
            prev = existing.pop(other.id, None)
            if prev is None:
                row = {
                    "id": new_id("c"),
                    "notice_a": shape.id,
                    "notice_b": other.id,
                    "issuer_a": shape.issuer,
                    "issuer_b": other.issuer,
                    "version_a": shape.version,
                    "version_b": other.version,
                    "kind_a": shape.kind,
                    "kind_b": other.kind,
                    "state": "open",
                    "revision": 1,
                    "detail": json.dumps(_conflict_detail(c, flip=False)),
                    "resolution": None,
                    "opened_at": tx.ts,
                    "updated_at": tx.ts,
                    "resolved_at": None,
                }
                tx.repo.insert_conflict(row)
                event = "conflict_opened"
            else:
                flip = prev["notice_a"] != shape.id
                me, them = ("b", "a") if flip else ("a", "b")
                changes = {
                    f"version_{me}": shape.version,
                    f"kind_{me}": shape.kind,
                    f"version_{them}": other.version,
                    "detail": json.dumps(_conflict_detail(c, flip=flip)),
                    "revision": prev["revision"] + 1,
                    "updated_at": tx.ts,
                }
                tx.repo.update_conflict(prev["id"], **changes)
                row = {**prev, **changes}
                event = "conflict_updated"
            rows.append(row)
            self._announce_conflict(tx, row, event, notices)
        for prev in existing.values():
            self._resolve(tx, prev, "no_longer_conflicting", notices)
        return rows

    def _resolve(
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
        tx.repo.update_conflict(row["id"], **changes)
        self._announce_conflict(tx, {**row, **changes}, "conflict_resolved", notices)

    def _announce_conflict(self, tx: Tx, row: Row, event: str, notices: dict[str, Row]) -> None:
        extra = {"resolution": row["resolution"]} if row.get("resolution") else {}
        self._log(
            tx,
            event,
            conflict_id=row["id"],
            notices=[[row["notice_a"], row["version_a"]], [row["notice_b"], row["version_b"]]],
            issuers=[row["issuer_a"], row["issuer_b"]],
            revision=row["revision"],
            **extra,
        )
        for side in ("a", "b"):
            party = row[f"issuer_{side}"]
            who = Principal(party)
            addressed = {}
            for s in ("a", "b"):
                nid = row[f"notice_{s}"]
                n = notices.get(nid) or tx.repo.get_notice(nid)
                if n is not None:
                    notices[nid] = n
                    addressed[nid] = sees_notice(who, n)
            tx.emit(party, event, conflict_view(row, who, addressed=addressed))

    def _on_party_registered(self, tx: Tx, party_id: str) -> None:
        """A new party is an addressee of every active notice addressed to every party.

        It gets each such notice's current version as if it had been addressed then: a
        pending acknowledgement (with the notice's deadline, unless that has passed) and
        a `notice_received` event, in the registration's own transaction.
        """
        super()._on_party_registered(tx, party_id)  # logs the registration
        rows = tx.repo.active_broadcast_notices()
        if not rows:
            return
        tx.repo.add_recipient_to(party_id, [r["id"] for r in rows])
        tx.repo.insert_acks(
            [
                {
                    "notice_id": r["id"],
                    "version": r["version"],
                    "addressee": party_id,
                    "issuer": r["issuer"],
                    "state": "pending",
                    "deadline": self._future_deadline(tx, r["ack_deadline"]),
                    "created_at": tx.ts,
                    "superseded": 0,
                }
                for r in rows
            ]
        )
        for r in rows:
            tx.emit(party_id, "notice_received", notice_view(r))

    # -- use cases -----------------------------------------------------------
    def notify(
        self, who: Principal, body: Any, parsed: ParsedVolumes | None = None
    ) -> dict[str, Any]:
        return self._write(self.notify_change(who, body, parsed))

    def notify_change(
        self, who: Principal, body: Any, parsed: ParsedVolumes | None = None
    ) -> Callable[[Tx], dict[str, Any]]:
        """Validate a new notice; the change that stores it (for `_write`/`write_async`).

        ``parsed``: its volumes, if already validated (`VolumeParsers`).
        """
        self.require_party(who, "notify")
        body, signed_req = self.take_signature(body, nonce=True)
        doc = self._parse(who, body, amendment=False, parsed=parsed)
        notice_id = new_id("n")
        shape = self._shape(notice_id, who, doc, 1)
        content = self._content(doc)
        broadcast = int("*" in doc.addressees)

        def run(tx: Tx) -> dict[str, Any]:
            signed = self._check_signed(
                tx,
                who,
                statements.notify_statement(who.party_id, signed_req.nonce or "", body),
                signed_req,
            )
            limit = self.settings.max_active_notices_per_party
            if self.active_count(who.party_id) >= limit:
                raise QuotaExceeded(
                    f"{who.party_id} already has {limit} active notices (the limit); "
                    "cancel some first"
                )
            expires = self._check_window(tx, doc)
            notice = {
                "id": notice_id,
                "issuer": who.party_id,
                "current_version": 1,
                "state": "active",
                "broadcast": broadcast,
                "expires_at": expires,
                "created_at": tx.ts,
                "updated_at": tx.ts,
            }
            tx.repo.insert_notice(notice)
            recipients = self._expand(doc.addressees, who.party_id)
            ack_rows = self._store_version(
                tx, notice_id, who.party_id, content, 1, recipients, new_notice=True, signed=signed
            )
            row = _notice_row(notice, content, version=1, version_created_at=tx.ts)
            view = notice_view(row)
            tx.emit_to(recipients, "notice_received", view)
            notices = {notice_id: row}
            found = self.index.query(shape)
            conflicts = self._reconcile(tx, shape, found, notices, new_notice=True)
            self._index_put(tx, shape)  # the next change of this batch is checked against it
            return {
                **view,
                "acks": [ack_view(a) for a in ack_rows],
                "conflicts": self._conflict_views_of(who, conflicts, notices),
            }

        return run

    def amend(
        self, who: Principal, notice_id: str, body: Any, parsed: ParsedVolumes | None = None
    ) -> dict[str, Any]:
        self.require_party(who, "amend notices")
        with self.store.read() as repo:  # who may amend comes before what is wrong with it
            self._own_notice(repo, who, notice_id)
        body, signed_req = self.take_signature(body)
        doc = self._parse(who, body, amendment=True, parsed=parsed)
        content = self._content(doc)

        def run(tx: Tx) -> dict[str, Any]:
            old = self._own_notice(tx.repo, who, notice_id)
            signed = self._check_signed(
                tx,
                who,
                statements.amend_statement(who.party_id, notice_id, doc.version or 0, body),
                signed_req,
            )
            if old["state"] != "active":
                raise StateConflict(f"notice {notice_id} is {old['state']}; notify a new one")
            if doc.version != old["version"]:
                raise StaleVersion(
                    f"you are amending version {doc.version} but the current version is "
                    f"{old['version']}; fetch it and amend that",
                    current_version=old["version"],
                )
            version = old["version"] + 1
            shape = self._shape(notice_id, who, doc, version)
            expires = self._check_window(tx, doc)
            tx.repo.supersede_acks(notice_id)
            recipients = self._expand(doc.addressees, who.party_id)
            ack_rows = self._store_version(
                tx, notice_id, who.party_id, content, version, recipients, signed=signed
            )
            changes = {
                "current_version": version,
                "broadcast": int("*" in doc.addressees),
                "expires_at": expires,
                "updated_at": tx.ts,
            }
            tx.repo.update_notice(notice_id, **changes)
            row = {
                **old,
                **changes,
                **content,
                "version": version,
                "version_created_at": tx.ts,
            }
            del row["current_version"]
            before = set(self._expand(addressees_of(old), who.party_id))
            view = notice_view(row)
            tx.emit_to([p for p in recipients if p in before], "notice_updated", view)
            tx.emit_to([p for p in recipients if p not in before], "notice_received", view)
            tx.emit_to(
                sorted(before - set(recipients)),
                "notice_withdrawn",
                {"id": notice_id, "issuer": who.party_id, "version": version},
            )
            notices = {notice_id: row}
            conflicts = self._reconcile(tx, shape, self.index.query(shape), notices)
            self._index_put(tx, shape)
            return {
                **view,
                "acks": [ack_view(a) for a in ack_rows],
                "conflicts": self._conflict_views_of(who, conflicts, notices),
            }

        return self._write(run)

    def cancel(
        self,
        who: Principal,
        notice_id: str,
        version: int | None = None,
        signature: str | None = None,
    ) -> dict[str, Any]:
        """Cancel: a new version (state `cancelled`) that the addressees acknowledge.

        The acknowledgements of the cancelling version are the issuer's proof that the
        cancellation reached each addressee; its conflicts are resolved at once.
        """
        self.require_party(who, "cancel notices")

        def run(tx: Tx) -> dict[str, Any]:
            row = self._own_notice(tx.repo, who, notice_id)
            if row["state"] != "active":
                raise StateConflict(f"notice {notice_id} is already {row['state']}")
            if version is not None and version != row["version"]:
                raise StaleVersion(
                    f"the current version is {row['version']}, not {version}",
                    current_version=row["version"],
                )
            signed = self._check_signed(
                tx,
                who,
                statements.cancel_statement(who.party_id, notice_id, row["version"]),
                SignedRequest(signature),
            )
            new_version = row["version"] + 1
            content = {k: row[k] for k in _CONTENT_KEYS}
            content["ack_deadline"] = self._future_deadline(tx, row["ack_deadline"])
            tx.repo.supersede_acks(notice_id)
            recipients = self._expand(addressees_of(row), row["issuer"])
            ack_rows = self._store_version(
                tx,
                notice_id,
                row["issuer"],
                content,
                new_version,
                recipients,
                state="cancelled",
                signed=signed,
            )
            changes = {"state": "cancelled", "current_version": new_version, "updated_at": tx.ts}
            tx.repo.update_notice(notice_id, **changes)
            done = {
                **row,
                **content,
                "state": "cancelled",
                "version": new_version,
                "updated_at": tx.ts,
                "version_created_at": tx.ts,
            }
            tx.emit_to(
                recipients,
                "notice_cancelled",
                {
                    "id": notice_id,
                    "issuer": row["issuer"],
                    "version": new_version,
                    "cancelled_version": row["version"],
                    "kind": row["kind"],
                    "title": row["title"],
                    "state": "cancelled",
                    "ack_deadline": content["ack_deadline"],
                },
            )
            notices = {notice_id: done}
            for c in tx.repo.open_conflicts_of(notice_id):
                self._resolve(tx, c, "cancelled", notices, version_of=(notice_id, new_version))
            self._index_drop(tx, notice_id)
            return notice_view(done, acks=ack_rows)

        return self._write(run)

    def _expire(self, tx: Tx, row: Row) -> None:
        """Every volume has ended: no more acks due, conflicts resolved, out of the index."""
        notice_id = row["id"]
        tx.repo.update_notice(notice_id, state="expired", updated_at=tx.ts)
        self._log(
            tx, "notice_expired", notice_id=notice_id, version=row["version"], issuer=row["issuer"]
        )
        tx.repo.supersede_acks(notice_id)
        targets = [row["issuer"], *self._expand(addressees_of(row), row["issuer"])]
        payload = {
            "id": notice_id,
            "issuer": row["issuer"],
            "version": row["version"],
            "kind": row["kind"],
            "title": row["title"],
            "state": "expired",
        }
        tx.emit_to(targets, "notice_expired", payload)
        notices = {notice_id: {**row, "state": "expired"}}
        for c in tx.repo.open_conflicts_of(notice_id):
            self._resolve(tx, c, "expired", notices)
        self._index_drop(tx, notice_id)

    def expire_due(self, tx: Tx) -> int:
        ids = tx.repo.expired_notice_ids(tx.ts)
        for row in tx.repo.get_notices(ids):
            self._expire(tx, row)
        return len(ids)

    def check(
        self, who: Principal, body: Any, parsed: ParsedVolumes | None = None
    ) -> dict[str, Any]:
        """The conflicts a notice would have now; stores nothing and tells no one."""
        self.require_party(who, "notify")
        body, _ = self.take_signature(body, nonce=True)
        doc = self._parse(who, body, amendment=False, parsed=parsed)
        shape = self._shape("check-" + secrets.token_hex(6), who, doc, 1)
        with self._lock:
            found = self.index.query(shape)
        ts = format_ts(self.now())
        rows = [
            {
                "id": None,
                "notice_a": shape.id,
                "notice_b": c.b.id,
                "issuer_a": who.party_id,
                "issuer_b": c.b.issuer,
                "version_a": 1,
                "version_b": c.b.version,
                "kind_a": doc.kind,
                "kind_b": c.b.kind,
                "state": "would_open",
                "revision": 0,
                "detail": json.dumps(_conflict_detail(c, flip=False)),
                "resolution": None,
                "opened_at": ts,
                "updated_at": ts,
                "resolved_at": None,
            }
            for c in found
        ]
        with self.store.read() as repo:
            views = self._conflict_views(repo, who, rows)
        for v in views:
            v["mine"]["notice"] = None
            v.pop("id")
        return {"conflicts": views, "checked_against": len(self.index)}

    # -- reads (audited) -----------------------------------------------------
    def _audit(self, who: Principal, rows: list[Row], via: str) -> None:
        """Record coordinate reads by non-issuers; a read by an addressee is a delivery."""
        foreign = [r for r in rows if r["issuer"] != who.party_id]
        if not foreign:
            return

        def run(tx: Tx) -> None:
            tx.repo.record_reads(
                [
                    {
                        "notice_id": r["id"],
                        "version": r["version"],
                        "party_id": who.party_id,
                        "via": via,
                        "read_at": tx.ts,
                    }
                    for r in foreign
                ]
            )
            if not who.is_admin:
                self._mark_delivered(
                    tx, who.party_id, [(r["id"], r["version"]) for r in foreign], via=via
                )

        self._write(run)

    def _mark_delivered(
        self, tx: Tx, party: str, versions: list[tuple[str, int]], via: str = "stream"
    ) -> None:
        """`party` was handed these notice versions: their pending acks become delivered."""
        keys = sorted({(n, v, party) for n, v in versions})
        due = [
            a for a in tx.repo.acks_by_key(keys) if a["state"] == "pending" and not a["superseded"]
        ]
        if not due:
            return
        due.sort(key=lambda a: (a["notice_id"], a["version"]))
        tx.repo.mark_delivered([(a["notice_id"], a["version"], party) for a in due], tx.ts)
        for a in due:
            self._log(
                tx,
                "delivery",
                notice_id=a["notice_id"],
                version=a["version"],
                party=party,
                issuer=a["issuer"],
                via=via,
            )
            tx.emit(
                a["issuer"],
                "ack_delivered",
                {
                    "notice_id": a["notice_id"],
                    "version": a["version"],
                    "addressee": party,
                    "delivered_at": tx.ts,
                },
            )

    def get_notice(self, who: Principal, notice_id: str) -> dict[str, Any]:
        with self.store.read() as repo:
            row = self._visible_notice(repo, who, notice_id)
        self._audit(who, [row], "get")
        with self.store.read() as repo:
            row = self._visible_notice(repo, who, notice_id)
            if who.is_admin or row["issuer"] == who.party_id:
                acks = repo.acks_of_version(notice_id, row["version"])
            else:
                mine = repo.get_ack(notice_id, row["version"], who.party_id)
                acks = [mine] if mine else []
            view = notice_view(row, acks=acks)
            open_rows = repo.open_conflicts_of(notice_id)
            if who.is_admin or row["issuer"] == who.party_id:
                view["conflicts"] = self._conflict_views(repo, who, open_rows)
        return view

    def list_notices(
        self,
        who: Principal,
        *,
        states: list[str] | None,
        issuer: str | None,
        limit: int,
        after: str | None,
    ) -> dict[str, Any]:
        with self.store.read() as repo:
            rows = repo.list_notices(
                visible_to=None if who.is_admin else who.party_id,
                states=states,
                issuer=issuer,
                limit=limit,
                after_id=after,
            )
        self._audit(who, rows, "list")
        return {
            "notices": [notice_view(r) for r in rows],
            "next_after": rows[-1]["id"] if len(rows) == limit else None,
        }

    def notice_reads(self, who: Principal, notice_id: str) -> dict[str, Any]:
        with self.store.read() as repo:
            row = self._visible_notice(repo, who, notice_id)
            if not who.is_admin and row["issuer"] != who.party_id:
                raise Forbidden("only the issuer sees who read a notice")
            reads = repo.reads_of(notice_id)
        return {
            "reads": [
                {
                    "party": r["party_id"],
                    "version": r["version"],
                    "read_at": r["read_at"],
                    "via": r["via"],
                }
                for r in reads
            ]
        }

    # -- conflicts -----------------------------------------------------------
    def list_conflicts(
        self,
        who: Principal,
        *,
        states: list[str] | None,
        notice_id: str | None = None,
        limit: int = 500,
    ) -> dict[str, Any]:
        with self.store.read() as repo:
            rows = repo.list_conflicts(
                party=None if who.is_admin else who.party_id,
                states=states,
                notice_id=notice_id,
                limit=limit,
            )
            return {"conflicts": self._conflict_views(repo, who, rows)}

    def get_conflict(self, who: Principal, conflict_id: str) -> dict[str, Any]:
        with self.store.read() as repo:
            row = repo.get_conflict(conflict_id)
            if row is None or not (
                who.is_admin or who.party_id in (row["issuer_a"], row["issuer_b"])
            ):
                raise NotFound(f"no conflict {conflict_id!r} is visible to you")
            return self._conflict_views(repo, who, [row])[0]
