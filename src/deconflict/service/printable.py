"""The printable notice (issue 15): plain text and PDF, for handing over by hand or fax.

The text is built from the served notice version alone: coordinates in decimal degrees
and MGRS (the `mgrs` package), times in UTC, altitudes in feet and metres, the issuer,
the version and the ledger entry it comes from. Under it, the verification code
(`ledger.fingerprint.paper_code`: over the version's leaf hash and the text above it),
which anyone holding the paper checks with `deconflict notice verify-paper CODE`, or
`POST /v1/paper/verify`, unauthenticated: a code that matches answers only "notice
version V of issuer I at entry N" (and, given the paper's text, whether it is the text
printed); any other code answers nothing. The codes issued are kept (`paper_codes`), so
the check is one look-up; it is rate-limited per client address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mgrs
from fpdf import FPDF
from fpdf.fonts import TTFFont

from deconflict.ledger.fingerprint import normalise, paper_code
from deconflict.service.auth import RateLimiter
from deconflict.service.errors import Invalid, NotFound, StateConflict
from deconflict.service.tx import Tx
from deconflict.service.writer import Writer
from deconflict.store import Store

__all__ = ["FOOTER_MARK", "UNICODE_FONTS", "Printable", "body_of", "render_pdf", "render_text"]

FOOTER_MARK = "=" * 72  # the printed text above it is what the code covers
_FT = 0.3048
_CONVERTER = mgrs.MGRS()


def _mgrs(lat: float, lon: float) -> str:
    try:
        raw = _CONVERTER.toMGRS(lat, lon, MGRSPrecision=5)
    except Exception:  # the polar caps have no MGRS grid (UPS): say so, not a wrong square
        return "(no MGRS reference)"
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    # 37SBU3597799076 -> 37S BU 35977 99076 (as read over a phone)
    zone_len = len(text) - 2 - 10
    zone, square, digits = text[:zone_len], text[zone_len : zone_len + 2], text[zone_len + 2 :]
    half = len(digits) // 2
    return f"{zone} {square} {digits[:half]} {digits[half:]}"


def _deg(lat: float, lon: float) -> str:
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.6f} {ns}, {abs(lon):.6f} {ew}"


def _point(lon: float, lat: float) -> str:
    return f"{_deg(lat, lon):<28}  MGRS {_mgrs(lat, lon)}"


def _altitude(alt: dict[str, Any]) -> str:
    value, units = float(alt["value"]), alt.get("units", "M")
    ref = alt.get("reference", "")
    if units == "FL":
        feet = value * 100
        return f"FL{value:g} ({feet:,.0f} ft / {feet * _FT:,.0f} m, pressure altitude)"
    feet, metres = (value, value * _FT) if units == "FT" else (value / _FT, value)
    return f"{feet:,.0f} ft / {metres:,.0f} m {ref}".strip()


def _shape_lines(volume: dict[str, Any]) -> list[str]:
    geometry = volume["geometry"]
    radius = float(volume.get("radius_m") or 0)
    kind = geometry["type"]
    if kind == "Point":
        lon, lat = geometry["coordinates"][:2]
        return [
            f"  Shape:      circle of radius {radius:,.0f} m ({radius / 1852:.2f} NM) around",
            f"              {_point(lon, lat)}",
        ]
    if kind == "LineString":
        width = f"{radius:,.0f} m ({radius / 1852:.2f} NM)"
        lines = [f"  Shape:      corridor {width} either side of the line"]
        pts = geometry["coordinates"]
    else:
        rings = geometry["coordinates"]
        lines = [
            f"  Shape:      polygon{f' with {len(rings) - 1} hole(s)' if len(rings) > 1 else ''}"
        ]
        pts = rings[0]
    lines.append("  Points (latitude, longitude, WGS-84; MGRS):")
    lines += [f"    {i:>3}. {_point(p[0], p[1])}" for i, p in enumerate(pts, 1)]
    for h, hole in enumerate(geometry["coordinates"][1:] if kind == "Polygon" else [], 1):
        lines.append(f"  Hole {h}:")
        lines += [f"    {i:>3}. {_point(p[0], p[1])}" for i, p in enumerate(hole, 1)]
    return lines


def render_text(notice: dict[str, Any], issuer_name: str, relays: dict[str, str]) -> str:
    """The printed body of one served notice version (what its code covers)."""
    addressees = ", ".join(
        f"{a} (through relay {relays[a]})" if a in relays else a for a in notice["addressees"]
    )
    out = [
        "DECONFLICT NOTICE (printed copy of a notified version; not a request for permission)",
        "",
        f"Notice:      {notice['id']}   version {notice['version']}   state {notice['state']}",
        f"Issuer:      {notice['issuer']} ({issuer_name})",
        f"Kind:        {notice['kind']}   priority {notice['priority']}",
        f"Title:       {notice['title']}",
        f"Addressees:  {addressees}",
        f"Version of:  {notice.get('updated_at') or notice['created_at']} (UTC)",
        f"Acknowledge: by {notice['ack_deadline']} (UTC)"
        if notice.get("ack_deadline")
        else "Acknowledge: no deadline",
        f"Ledger:      entry {notice.get('ledger_index')}",
    ]
    if notice.get("remarks"):
        out.append(f"Remarks:     {notice['remarks']}")
    volumes = notice.get("volumes") or []
    for n, v in enumerate(volumes, 1):
        out += [
            "",
            f"Volume {n} of {len(volumes)}",
            f"  From:       {v['time_start']} (UTC)",
            f"  To:         {v['time_end']} (UTC)",
            f"  Lower:      {_altitude(v['altitude_lower'])}",
            f"  Upper:      {_altitude(v['altitude_upper'])}",
            *_shape_lines(v),
        ]
    return "\n".join(out) + "\n"


def _footer(code: str) -> str:
    return (
        f"{FOOTER_MARK}\n"
        f"Verification code: {code}\n"
        "Check this paper against the hub's ledger: deconflict notice verify-paper CODE\n"
        '(--paper FILE compares the text too), or POST /v1/paper/verify {"code": ...}.\n'
    )


def body_of(printed: str) -> str:
    """The part of a printed text its code covers (everything above the footer)."""
    head, sep, _ = printed.replace("\r\n", "\n").partition(FOOTER_MARK + "\n")
    return head if sep else printed


# Titles, names and comments come in the parties' own scripts (Cyrillic, Arabic, Hebrew...):
# DejaVu Sans Mono, with DejaVu Sans for what it lacks (Debian's fonts-dejavu-core). Where
# they are not installed, the core Courier, which is Latin-1 only.
UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)


def render_pdf(text: str, fonts: Sequence[Path] = UNICODE_FONTS) -> bytes:
    """The same text as a PDF page set in a fixed-width font (fpdf2).

    A character no font here can draw is printed as its code point (``\\u0000``), never
    dropped: a paper that silently lost a letter of a name would still look whole.
    Arabic and Hebrew are shaped and set right to left (fpdf2's shaping, with uharfbuzz).
    """
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    usable = [f for f in fonts if f.is_file()]
    if usable:
        names = [f"f{i}" for i in range(len(usable))]
        for name, path in zip(names, usable, strict=True):
            pdf.add_font(name, fname=str(path))
        pdf.set_font(names[0], size=8.5)
        pdf.set_fallback_fonts(names[1:])
        pdf.set_text_shaping(True)
        covered = {c for name in names if isinstance(f := pdf.fonts[name], TTFFont) for c in f.cmap}
    else:
        pdf.set_font("Courier", size=8.5)
        covered = set(range(256))
    for line in text.split("\n"):
        safe = "".join(c if ord(c) in covered else f"\\u{ord(c):04x}" for c in line)
        pdf.multi_cell(0, 4.2, safe or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class Printable:
    def __init__(self, writer: Writer, store: Store, per_minute: int) -> None:
        self.writer = writer
        self.store = store
        self._checks = RateLimiter(per_minute / 60.0, per_minute)

    async def issue(
        self, notice: dict[str, Any], issuer_name: str, relays: dict[str, str]
    ) -> tuple[str, str]:
        """The printed text of a served notice version (footer included) and its code."""
        index = notice.get("ledger_index")
        if not isinstance(index, int) or index < 0:
            raise StateConflict("this notice version has no ledger entry to print a code from")
        body = render_text(notice, issuer_name, relays)

        def leaf() -> bytes | None:
            with self.store.read() as repo:
                found = repo.ledger.entries(index, index + 1)
            return bytes(found[0]["leaf_hash"]) if found else None

        leaf_hash = await asyncio.to_thread(leaf)
        if leaf_hash is None:
            raise StateConflict("the ledger entry of this version is not committed yet")
        code = paper_code(leaf_hash, body)

        def run(tx: Tx) -> None:
            tx.repo.relays.insert_paper_code(
                {
                    "code": code,
                    "notice_id": notice["id"],
                    "version": notice["version"],
                    "issuer": notice["issuer"],
                    "ledger_index": index,
                    "created_at": tx.ts,
                }
            )

        await self.writer.run(run)
        return body + _footer(code), code

    async def verify(self, client: str, body: Any) -> dict[str, Any]:
        """Unauthenticated: does this code (and text) match a printed notice version?"""
        self._checks.take(f"paper:{client}")
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        errs = [(k, "unknown field") for k in sorted(set(body) - {"code", "text"})]
        raw, text = body.get("code"), body.get("text")
        code = ""
        try:
            code = normalise(raw) if isinstance(raw, str) else normalise("")
        except ValueError as exc:
            errs.append(("code", str(exc)))
        if text is not None and (not isinstance(text, str) or len(text) > 1_000_000):
            errs.append(("text", "must be the printed text (a string)"))
        if errs:
            raise Invalid(errs)

        def read() -> tuple[dict[str, Any] | None, bytes | None]:
            with self.store.read() as repo:
                row = repo.relays.paper_code(code)
                if row is None:
                    return None, None
                found = repo.ledger.entries(row["ledger_index"], row["ledger_index"] + 1)
                return row, bytes(found[0]["leaf_hash"]) if found else None

        row, leaf_hash = await asyncio.to_thread(read)
        if row is None or leaf_hash is None:
            raise NotFound("no printed notice has this code")
        out: dict[str, Any] = {
            "match": True,
            "notice_id": row["notice_id"],
            "version": row["version"],
            "issuer": row["issuer"],
            "ledger_index": row["ledger_index"],
            "says": (
                f"this code matches version {row['version']} of notice {row['notice_id']} "
                f"of issuer {row['issuer']}, at ledger entry {row['ledger_index']}"
            ),
        }
        if isinstance(text, str):
            out["text_matches"] = paper_code(leaf_hash, body_of(text)) == code
        return out
