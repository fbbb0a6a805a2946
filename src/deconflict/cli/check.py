"""`deconflict check FILE`: the offline strategic check of a notices file."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from deconflict.geo import GeoValidationError
from deconflict.strategic import BufferPolicy, Buffers, Conflict, find_conflicts, parse_notices_file
from deconflict.utc import format_ts

__all__ = ["register", "run"]


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check",
        help="find conflicts among the notices of a file (offline)",
        description=(
            'Check a file {"notices": [...]} for conflicts between notices of different '
            "issuers. Prints a table, or JSON with --json. Exit 0 whether or not conflicts "
            "are found; non-zero for invalid input."
        ),
    )
    p.add_argument("file", help="JSON file with a top-level 'notices' array ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--lateral-buffer-m", type=_non_negative, default=0.0, metavar="L")
    p.add_argument("--vertical-buffer-m", type=_non_negative, default=0.0, metavar="V")
    p.add_argument("--time-buffer-s", type=_non_negative, default=0.0, metavar="T")
    p.add_argument(
        "--same-issuer", action="store_true", help="also compare notices of the same issuer"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            doc = json.load(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as fh:
                doc = json.load(fh)
    except OSError as exc:
        print(f"deconflict check: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        print(f"deconflict check: {args.file} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    try:
        shapes = parse_notices_file(doc)
    except GeoValidationError as exc:
        print(f"deconflict check: {args.file} is invalid:", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err.path}: {err.message}", file=sys.stderr)
        return 2
    buffers = Buffers(args.lateral_buffer_m, args.vertical_buffer_m, args.time_buffer_s)
    conflicts = find_conflicts(
        shapes, BufferPolicy(default=buffers), include_same_issuer=args.same_issuer
    )
    if args.json:
        out = {
            "notices_checked": len(shapes),
            "buffers": {
                "lateral_m": buffers.lateral_m,
                "vertical_m": buffers.vertical_m,
                "time_s": buffers.time_s,
            },
            "conflicts": [c.to_json() for c in conflicts],
        }
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(conflicts, len(shapes), buffers))
    return 0


def _describe_pair(c: Conflict) -> tuple[str, str, str, str]:
    p = min(c.volume_pairs, key=lambda v: v.min_distance_m)
    where = "overlap" if p.min_distance_m == 0 else f"{p.min_distance_m / 1000:.2f} km apart"
    if p.altitude_band:
        height = f"{p.altitude_band[0]:.0f}-{p.altitude_band[1]:.0f} m"
    else:
        height = f"{p.vertical_gap_m:.0f} m apart"
    if p.time_window:
        when = f"{format_ts(p.time_window[0])} to {format_ts(p.time_window[1])}"
    else:
        when = f"{p.time_gap_s:.0f} s apart"
    return (f"{c.a.id} x {c.b.id}", where, height, when)


def format_table(conflicts: list[Conflict], checked: int, buffers: Buffers) -> str:
    lines = [
        f"{checked} notices checked; buffers: lateral {buffers.lateral_m:g} m, "
        f"vertical {buffers.vertical_m:g} m, time {buffers.time_s:g} s",
    ]
    if not conflicts:
        lines.append("No conflicts.")
        return "\n".join(lines) + "\n"
    rows = [("CONFLICT", "HORIZONTAL", "VERTICAL", "TIME (UTC)")]
    rows += [_describe_pair(c) for c in conflicts]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines.append(f"{len(conflicts)} conflict{'s' if len(conflicts) != 1 else ''}:")
    for r in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"
