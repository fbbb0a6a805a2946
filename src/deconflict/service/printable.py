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

Issue 17: the paper is printed in English, Russian or Arabic (labels from the catalogues in
`printable_i18n/`), with the same code on every language's paper (see `Printable.issue`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import unicodedata
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import mgrs

from deconflict.ledger.fingerprint import normalise, paper_code
from deconflict.service.auth import RateLimiter
from deconflict.service.errors import Invalid, NotFound, StateConflict
from deconflict.service.tx import Tx
from deconflict.service.writer import Writer
from deconflict.store import Store

__all__ = [
    "FOOTER_MARK",
    "LANGS",
    "UNICODE_FONTS",
    "Printable",
    "body_of",
    "catalogue",
    "choose_language",
    "language_of",
    "render_pdf",
    "render_text",
]

FOOTER_MARK = "=" * 72  # the printed text above it is what the code covers
_FT = 0.3048
_CONVERTER = mgrs.MGRS()


# The labels of the paper come from message catalogues a translator edits (one JSON file a
# language, beside this module, like the web map's). Only labels and words are translated:
# numbers, coordinates, times, ids and the code are printed the same on every paper, since
# two liaison officers read them to each other over a telephone; the issuer's own text
# (title, remarks, its name) is printed as written.
LANGS = ("en", "ru", "ar")
_CATALOGUES = files("deconflict.service") / "printable_i18n"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_FSI, _LRI, _PDI = "\u2068", "\u2066", "\u2069"
# Bidirectional controls: they draw nothing, and the PDF's layout (fpdf2) reads them.
_BIDI_CONTROLS = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
# What a party's own text (a title, remarks, a name) may not do on the paper: break a line
# (a forged "Acknowledge:" line of its own) or reorder what follows (U+202E turns
# "FL100 to FL010" into its mirror, and a U+2069 closes the isolate an Arabic paper sets
# it in). So every character that draws nothing but acts (Unicode's control and format
# characters, line and paragraph separators) is printed as its code point, visibly, as
# an undrawable one is in the PDF; the code covers the text so printed. The two joiners
# stay: Persian and Arabic words are spelt with them.
_JOINERS = frozenset("\u200c\u200d")


