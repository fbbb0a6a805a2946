"""Small parts of the gateway: what it knows of a device, complaints, back-off."""

from __future__ import annotations

import logging
import random
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

__all__ = ["Backoff", "Complaints", "Device", "marti"]

log = logging.getLogger("deconflict.tak")


@dataclass
class Device:
    uid: str
    callsign: str | None = None
    group: str | None = None
    heading: float | None = None
    seen: float = 0.0


def marti(*callsigns: str) -> ET.Element:
    marti = ET.Element("marti")
    for cs in callsigns:
        ET.SubElement(marti, "dest", {"callsign": cs})
    return marti


class Complaints:
    """One line per problem, at most `burst` lines per `window_s`; the rest counted."""

    def __init__(self, burst: int = 10, window_s: float = 10.0) -> None:
        self.burst, self.window_s = burst, window_s
        self.start, self.lines, self.suppressed = 0.0, 0, 0

    def warn(self, text: str) -> None:
        now = time.monotonic()
        if now - self.start > self.window_s:
            if self.suppressed:
                log.warning("tak-gateway: %d more such lines suppressed", self.suppressed)
            self.start, self.lines, self.suppressed = now, 0, 0
        if self.lines < self.burst:
            self.lines += 1
            log.warning("tak-gateway: %s", text)
        else:
            self.suppressed += 1


class Backoff:
    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.delay = 0.5

    def reset(self) -> None:
        self.delay = 0.5

    def next(self) -> float:
        d = self.delay
        self.delay = min(self.cap, self.delay * 2)
        return d * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not secrecy
