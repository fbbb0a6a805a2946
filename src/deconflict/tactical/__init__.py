"""Tactical deconfliction: screening live tracks for predicted losses of separation.

Pure library (no I/O, no global state): the service feeds it arrays of track
states every cycle and turns its answers into alerts.
"""

from deconflict.tactical.incremental import CycleStats, IncrementalScreen
from deconflict.tactical.profiles import DRONE, MANNED, SeparationProfile
from deconflict.tactical.screening import ScreenResult, screen

__all__ = [
    "DRONE",
    "MANNED",
    "CycleStats",
    "IncrementalScreen",
    "ScreenResult",
    "SeparationProfile",
    "screen",
]
