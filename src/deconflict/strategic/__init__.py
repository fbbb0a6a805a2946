"""Strategic deconfliction: which planned notices come too close to each other.

Pure library: no I/O, no global state.
"""

from deconflict.strategic.document import PARTY_ID, parse_notice, parse_notices_file
from deconflict.strategic.index import StrategicIndex, find_conflicts
from deconflict.strategic.model import (
    KINDS,
    BufferPolicy,
    Buffers,
    Conflict,
    NoticeRef,
    NoticeShape,
    PreparedShape,
    VolumePairOverlap,
    facing,
    sees,
)
from deconflict.strategic.pair import compare_notices, compare_volumes

__all__ = [
    "KINDS",
    "PARTY_ID",
    "BufferPolicy",
    "Buffers",
    "Conflict",
    "NoticeRef",
    "NoticeShape",
    "PreparedShape",
    "StrategicIndex",
    "VolumePairOverlap",
    "compare_notices",
    "compare_volumes",
    "facing",
    "find_conflicts",
    "parse_notice",
    "parse_notices_file",
    "sees",
]
