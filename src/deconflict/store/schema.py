"""The relational schema, as SQLAlchemy Core tables.

Only portable types are used (strings, integers, floats, text holding JSON,
timestamps as ISO-8601 UTC strings) so that a PostgreSQL backend runs the same
statements. Timestamps are text because SQLite has no time type and a fixed
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` format sorts chronologically as text.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

__all__ = [
    "ACK_OPEN",
    "acks",
    "conflicts",
    "coordinate_reads",
    "event_receipts",
    "events",
    "message_recipients",
    "messages",
    "metadata",
    "notice_prepared",
    "notice_recipients",
    "notice_versions",
    "notices",
    "parties",
    "probes",
]

metadata = MetaData()

TS = String(32)

parties = Table(
    "parties",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    # Tokens are `dcf_<key_id>_<secret>`: the key id finds the row, the hash of
    # the whole token is compared in constant time.
    Column("token_key_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("public_key", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    # issue 15: a party that never connects, reached only through this relay party
    Column("reachable_via", String(64), nullable=True),
)

notices = Table(
    "notices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("issuer", String(64), ForeignKey("parties.id"), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # active | cancelled | expired
    Column("broadcast", Integer, nullable=False),  # 1 when addressed to "*"
    Column("expires_at", TS, nullable=False),  # the latest end of any volume
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_notices_issuer_state", "issuer", "state"),
    Index("ix_notices_state_expires", "state", "expires_at"),
)

notice_versions = Table(
    "notice_versions",
    metadata,
    Column("notice_id", String(40), ForeignKey("notices.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("remarks", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("addressees", Text, nullable=False),  # JSON list of party ids or ["*"]
    Column("volumes", Text, nullable=False),  # JSON list of normalised Volume4D
    Column("ack_deadline", TS, nullable=True),
    # JSON {"level": ..., "grain": {...}} (service/disclosure.py); NULL: the kind's default
    Column("disclosure", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    # "active", or "cancelled" for the version that cancels the notice (same content,
    # acknowledged by the addressees like any other version).
    Column("state", String(16), nullable=False, server_default="active"),
    PrimaryKeyConstraint("notice_id", "version"),
)

# The prepared form of a version's volumes (geo.packed): derived, never authoritative.
# Written with the version, in its transaction, so that start-up loads it instead of
# parsing the volumes again; a row of another `format` (or none) is derived again from
# `notice_versions.volumes` and replaced. The one table here that is updated in place:
# it holds nothing a party signed or the ledger logs.
notice_prepared = Table(
    "notice_prepared",
    metadata,
    Column("notice_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("format", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("notice_id", "version"),
    ForeignKeyConstraint(
        ["notice_id", "version"], ["notice_versions.notice_id", "notice_versions.version"]
    ),
)

# The addressees of each notice's *current* version, expanded, for visibility queries.
notice_recipients = Table(
    "notice_recipients",
    metadata,
    Column("notice_id", String(40), ForeignKey("notices.id"), nullable=False),
    Column("party_id", String(64), nullable=False),
    PrimaryKeyConstraint("notice_id", "party_id"),
    Index("ix_notice_recipients_party", "party_id"),
)

# An acknowledgement still owed, with a deadline, and not yet escalated.
ACK_OPEN = text(
    "deadline IS NOT NULL AND overdue_at IS NULL AND superseded = 0 AND state != 'acknowledged'"
)

acks = Table(
    "acks",
    metadata,
    Column("notice_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("addressee", String(64), nullable=False),
    Column("issuer", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | acknowledged
    Column("deadline", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("delivered_at", TS, nullable=True),
    Column("acknowledged_at", TS, nullable=True),
    Column("comment", Text, nullable=True),
    Column("overdue_at", TS, nullable=True),  # set once the escalation was sent
    Column("superseded", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("notice_id", "version", "addressee"),
    Index("ix_acks_addressee", "addressee", "state"),
    Index("ix_acks_issuer", "issuer"),
    Index("ix_acks_deadline", "deadline"),
    # The obligations still open, by deadline: what the sweep looks for every second.
    # Acknowledged, escalated and superseded acks (nearly all of them, in time) are
    # not in it, so the sweep's work does not grow with the hub's history.
    Index(
        "ix_acks_open_deadline",
        "deadline",
        sqlite_where=ACK_OPEN,
        postgresql_where=ACK_OPEN,
    ),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("notice_a", String(40), nullable=False),
    Column("notice_b", String(40), nullable=False),
    Column("issuer_a", String(64), nullable=False),
    Column("issuer_b", String(64), nullable=False),
    Column("version_a", Integer, nullable=False),
    Column("version_b", Integer, nullable=False),
    Column("kind_a", String(32), nullable=False),
    Column("kind_b", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # open | resolved
    Column("revision", Integer, nullable=False),
    Column("detail", Text, nullable=False),  # JSON: Conflict.to_json()
    Column("resolution", String(32), nullable=True),
    Column("opened_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("resolved_at", TS, nullable=True),
    Index("ix_conflicts_a", "notice_a", "state"),
    Index("ix_conflicts_b", "notice_b", "state"),
    Index("ix_conflicts_issuer_a", "issuer_a"),
    Index("ix_conflicts_issuer_b", "issuer_b"),
)

# The outbox: one global, gap-tolerant sequence; each party reads its own rows.
events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("party_id", String(64), nullable=False),
    Column("type", String(40), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_events_party_seq", "party_id", "seq"),
)

# -- delivery confirmation (issue 13) ------------------------------------------
# Per party: the last event the hub sent to its clients (a confirmation may not go past
# it) and the last event its client confirmed having (deliveries are recorded up to it).
event_receipts = Table(
    "event_receipts",
    metadata,
    Column("party_id", String(64), primary_key=True),
    Column("sent_up_to", Integer, nullable=False),
    Column("confirmed_up_to", Integer, nullable=False),
    Column("confirmed_at", TS, nullable=True),
)
# -- end delivery confirmation -------------------------------------------------

messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sender", String(64), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("ref_type", String(16), nullable=True),
    Column("ref_id", String(64), nullable=True),
    Column("created_at", TS, nullable=False),
    Index("ix_messages_sender", "sender"),
)

message_recipients = Table(
    "message_recipients",
    metadata,
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=False),
    Column("party_id", String(64), nullable=False),
    Column("delivered_at", TS, nullable=True),
    Column("read_at", TS, nullable=True),
    PrimaryKeyConstraint("message_id", "party_id"),
    Index("ix_message_recipients_party", "party_id"),
)

coordinate_reads = Table(
    "coordinate_reads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("party_id", String(64), nullable=False),
    Column("via", String(32), nullable=False),
    Column("read_at", TS, nullable=False),
    Index("ix_coordinate_reads_notice", "notice_id"),
)

# Probes (issue 11): a dry run that conflicted with a notice, or a notice cancelled or
# amended away soon after it did; the notice's issuer lists them, and the daily budget
# of each (prober, issuer) is counted here.
probes = Table(
    "probes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("issuer", String(64), nullable=False),
    Column("prober", String(64), nullable=False),
    Column("via", String(16), nullable=False),  # check, cancel, amend
    Column("run", String(32), nullable=False),  # one dry run (or change) probing many notices
    Column("over_budget", Integer, nullable=False),
    Column("overlap", Text, nullable=False),  # JSON: what the prober was shown
    Column("at", TS, nullable=False),
    Index("ix_probes_issuer", "issuer", "id"),
    Index("ix_probes_pair_at", "prober", "issuer", "at"),
)
