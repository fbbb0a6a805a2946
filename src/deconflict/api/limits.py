"""Refuse what no route should parse: oversized or slow bodies, text that is not text.

The checks of the HTTP connection itself (header size and count, header read time)
are in `api/protocol.py`; the per-party bounds (requests in flight, event streams) here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deconflict.api.text import body_surrogates

__all__ = ["BodyLimit", "PartySlots", "RequestsPerToken", "refuse"]


async def refuse(
    send: Send,
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    close: bool = True,
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> None:
    """Answer a problem+json from a middleware, outside FastAPI's handlers."""
    doc = {
        "type": f"urn:deconflict:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    payload = json.dumps(doc).encode()
    out = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(payload)).encode()),
        *(headers or []),
    ]
    if close:
        out.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Pure ASGI middleware over each request body, buffered (bounded) before any route.

    413 when a body exceeds `limit` bytes (declared or streamed); 408 when it does not
    arrive whole within `timeout_s`; 422 naming the field when its JSON holds a lone
    surrogate (`api/text.py`).
    """

    def __init__(self, app: ASGIApp, limit: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.limit = limit
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        # Buffer the body (bounded) so that a chunked upload cannot exceed the limit either.
        chunks: list[bytes] = []
        size = 0
        more = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while more:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                await refuse(
                    send,
                    408,
                    "Request timeout",
                    f"the request body did not arrive within {self.timeout_s:g} s",
                    slug="timeout",
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        bad_text = body_surrogates(body)
        if bad_text:
            await refuse(
                send,
                422,
                "Invalid document",
                f"{len(bad_text)} invalid field(s); nothing was stored",
                slug="invalid",
                close=False,
                errors=[{"path": p, "message": m} for p, m in bad_text],
            )
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await refuse(
            send,
            413,
            "Request body too large",
            f"the request body exceeds the limit of {self.limit} bytes",
            slug="too-large",
        )


def _token_key(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            # a digest, so that the table of counts never holds a token
            return hashlib.sha256(value.strip()).digest()
    return None


class RequestsPerToken:
    """At most `limit` requests of one bearer token in flight at once (429 beyond).

    A party's token is the party, so this bounds what one party holds of the server
    (the connections it keeps busy) before the rate bucket is even consulted; requests
    without a token are bounded by the server's overall limit (`limit_concurrency`).
    Event streams are counted by `PartySlots`, not here.
    """

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt
        self.in_flight: Counter[bytes] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _token_key(scope) if scope["type"] == "http" else None
        if key is None or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight[key] >= self.limit:
            await refuse(
                send,
                429,
                "Too many requests",
                f"at most {self.limit} requests of one token may be in flight at once; "
                "wait for an answer before sending more",
                slug="too-many-concurrent",
                close=False,
                headers=[(b"retry-after", b"1")],
            )
            return
        self.in_flight[key] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[key] -= 1
            if self.in_flight[key] <= 0:
                del self.in_flight[key]


class PartySlots:
    """A bounded number of long-lived things (event streams) per party."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held: Counter[str] = Counter()

    def available(self, party: str) -> bool:
        return self.held[party] < self.limit

    @contextmanager
    def hold(self, party: str) -> Iterator[None]:
        self.held[party] += 1
        try:
            yield
        finally:
            self.held[party] -= 1
            if self.held[party] <= 0:
                del self.held[party]
