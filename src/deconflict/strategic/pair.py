"""The exact test between two notices: DESIGN.md's conflict rule, volume by volume."""

from __future__ import annotations

from deconflict.geo import Volume4D
from deconflict.geo.separation import Separation, nested_region, separation_and_overlap
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
    coarse: bool = False,
) -> VolumePairOverlap | None:
    """The overlap of two volumes if they conflict under ``buffers``, else None.

    Cheap dimensions go first; geometry is only touched for volumes that are
    already close in time and height.

    ``coarse``: one of the two is a coarse volume (geo.coarse), so the region need only
    contain the true overlap. A footprint lying inside the other is then described as
    itself, unclipped (`nested_region`): the same decision, the same area up to the
    metre of simplification, without clipping against a wide outline. Pairs of exact
    volumes are always clipped, so that their answers stay exactly as they were.
    """
    time_gap = va.window.gap_s(vb.window)
    if time_gap > buffers.time_s:
        return None
    vertical_gap = va.altitude.gap_m(vb.altitude, policy.margins)
    if vertical_gap > buffers.vertical_m:
        return None
    nested = nested_region(va.footprint, vb.footprint) if coarse else None
    if nested is not None:
        sep, region = Separation(0.0, 0.0), (nested if describe else None)
    else:
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
    side_a, side_b = facing(a, b.issuer), facing(b, a.issuer)
    coarse = side_a is not a.volumes or side_b is not b.volumes
    for i, va in enumerate(side_a):
        for j, vb in enumerate(side_b):
            found = compare_volumes(
                va, vb, buffers, policy, indices=(i, j), describe=describe, coarse=coarse
            )
            if found is not None:
                pairs.append(found)
    if not pairs:
        return None
    return Conflict(NoticeRef.of(a), NoticeRef.of(b), buffers, tuple(pairs))
