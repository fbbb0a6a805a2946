"""The prepared form of a notice version (geo.packed), as the service stores and loads it.

A version's volumes are parsed (and grown to their disclosure grain) once, when the
version comes in; the result is stored with it (`prepared_row`, in the version's own
transaction) and read back at start-up (`loaded_volumes`) instead of being derived again.
The stored text stays the authority: a prepared form is used only if it is of the
current `FORMAT` and was derived from exactly the version's stored volumes and
disclosure; otherwise the version is derived again from its text (and the new form
stored, once).
"""

from __future__ import annotations

from deconflict.geo import Volume4D
from deconflict.geo.packed import FORMAT, PackError, content_digest, pack_volumes, unpack_volumes
from deconflict.store import Row
from deconflict.strategic import NoticeShape

__all__ = ["FORMAT", "loaded_volumes", "pack_row", "prepared_row"]


def prepared_row(
    notice_id: str,
    version: int,
    content: Row,
    volumes: tuple[Volume4D, ...],
    coarse: tuple[Volume4D, ...] | None,
) -> Row:
    """The `notice_prepared` row of a version whose stored text is `content`."""
    digest = content_digest(content["volumes"], content.get("disclosure"))
    data = pack_volumes(volumes, coarse, digest)
    return {"notice_id": notice_id, "version": version, "format": FORMAT, "data": data}


def pack_row(notice: Row, shape: NoticeShape) -> Row:
    """`prepared_row` for a stored notice (a row of `iter_active_shapes`) derived again."""
    return prepared_row(notice["id"], notice["version"], notice, shape.volumes, shape.coarse)


def loaded_volumes(
    notice: Row,
) -> tuple[tuple[Volume4D, ...], tuple[Volume4D, ...] | None] | None:
    """The volumes and coarse volumes of a stored notice (a row of `iter_active_shapes`)
    from its prepared form; None when it has none of the current format for exactly this
    content (the caller derives them from the text)."""
    data = notice.get("prepared")
    if data is None or notice.get("prepared_format") != FORMAT:
        return None
    digest = content_digest(notice["volumes"], notice.get("disclosure"))
    try:
        return unpack_volumes(bytes(data), digest, notice["volumes"])
    except PackError:
        return None
