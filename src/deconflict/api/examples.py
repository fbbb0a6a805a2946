"""Request examples shown in the OpenAPI document."""

from __future__ import annotations

from typing import Any

__all__ = ["ACK_EXAMPLE", "MESSAGE_EXAMPLE", "NOTICE_EXAMPLE", "PARTY_EXAMPLE"]

PARTY_EXAMPLE: dict[str, Any] = {"id": "coalition", "name": "U.S.-led coalition"}

NOTICE_EXAMPLE: dict[str, Any] = {
    "kind": "air_activity",
    "title": "Strike package BRAVO",
    "remarks": "Four aircraft, ingress from the south",
    "priority": 10,
    "addressees": ["russia"],
    "ack_deadline": "2030-09-30T05:00:00Z",
    "volumes": [
        {
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[36.10, 35.20], [36.40, 35.20], [36.40, 35.45], [36.10, 35.20]]],
            },
            "altitude_lower": {"value": 15000, "units": "FT", "reference": "AMSL"},
            "altitude_upper": {"value": 25000, "units": "FT", "reference": "AMSL"},
            "time_start": "2030-09-30T06:00:00Z",
            "time_end": "2030-09-30T09:00:00Z",
        }
    ],
}

ACK_EXAMPLE: dict[str, Any] = {
    "version": 1,
    "comment": "Received; passed to the air operations centre",
}

MESSAGE_EXAMPLE: dict[str, Any] = {
    "to": ["russia"],
    "priority": "urgent",
    "subject": "Package BRAVO",
    "body": "Please confirm your patrol will stay north of 35.5N until 09:00Z.",
    "ref": {"type": "notice", "id": "n-01a210858b360123456789abcdef"},
}
