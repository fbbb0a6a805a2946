"""F3548 access tokens: RS256 JWTs with `sub`, `scope` and `aud`, issued by the
deployment's OAuth server and verified here against its public keys.

The hub never issues these tokens; it only checks them. A token whose signature,
audience or lifetime does not hold is refused with 401; a valid token without
the scope an endpoint needs is refused with 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from deconflict.interop.f3548.errors import DssError

__all__ = ["Caller", "TokenVerifier", "load_public_keys"]

_MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True)
class Caller:
    """The USS a request comes from, as its token says."""

    sub: str
    scopes: frozenset[str]


def load_public_keys(paths: Sequence[Path]) -> list[RSAPublicKey]:
    keys = []
    for path in paths:
        key = load_pem_public_key(Path(path).read_bytes())
        if not isinstance(key, RSAPublicKey):
            raise ValueError(f"{path}: not an RSA public key (F3548 tokens are RS256)")
        keys.append(key)
    return keys


class TokenVerifier:
    def __init__(self, keys: Sequence[RSAPublicKey], audiences: Sequence[str]) -> None:
        self.keys = list(keys)
        self.audiences = [a for a in audiences if a]

    @property
    def enabled(self) -> bool:
        return bool(self.keys and self.audiences)

    def caller(self, authorization: str | None, needs_any_of: Sequence[str]) -> Caller:
        """The caller of a request, refused unless it holds one of ``needs_any_of``."""
        if not self.enabled:
            raise DssError(
                401,
                "this hub accepts no F3548 tokens: set DECONFLICT_DSS_PUBLIC_KEYS and "
                "DECONFLICT_DSS_AUDIENCES",
            )
        if not authorization:
            raise DssError(401, "missing Authorization: Bearer <access token>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > _MAX_TOKEN_CHARS:
            raise DssError(401, "the Authorization header must be 'Bearer <access token>'")
        claims = self._claims(token)
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise DssError(401, "the access token has no usable 'sub' claim")
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        if needs_any_of and not scopes & set(needs_any_of):
            raise DssError(
                403,
                f"this operation needs the scope {' or '.join(needs_any_of)}; "
                f"the token grants {' '.join(sorted(scopes)) or 'none'}",
            )
        return Caller(sub, scopes)

    def _claims(self, token: str) -> dict[str, Any]:
        last: Exception | None = None
        for key in self.keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=["RS256"],
                    audience=self.audiences,
                    options={"require": ["exp", "sub", "aud"]},
                    leeway=5,
                )
                return claims
            except jwt.InvalidSignatureError as exc:
                last = exc  # maybe signed with another of the configured keys
            except jwt.ExpiredSignatureError as exc:
                raise DssError(401, "the access token has expired") from exc
            except jwt.InvalidAudienceError as exc:
                raise DssError(
                    401, "the access token is not meant for this DSS (audience 'aud')"
                ) from exc
            except jwt.PyJWTError as exc:
                raise DssError(401, f"the access token is invalid: {exc}") from exc
        raise DssError(401, "the access token is not signed by a key this DSS trusts") from last
