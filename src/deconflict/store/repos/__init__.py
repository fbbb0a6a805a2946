"""One repository per aggregate, each bound to the connection of one transaction."""

from deconflict.store.repos.acks import AckRepo
from deconflict.store.repos.alerts import AlertRepo
from deconflict.store.repos.conflicts import ConflictRepo
from deconflict.store.repos.coordination import CHANGES_PRUNED, CoordinationRepo
from deconflict.store.repos.cosignatures import CosignatureRepo
from deconflict.store.repos.crosscheck import CrossCheckRepo
from deconflict.store.repos.dss import DssRepo
from deconflict.store.repos.events import EventRepo
from deconflict.store.repos.idempotency import IdempotencyRepo  # issue 14
from deconflict.store.repos.keys import KeyRepo
from deconflict.store.repos.ledger import EntryRow, LedgerRepo
from deconflict.store.repos.messages import MessageRepo
from deconflict.store.repos.notices import NoticeRepo
from deconflict.store.repos.parties import PartyRepo
from deconflict.store.repos.probes import ProbeRepo
from deconflict.store.repos.reads import ReadRepo
from deconflict.store.repos.relays import RelayRepo  # issue 15
from deconflict.store.repos.track_batches import TrackBatchRepo  # issue 14
from deconflict.store.repos.units import UnitRepo  # issue 15

__all__ = [
    "CHANGES_PRUNED",
    "AckRepo",
    "AlertRepo",
    "ConflictRepo",
    "CoordinationRepo",
    "CosignatureRepo",
    "CrossCheckRepo",
    "DssRepo",
    "EntryRow",
    "EventRepo",
    "IdempotencyRepo",
    "KeyRepo",
    "LedgerRepo",
    "MessageRepo",
    "NoticeRepo",
    "PartyRepo",
    "ProbeRepo",
    "ReadRepo",
    "RelayRepo",
    "TrackBatchRepo",
    "UnitRepo",
]
