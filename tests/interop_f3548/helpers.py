"""Helpers of the F3548 DSS tests: signing keys, access tokens, F3548 documents."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SC = "utm.strategic_coordination"
CM = "utm.constraint_management"
CP = "utm.constraint_processing"
AA = "utm.availability_arbitration"
AUDIENCE = "localhost"


class Issuer:
    """An OAuth server's RS256 key, minting F3548 access tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write_public(self, path: Path) -> Path:
        path.write_bytes(
            self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return path

    def token(
        self,
        sub: str,
        scopes: str = SC,
        *,
        aud: str = AUDIENCE,
        lifetime_s: int = 3600,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": sub,
            "scope": scopes,
            "aud": aud,
            "iss": "test-oauth",
            "nbf": now - 1,
            "exp": now + lifetime_s,
            **extra,
        }
        return jwt.encode(claims, self.key, algorithm="RS256")


class Uss:
    """An httpx client of one USS, with a token per scope set."""

    def __init__(self, url: str, issuer: Issuer, sub: str) -> None:
        self.sub = sub
        self.issuer = issuer
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def call(self, method: str, path: str, body: Any = None, scopes: str = SC) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.issuer.token(self.sub, scopes)}"}
        return self.http.request(method, path, json=body, headers=headers)

    def ok(
        self, method: str, path: str, body: Any = None, status: int = 200, scopes: str = SC
    ) -> Any:
        r = self.call(method, path, body, scopes)
        assert r.status_code == status, (r.status_code, r.text)
        return r.json()

    def close(self) -> None:
        self.http.close()


def new_id() -> str:
    return str(uuid.uuid4())


def t(minutes: float) -> dict[str, str]:
    value = datetime.now(UTC) + timedelta(minutes=minutes)
    return {"value": value.isoformat().replace("+00:00", "Z"), "format": "RFC3339"}


def circle(
    lat: float,
    lng: float,
    radius_m: float,
    *,
    start_min: float = 10,
    minutes: float = 60,
    lower_m: float = 0,
    upper_m: float = 120,
) -> dict[str, Any]:
    return {
        "volume": {
            "outline_circle": {
                "center": {"lat": lat, "lng": lng},
                "radius": {"value": radius_m, "units": "M"},
            },
            "altitude_lower": {"value": lower_m, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": upper_m, "reference": "W84", "units": "M"},
        },
        "time_start": t(start_min),
        "time_end": t(start_min + minutes),
    }


def intent(
    extents: list[dict[str, Any]],
    *,
    key: list[str] | None = None,
    state: str = "Accepted",
    subscription_id: str | None = None,
    url: str = "https://uss.example/f3548",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extents": extents,
        "key": key or [],
        "state": state,
        "uss_base_url": url,
    }
    if subscription_id:
        body["subscription_id"] = subscription_id
    else:
        body["new_subscription"] = {"uss_base_url": url, "notify_for_constraints": False}
    return body
