"""The prepared form of a notice version (geo.packed), as the service stores and loads it.

A version's volumes are parsed (and grown to their disclosure grain) once, when the
version comes in; the result is stored with it (`prepared_row`, in the version's own
transaction) and read back at start-up (`opened`) instead of being derived again. The
stored text stays the authority: a prepared form is used only if it is of the current
`FORMAT`, was derived from exactly the version's stored volumes and disclosure, and is
whole (geo.packed's tag); otherwise the version is derived again from its text (and the
new form stored, once).
"""

from __future__ import annotations

from deconflict.geo import Volume4D
from deconflict.geo.packed import FORMAT, Packed, PackError, open_packed, pack_volumes
from deconflict.store import Row
from deconflict.strategic import NoticeShape

__all__ = ["FORMAT", "opened", "pack_row", "prepared_row"]


def prepared_row(
    notice_id: str,
    version: int,
    content: Row,
    volumes: tuple[Volume4D, ...],
    coarse: tuple[Volume4D, ...] | None,
) -> Row:
    """The `notice_prepared` row of a version whose stored text is `content`."""
    data = pack_volumes(volumes, coarse, (content["volumes"], content.get("disclosure")))
    return {"notice_id": notice_id, "version": version, "format": FORMAT, "data": data}


def pack_row(notice: Row, shape: NoticeShape) -> Row:
    """`prepared_row` for a stored notice (a row of `iter_active_shapes`) derived again."""
    return prepared_row(notice["id"], notice["version"], notice, shape.volumes, shape.coarse)


def opened(notice: Row) -> Packed | None:
    """The prepared form of a stored notice (a row of `iter_active_shapes`), checked;
    None when it has none of the current format for exactly this content, whole (the
    caller derives it again from the text)."""
    data = notice.get("prepared")
    if data is None or notice.get("prepared_format") != FORMAT:
        return None
    try:
        return open_packed(bytes(data), notice["volumes"], notice.get("disclosure"))
    except PackError:
        return None
