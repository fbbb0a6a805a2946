"""What each party is shown: JSON views of stored rows, with the disclosure rules.

A notice is visible to its issuer, its addressees and the admin. A conflict is
visible to the two issuers; an issuer that is not an addressee of the other
notice learns only the overlap, the other issuer and the other notice's kind.
"""

from __future__ import annotations

import json
from typing import Any

from deconflict.service.auth import Principal
from deconflict.service.disclosure import EXACT, EXISTENCE, stored_disclosure
from deconflict.store import Repo, Row

__all__ = [
    "ack_view",
    "addressees_of",
    "conflict_view",
    "level_of",
    "message_view",
    "notice_view",
    "sees_message",
    "sees_notice",
]


def addressees_of(notice: Row) -> list[str]:
    value: list[str] = json.loads(notice["addressees"])
    return value


def sees_notice(who: Principal, notice: Row) -> bool:
    if who.is_admin or notice["issuer"] == who.party_id:
        return True
    addressees = addressees_of(notice)
    return "*" in addressees or who.party_id in addressees


def sees_message(repo: Repo, who: Principal, m: Row) -> bool:
    """Its sender, its recipients, the admin, and (issue 15) the relay of a recipient."""
    if who.is_admin or m["sender"] == who.party_id:
        return True
    if any(r["party_id"] == who.party_id for r in repo.messages.receipts([m["id"]])):
        return True
    return any(g["relay"] == who.party_id for g in repo.relays.message_legs([m["id"]]))


def ack_view(row: Row) -> dict[str, Any]:
    return {
        "notice_id": row["notice_id"],
        "version": row["version"],
        "issuer": row["issuer"],
        "addressee": row["addressee"],
        "state": row["state"],
        "deadline": row["deadline"],
        "overdue": row["overdue_at"] is not None and row["state"] != "acknowledged",
        "overdue_since": row["overdue_at"],
        "created_at": row["created_at"],
        "delivered_at": row["delivered_at"],
        "acknowledged_at": row["acknowledged_at"],
        "comment": row["comment"],
        "current": not row["superseded"],
    }


def notice_view(
    notice: Row, *, acks: list[Row] | None = None, volumes: bool = True
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": notice["id"],
        "version": notice["version"],
        "issuer": notice["issuer"],
        "kind": notice["kind"],
        "title": notice["title"],
        "remarks": notice["remarks"],
        "priority": notice["priority"],
        "addressees": addressees_of(notice),
        "ack_deadline": notice["ack_deadline"],
        "state": notice["state"],
        "created_at": notice["created_at"],
        "updated_at": notice["updated_at"],
        "ends_at": notice["expires_at"],
        "disclosure": stored_disclosure(notice.get("disclosure"), notice["kind"]).to_json(),
    }
    if volumes:
        view["volumes"] = json.loads(notice["volumes"])
    if acks is not None:
        view["acks"] = [ack_view(a) for a in acks]
    return view


def level_of(notice: Row) -> str:
    """The disclosure level of a stored notice (service/disclosure.py)."""
    return stored_disclosure(notice.get("disclosure"), notice["kind"]).level


def conflict_view(
    row: Row,
    who: Principal,
    *,
    addressed: dict[str, bool],
    levels: dict[str, str] | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The conflict as `who` may see it.

    `addressed[notice_id]` says whether `who` is an addressee (or the issuer) of
    that notice, i.e. may see its identity and full text. `levels[notice_id]` is
    that notice's disclosure level: towards a party it was not addressed to, an
    `existence` notice shows only the coarse window of each overlap. `detail` is the
    row's `detail` already parsed, for a caller viewing one row for both sides.
    """
    if detail is None:
        detail = json.loads(row["detail"])
    base: dict[str, Any] = {
        "id": row["id"],
        "state": row["state"],
        "revision": row["revision"],
        "opened_at": row["opened_at"],
        "updated_at": row["updated_at"],
        "resolved_at": row["resolved_at"],
        "resolution": row["resolution"],
    }
    if who.is_admin:
        base["notices"] = [row["notice_a"], row["notice_b"]]
        base["versions"] = [row["version_a"], row["version_b"]]
        base["issuers"] = [row["issuer_a"], row["issuer_b"]]
        base["kinds"] = [row["kind_a"], row["kind_b"]]
        base["volume_pairs"] = [[o["a_volume"], o["b_volume"]] for o in detail["overlaps"]]
        base["overlaps"] = [_overlap(o, flip=False, reveal=True) for o in detail["overlaps"]]
        return base
    mine_is_a = row["issuer_a"] == who.party_id
    me, other = ("a", "b") if mine_is_a else ("b", "a")
    other_id = row[f"notice_{other}"]
    reveal = addressed.get(other_id, False)
    base["mine"] = {
        "notice": row[f"notice_{me}"],
        "version": row[f"version_{me}"],
        "kind": row[f"kind_{me}"],
    }
    base["other"] = {
        "issuer": row[f"issuer_{other}"],
        "kind": row[f"kind_{other}"],
        "notice": other_id if reveal else None,
        "version": row[f"version_{other}"] if reveal else None,
        "addressed_to_you": reveal,
    }
    level = EXACT if reveal else (levels or {}).get(other_id, EXACT)
    base["other"]["disclosure"] = level
    if reveal:
        base["notices"] = [row[f"notice_{me}"], other_id]
    if level == EXISTENCE:
        # which of one's own volumes meets it would locate it again, volume by volume
        base["overlaps"] = [{"time_window": o["time_window"]} for o in detail["overlaps"]]
        return base
    base["overlaps"] = [_overlap(o, flip=not mine_is_a, reveal=reveal) for o in detail["overlaps"]]
    return base


def _overlap(o: dict[str, Any], *, flip: bool, reveal: bool) -> dict[str, Any]:
    mine, theirs = (o["b_volume"], o["a_volume"]) if flip else (o["a_volume"], o["b_volume"])
    out = {k: v for k, v in o.items() if k not in ("a_volume", "b_volume")}
    out["your_volume"] = mine
    if reveal:
        out["other_volume"] = theirs
    return out


def message_view(row: Row, receipts: list[Row], who: Principal) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row["id"],
        "from": row["sender"],
        "to": [r["party_id"] for r in receipts],
        "priority": row["priority"],
        "subject": row["subject"],
        "body": row["body"],
        "ref": {"type": row["ref_type"], "id": row["ref_id"]} if row["ref_type"] else None,
        "created_at": row["created_at"],
    }
    if who.is_admin or row["sender"] == who.party_id:
        view["receipts"] = [
            {"party": r["party_id"], "delivered_at": r["delivered_at"], "read_at": r["read_at"]}
            for r in receipts
        ]
    else:
        mine = next((r for r in receipts if r["party_id"] == who.party_id), None)
        if mine is not None:
            view["delivered_at"] = mine["delivered_at"]
            view["read_at"] = mine["read_at"]
    return view
