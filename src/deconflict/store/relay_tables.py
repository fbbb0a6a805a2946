"""Tables of relayed parties and printable notices (issue 15).

`relay_legs`: one row per (notice version, relayed addressee), or per (hotline message,
relayed recipient) when `subject` is "message" (then `notice_id` holds the message's id,
`version` is 0 and `issuer` is its sender: message and notice ids never collide): what the
relay owes and has done for it (received, forwarded, answered), its forwarding deadline
and whether that was escalated. `relay_steps`: each step the relay recorded, in order, with the
ledger entry that logs it. `paper_codes`: the verification code printed on a notice
version's paper form, for the unauthenticated check.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from deconflict.store.schema import TS, metadata

__all__ = ["paper_codes", "relay_legs", "relay_steps"]

relay_legs = Table(
    "relay_legs",
    metadata,
    Column("notice_id", String(40), nullable=False),  # or the message id (subject)
    Column("version", Integer, nullable=False),
    Column("recipient", String(64), nullable=False),  # the relayed addressee
    Column("relay", String(64), nullable=False),
    Column("issuer", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("forward_deadline", TS, nullable=False),
    Column("received_at", TS, nullable=True),  # handed to the relay's client
    Column("forwarded_at", TS, nullable=True),  # as the relay reported it
    Column("answer", String(16), nullable=True),  # acknowledged | refused | no_answer
    Column("answered_at", TS, nullable=True),
    Column("forward_overdue_at", TS, nullable=True),  # set once the escalation was sent
    Column("superseded", Integer, nullable=False, default=0),
    Column("subject", String(8), nullable=False, server_default="notice"),  # or "message"
    PrimaryKeyConstraint("notice_id", "version", "recipient"),
    Index("ix_relay_legs_relay", "relay", "superseded"),
    Index("ix_relay_legs_deadline", "forward_deadline"),
)

relay_steps = Table(
    "relay_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("relay", String(64), nullable=False),
    Column("issuer", String(64), nullable=False),
    Column("step", String(16), nullable=False),  # received | forwarded | acknowledged | ...
    Column("at", TS, nullable=False),  # when it happened, as the relay reports it
    Column("recorded_at", TS, nullable=False),
    Column("means", String(32), nullable=True),  # phone, fax, diplomatic_note, ...
    Column("counterpart", Text, nullable=True),  # to whom it was forwarded / who answered
    Column("comment", Text, nullable=True),
    Column("key_id", String(64), nullable=True),  # the relay's key, when it signed
    Column("ledger_index", Integer, nullable=False),
    Column("subject", String(8), nullable=False, server_default="notice"),  # or "message"
    Index("ix_relay_steps_notice", "notice_id", "id"),
)

paper_codes = Table(
    "paper_codes",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("notice_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("issuer", String(64), nullable=False),
    Column("ledger_index", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
)
