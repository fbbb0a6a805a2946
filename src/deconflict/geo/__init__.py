"""Geometry of 4D volumes: parsing, validation, exact distance and overlap.

Pure library: no I/O, no global state beyond immutable constants.
"""

from deconflict.geo.altitude import FOOT_M, AltitudeBand, Reference, VerticalMargins
from deconflict.geo.ellipsoid import GEOD, Frame, geodesic_distance, max_stretch
from deconflict.geo.errors import ErrorCollector, FieldError, GeoValidationError
from deconflict.geo.footprint import Footprint, FootprintLimits, Shape, parse_footprint
from deconflict.geo.timewindow import TimeWindow, format_utc, parse_rfc3339
from deconflict.geo.volume import Limits, Volume4D, parse_volume, parse_volumes

__all__ = [
    "FOOT_M",
    "GEOD",
    "AltitudeBand",
    "ErrorCollector",
    "FieldError",
    "Footprint",
    "FootprintLimits",
    "Frame",
    "GeoValidationError",
    "Limits",
    "Reference",
    "Shape",
    "TimeWindow",
    "VerticalMargins",
    "Volume4D",
    "format_utc",
    "geodesic_distance",
    "max_stretch",
    "parse_footprint",
    "parse_rfc3339",
    "parse_volume",
    "parse_volumes",
]