def _visible(text: str) -> str:
    """A party's free text, its line breaks and bidirectional controls shown as ``\\uXXXX``."""
    return "".join(
        f"\\u{ord(c):04x}"
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in _JOINERS
        else c
        for c in text
    )


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """The printed notice's messages in `lang` (one of LANGS), English for any key missing."""
    english: dict[str, str] = json.loads((_CATALOGUES / "en.json").read_text(encoding="utf-8"))
    if lang == "en":
        return english
    own: dict[str, str] = json.loads((_CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
    return {**english, **own}


def choose_language(lang: str | None, accept_language: str | None = None) -> str:
    """The paper's language: `lang` if given (else Invalid naming it), else the first of the
    reader's Accept-Language that we print in, else English."""
    if lang is not None:
        if lang not in LANGS:
            raise Invalid(
                [("lang", f"unknown language {lang!r}: one of {', '.join(LANGS)}")],
                location="query",
            )
        return lang
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGS and q > 0:
            ranked.append((-q, n, primary))
    return min(ranked)[2] if ranked else "en"


class _Words:
    """One language's messages, filled in: `{name}` placeholders only, so a brace a
    translator writes for any other reason is printed as it is."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = catalogue(lang)
        self.rtl = self.messages["_direction"] == "rtl"
        heads = [
            *("notice", "issuer", "kind", "title", "addressees"),
            *("version_of", "acknowledge", "ledger", "remarks"),
        ]
        self.head_width = max(len(self.messages[f"label.{k}"]) for k in heads) + 1
        vols = ("from", "to", "lower", "upper", "shape")
        widest = max(len(self.messages[f"label.{k}"]) for k in vols) + 1
        self.volume_width = max(self.head_width - 1, widest)

    def __call__(self, key: str, **values: Any) -> str:
        return _PLACEHOLDER.sub(lambda m: self.iso(str(values[m.group(1)])), self.messages[key])

    def iso(self, value: str) -> str:
        """A value set inside a right-to-left sentence, as its own run (Unicode isolates):
        a time, an id or a coordinate keeps its order, and the issuer's own text takes the
        direction of its first letter. Left-to-right papers need none."""
        return f"{_FSI}{value}{_PDI}" if self.rtl else value

    def ltr(self, value: str) -> str:
        """A line of numbers and Latin letters only (a point): left to right as a whole."""
        return f"{_LRI}{value}{_PDI}" if self.rtl else value

    def head(self, key: str, value: str) -> str:
        return f"{self.messages[f'label.{key}']:<{self.head_width}}{value}"

    def volume(self, key: str, value: str) -> str:
        return f"  {self.messages[f'label.{key}']:<{self.volume_width}}{value}"


def _mgrs(lat: float, lon: float, words: _Words) -> str:
    try:
        raw = _CONVERTER.toMGRS(lat, lon, MGRSPrecision=5)
    except Exception:  # the polar caps have no MGRS grid (UPS): say so, not a wrong square
        return words("no_mgrs")
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


def _point(lon: float, lat: float, words: _Words) -> str:
    return f"{_deg(lat, lon):<28}  MGRS {_mgrs(lat, lon, words)}"


def _altitude(alt: dict[str, Any], words: _Words) -> str:
    value, units = float(alt["value"]), alt.get("units", "M")
    ref = alt.get("reference", "")
    if units == "FL":
        feet = value * 100
        height = f"{feet:,.0f} ft / {feet * _FT:,.0f} m"
        return words("flight_level", level=f"FL{value:g}", height=height)
    feet, metres = (value, value * _FT) if units == "FT" else (value / _FT, value)
    return words.iso(f"{feet:,.0f} ft / {metres:,.0f} m {ref}".strip())


def _shape_lines(volume: dict[str, Any], words: _Words) -> list[str]:
    geometry = volume["geometry"]
    radius = float(volume.get("radius_m") or 0)
    size = f"{radius:,.0f} m ({radius / 1852:.2f} NM)"  # one run, in a sentence of either direction
    kind = geometry["type"]
    indent = " " * (2 + words.volume_width)
    if kind == "Point":
        lon, lat = geometry["coordinates"][:2]
        return [
            words.volume("shape", words("circle", size=size)),
            f"{indent}{words.ltr(_point(lon, lat, words))}",
        ]
    if kind == "LineString":
        lines = [words.volume("shape", words("corridor", size=size))]
        pts = geometry["coordinates"]
    else:
        rings = geometry["coordinates"]
        holes = len(rings) - 1
        shape = words("polygon_holes", holes=holes) if holes else words("polygon")
        lines = [words.volume("shape", shape)]
        pts = rings[0]
    lines.append(f"  {words('points')}")
    lines += [
        f"    {words.ltr(f'{i:>3}. {_point(p[0], p[1], words)}')}" for i, p in enumerate(pts, 1)
    ]
    for h, hole in enumerate(geometry["coordinates"][1:] if kind == "Polygon" else [], 1):
        lines.append(f"  {words('hole', n=h)}")
        lines += [
            f"    {words.ltr(f'{i:>3}. {_point(p[0], p[1], words)}')}"
            for i, p in enumerate(hole, 1)
        ]
    return lines


def render_text(
    notice: dict[str, Any], issuer_name: str, relays: dict[str, str], lang: str = "en"
) -> str:
    """The printed body of one served notice version in `lang` (what its code covers)."""
    w = _Words(lang)
    addressees = ", ".join(
        w("through_relay", addressee=a, relay=relays[a]) if a in relays else w.iso(_visible(a))
        for a in notice["addressees"]
    )
    state, kind = notice["state"], notice["kind"]
    deadline = notice.get("ack_deadline")
    out = [
        w("heading"),
        "",
        w.head(
            "notice",
            w(
                "notice",
                id=notice["id"],
                version=notice["version"],
                state=state,
                state_name=w.messages.get(f"state.{state}", state),
            ),
        ),
        w.head("issuer", w("issuer", issuer=notice["issuer"], name=_visible(issuer_name))),
        w.head(
            "kind",
            w(
                "kind",
                kind=kind,
                kind_name=w.messages.get(f"kind.{kind}", kind),
                priority=notice["priority"],
            ),
        ),
        w.head("title", w.iso(_visible(notice["title"]))),
        w.head("addressees", addressees),
        w.head("version_of", w("utc", time=notice.get("updated_at") or notice["created_at"])),
        w.head("acknowledge", w("ack_by", time=deadline) if deadline else w("ack_none")),
        w.head("ledger", w("ledger", index=notice.get("ledger_index"))),
    ]
    if notice.get("remarks"):
        out.append(w.head("remarks", w.iso(_visible(notice["remarks"]))))
    volumes = notice.get("volumes") or []
    for n, v in enumerate(volumes, 1):
        out += [
            "",
            w("volume", n=n, count=len(volumes)),
            w.volume("from", w("utc", time=v["time_start"])),
            w.volume("to", w("utc", time=v["time_end"])),
            w.volume("lower", _altitude(v["altitude_lower"], w)),
            w.volume("upper", _altitude(v["altitude_upper"], w)),
            *_shape_lines(v, w),
        ]
    return "\n".join(out) + "\n"


def _footer(code: str, lang: str = "en") -> str:
    w = _Words(lang)
    command = "deconflict notice verify-paper CODE"
    how = w("footer.how", option="--paper FILE", request='POST /v1/paper/verify {"code": ...}')
    lines = (FOOTER_MARK, w("footer.code", code=code), w("footer.check", command=command), how)
    return "\n".join(lines) + "\n"


def body_of(printed: str) -> str:
    """The part of a printed text its code covers (everything above the footer)."""
    head, sep, _ = printed.replace("\r\n", "\n").partition(FOOTER_MARK + "\n")
    return head if sep else printed


def language_of(body: str) -> str | None:
    """The language a paper was printed in, by its heading (None: none of ours)."""
    first = body.split("\n", 1)[0]
    return next((lang for lang in LANGS if catalogue(lang)["heading"] == first), None)


# Titles, names and comments come in the parties' own scripts (Cyrillic, Arabic, Hebrew...):
# DejaVu Sans Mono, with DejaVu Sans for what it lacks (Debian's fonts-dejavu-core). Where
# they are not installed, the core Courier, which is Latin-1 only.
UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)


def render_pdf(text: str, fonts: Sequence[Path] = UNICODE_FONTS, *, rtl: bool = False) -> bytes:
    """The same text as a PDF page set in a fixed-width font (fpdf2).

    A character no font here can draw is printed as its code point (``\\u0000``), never
    dropped: a paper that silently lost a letter of a name would still look whole.
    Arabic and Hebrew are shaped and set right to left (fpdf2's shaping, with uharfbuzz).
    `rtl`: a paper in a right-to-left language, every line ordered right to left from the
    right margin (the Unicode bidirectional algorithm, so the numbers, ids and coordinates
    inside keep their own left-to-right order).
    """
    # imported here: the PDF library is ~0.2 s and ~27 MB of a hub's start, for a paper
    # that most hubs print rarely (each fresh page of memory is slow on some VMs)
    from fpdf import FPDF  # noqa: PLC0415
    from fpdf.fonts import TTFFont  # noqa: PLC0415

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
        pdf.set_text_shaping(True, direction="rtl" if rtl else "ltr")
        covered = {c for name in names if isinstance(f := pdf.fonts[name], TTFFont) for c in f.cmap}
        covered |= _BIDI_CONTROLS
    else:
        pdf.set_font("Courier", size=8.5)
        covered = set(range(256))
    for line in text.split("\n"):
        safe = "".join(c if ord(c) in covered else f"\\u{ord(c):04x}" for c in line)
        pdf.multi_cell(
            0, 4.2, safe or " ", align="R" if rtl else "L", new_x="LMARGIN", new_y="NEXT"
        )
    return bytes(pdf.output())


class Printable:
    def __init__(self, writer: Writer, store: Store, per_minute: int) -> None:
        self.writer = writer
        self.store = store
        self._checks = RateLimiter(per_minute / 60.0, per_minute, per="client address")

    async def issue(
        self, notice: dict[str, Any], issuer_name: str, relays: dict[str, str], lang: str = "en"
    ) -> tuple[str, str]:
        """The printed text of a served notice version in `lang` (footer included) and its code.

        The code is the same on every language's paper: it covers the version's content as
        printed in English (the canonical form, and what papers printed before there were
        languages carry). A paper in another language is bound to it by a digest of its own
        text (`paper_code` over the same leaf), recorded beside the code when it is printed:
        the check then needs no re-rendering, which could not give back what was printed
        once the notice expired or its issuer was renamed.
        """
        index = notice.get("ledger_index")
        if not isinstance(index, int) or index < 0:
            raise StateConflict("this notice version has no ledger entry to print a code from")
        body = render_text(notice, issuer_name, relays)
        own = render_text(notice, issuer_name, relays, lang) if lang != "en" else body

        def leaf() -> bytes | None:
            with self.store.read() as repo:
                found = repo.ledger.entries(index, index + 1)
            return bytes(found[0]["leaf_hash"]) if found else None

        leaf_hash = await asyncio.to_thread(leaf)
        if leaf_hash is None:
            raise StateConflict("the ledger entry of this version is not committed yet")
        code = paper_code(leaf_hash, body)
        # The translated text's digest, kept as a row like a code's: it is never printed,
        # and as unguessable as the code (it is over the same salted leaf).
        digests = {code, paper_code(leaf_hash, own)}

        def run(tx: Tx) -> None:
            for digest in sorted(digests):
                tx.repo.relays.insert_paper_code(
                    {
                        "code": digest,
                        "notice_id": notice["id"],
                        "version": notice["version"],
                        "issuer": notice["issuer"],
                        "ledger_index": index,
                        "created_at": tx.ts,
                    }
                )

        await self.writer.run(run)
        return own + _footer(code, lang), code

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

        def read() -> tuple[dict[str, Any] | None, bytes | None, bool]:
            with self.store.read() as repo:
                row = repo.relays.paper_code(code)
                if row is None:
                    return None, None, False
                found = repo.ledger.entries(row["ledger_index"], row["ledger_index"] + 1)
                leaf_hash = bytes(found[0]["leaf_hash"]) if found else None
                if leaf_hash is None or not isinstance(text, str):
                    return row, leaf_hash, False
                digest = paper_code(leaf_hash, body_of(text))
                if digest == code:  # the English paper: its text is what the code covers
                    return row, leaf_hash, True
                # another language's paper: the digest of its text recorded when it was
                # printed, for the same version (a digest of another version's paper is not it)
                other = repo.relays.paper_code(digest)
                same = ("notice_id", "version", "ledger_index")
                return row, leaf_hash, other is not None and all(other[k] == row[k] for k in same)

        row, leaf_hash, text_matches = await asyncio.to_thread(read)
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
            out["text_matches"] = text_matches
            language = language_of(body_of(text))
            if text_matches and language is not None:
                out["language"] = language
        return out
