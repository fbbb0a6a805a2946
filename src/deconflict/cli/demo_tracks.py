"""The demo's tactical story: own tracks fed to the hub as the parties' feeds would.

Three tracks, reported every second through the hub's public API
(`POST /v1/tracks` with each party's own token), never in-process:

- VIPER11 (coalition) and FALCON21 (russia), two fighters at FL250 east of
  Aleppo, fly out and back along nearly the same meridian in opposite phase:
  they converge head-on, pass 3 NM apart (inside the 5 NM minimum), part, turn
  and converge again, so a separation alert is raised, cleared and raised anew.
- ORLAN3 (russia), a UAS at 300 m, shuttles east-west over Ma'arrat
  al-Nu'man, each pass through the hospital the scenario's humanitarian party
  notified as a protected site, so an intrusion alert goes to both sides.

The positions are a function of the time since the play began (a triangle
wave along each leg), so the picture is the same however late one signs in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pyproj import Geod

__all__ = ["LEGS", "STORY", "Leg", "TrackPlayer", "reports_at"]

Doc = dict[str, Any]
WGS84 = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Leg:
    """A track flying between two points and back, at a constant speed and height."""

    party: str
    track_id: str
    start: tuple[float, float]  # (lat, lon)
    end: tuple[float, float]
    alt_m: float
    gs_mps: float
    category: str = "manned"
    phase: float = 0.0  # fraction of a round trip already flown at t = 0

    def length_m(self) -> float:
        return _distance(self.start, self.end)

    def at(self, t_s: float) -> Doc:
        """The report of this track `t_s` seconds into the play."""
        leg_s = self.length_m() / self.gs_mps
        u = (t_s / (2 * leg_s) + self.phase) % 1.0
        outbound = u < 0.5
        f = 2 * u if outbound else 2 - 2 * u
        a, b = (self.start, self.end) if outbound else (self.end, self.start)
        lat = self.start[0] + (self.end[0] - self.start[0]) * f
        lon = self.start[1] + (self.end[1] - self.start[1]) * f
        return {
            "track_id": self.track_id,
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "alt_m": self.alt_m,
            "gs_mps": self.gs_mps,
            "trk_deg": round(_bearing(a, b), 1),
            "vs_mps": 0.0,
            "category": self.category,
        }


# FL250 is 7,620 m; the hospital is at 35.645 N 36.675 E (radius 300 m, up to 3,000 ft).
LEGS: tuple[Leg, ...] = (
    Leg("coalition", "VIPER11", (36.175, 37.40), (35.825, 37.40), 7620.0, 200.0, phase=0.05),
    Leg("russia", "FALCON21", (35.825, 37.46), (36.175, 37.46), 7620.0, 200.0, phase=0.05),
    Leg("russia", "ORLAN3", (35.645, 36.665), (35.645, 36.685), 300.0, 30.0, "uas", 0.1),
)


STORY = """
== Live tracks ==
  coalition VIPER11 and russia FALCON21 at FL250 east of Aleppo converge head-on and pass
  3 NM apart (separation alert), part and come back; russia's UAS ORLAN3 crosses the
  hospital at Ma'arrat al-Nu'man (intrusion alert to russia and msf). Reported every
  second through POST /v1/tracks; open the map and its Alerts tab."""


def reports_at(t_s: float, now: datetime, legs: tuple[Leg, ...] = LEGS) -> dict[str, list[Doc]]:
    """Each party's reports at `t_s` seconds into the play, stamped `now`."""
    stamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    out: dict[str, list[Doc]] = {}
    for leg in legs:
        out.setdefault(leg.party, []).append({**leg.at(t_s), "time": stamp})
    return out


class TrackPlayer:
    """Feeds the demo's tracks to a hub every `interval_s` until stopped."""

    def __init__(
        self,
        url: str,
        tokens: dict[str, str],
        *,
        interval_s: float = 1.0,
        legs: tuple[Leg, ...] = LEGS,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.legs = tuple(leg for leg in legs if leg.party in tokens)
        self.interval_s = interval_s
        self.on_error = on_error
        self._clients = {
            p: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
            for p, tok in tokens.items()
            if any(leg.party == p for leg in self.legs)
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-tracks", daemon=True)
        self._t0 = 0.0
        self.sent = 0
        self.rejected: list[Doc] = []

    def start(self) -> TrackPlayer:
        self._t0 = time.monotonic()
        self.send_once()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for c in self._clients.values():
            c.close()

    def send_once(self) -> None:
        batches = reports_at(time.monotonic() - self._t0, datetime.now(UTC), self.legs)
        for party, reports in batches.items():
            try:
                r = self._clients[party].post("/v1/tracks", json={"reports": reports})
                r.raise_for_status()
                answer = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                if self.on_error:
                    self.on_error(f"{party}: track reports not accepted: {exc}")
                continue
            self.sent += len(reports)
            self.rejected.extend(answer.get("rejected") or [])

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.send_once()


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    _, _, dist = WGS84.inv(a[1], a[0], b[1], b[0])
    return float(dist)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    azimuth, _, _ = WGS84.inv(a[1], a[0], b[1], b[0])
    return float(azimuth) % 360.0
