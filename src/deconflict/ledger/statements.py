"""What a party signs: the statements behind notices, amendments, cancellations and acks.

A statement is a small JSON object whose canonical bytes (RFC 8785) the party
signs with its Ed25519 key; the hub stores and logs it verbatim with the
signature, so it can later prove the party said it, and cannot forge it.

The hub rebuilds the statement from the request as received and checks the
signature over it, so the request carries only ``signature`` (and ``nonce``
for a new notice). Each statement names exactly what it applies to, so a
signature cannot be replayed elsewhere: an amendment or cancellation names the notice and the
version it replaces, an acknowledgement the notice and version it
acknowledges, and a new notice carries a ``nonce`` the hub accepts once per
party.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "NOTICE_FIELDS",
    "STATEMENT_TYPES",
    "ack_statement",
    "amend_statement",
    "cancel_statement",
    "notify_statement",
    "relay_step_statement",
    "relayed_message_step_statement",
]

STATEMENT_TYPES = ("notify", "amend", "cancel", "ack", "relay_step")

# The fields of a notice that its issuer asserts (the hub adds id, version, times).
NOTICE_FIELDS = (
    "kind",
    "title",
    "remarks",
    "priority",
    "addressees",
    "volumes",
    "ack_deadline",
    "disclosure",
)


def _content(notice: dict[str, Any]) -> dict[str, Any]:
    return {k: notice[k] for k in NOTICE_FIELDS if k in notice and notice[k] is not None}


def notify_statement(party: str, nonce: str, notice: dict[str, Any]) -> dict[str, Any]:
    return {"type": "notify", "party": party, "nonce": nonce, "notice": _content(notice)}


def amend_statement(
    party: str, notice_id: str, replaces_version: int, notice: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": "amend",
        "party": party,
        "notice_id": notice_id,
        "replaces_version": replaces_version,
        "notice": _content(notice),
    }


def cancel_statement(party: str, notice_id: str, version: int) -> dict[str, Any]:
    return {"type": "cancel", "party": party, "notice_id": notice_id, "version": version}


def ack_statement(party: str, notice_id: str, version: int, comment: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "ack",
        "party": party,
        "notice_id": notice_id,
        "version": version,
    }
    if comment:
        out["comment"] = comment
    return out


def relay_step_statement(
    relay: str, notice_id: str, version: int, recipient: str, step: dict[str, Any]
) -> dict[str, Any]:
    """Issue 15: what a relay asserts it did (or heard) for one relayed addressee."""
    return {
        "type": "relay_step",
        "party": relay,
        "notice_id": notice_id,
        "version": version,
        "recipient": recipient,
        "step": {k: v for k, v in step.items() if v is not None},
    }


def relayed_message_step_statement(
    relay: str, message_id: str, recipient: str, step: dict[str, Any]
) -> dict[str, Any]:
    """Issue 15: what a relay asserts it did (or heard) with a hotline message for one
    relayed recipient (a relay step, naming the message instead of a notice version)."""
    return {
        "type": "relay_step",
        "party": relay,
        "message_id": message_id,
        "recipient": recipient,
        "step": {k: v for k, v in step.items() if v is not None},
    }
