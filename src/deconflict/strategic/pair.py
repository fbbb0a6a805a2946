"""The exact test between two notices: DESIGN.md's conflict rule, volume by volume."""

from __future__ import annotations

from deconflict.geo import Volume4D
from deconflict.geo.separation import separation_and_overlap
from deconflict.strategic.model import (
    BufferPolicy,
    Buffers,
    Conflict,
    NoticeRef,
    NoticeShape,
    VolumePairOverlap,
    facing,
)

__all__ = ["compare_notices", "compare_volumes"]


def compare_volumes(
    va: Volume4D,
    vb: Volume4D,
    buffers: Buffers,
    policy: BufferPolicy,
    *,
    indices: tuple[int, int] = (0, 0),
    describe: bool = True,
) -> VolumePairOverlap | None:
    """The overlap of two volumes if they conflict under ``buffers``, else None.

    Cheap dimensions go first; geometry is only touched for volumes that are
    already close in time and height.
    """
    time_gap = va.window.gap_s(vb.window)
    if time_gap > buffers.time_s:
        return None
    vertical_gap = va.altitude.gap_m(vb.altitude, policy.margins)
    if vertical_gap > buffers.vertical_m:
        return None
    sep, region = separation_and_overlap(
        va.footprint, vb.footprint, within_m=buffers.lateral_m, describe=describe
    )
    if sep.lower_bound_m > buffers.lateral_m:
        return None
    return VolumePairOverlap(
        i=indices[0],
        j=indices[1],
        time_window=va.window.overlap(vb.window),
        time_gap_s=time_gap,
        altitude_band=va.altitude.overlap(vb.altitude),
        vertical_gap_m=vertical_gap,
        region=region,
        min_distance_m=max(0.0, sep.distance_m),
        nearest=sep.nearest,
    )


def compare_notices(
    a: NoticeShape, b: NoticeShape, policy: BufferPolicy, *, describe: bool = True
) -> Conflict | None:
    """Two notices conflict iff any pair of their volumes does, each side judged by what
    the other side's issuer may see of it (`facing`)."""
    buffers = policy.for_kinds(a.kind, b.kind)
    pairs: list[VolumePairOverlap] = []
    for i, va in enumerate(facing(a, b.issuer)):
        for j, vb in enumerate(facing(b, a.issuer)):
            found = compare_volumes(va, vb, buffers, policy, indices=(i, j), describe=describe)
            if found is not None:
                pairs.append(found)
    if not pairs:
        return None
    return Conflict(NoticeRef.of(a), NoticeRef.of(b), buffers, tuple(pairs))
