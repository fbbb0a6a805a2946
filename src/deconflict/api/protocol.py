"""uvicorn's HTTP/1.1 protocol (httptools), with the limits a careful reverse proxy sets.

uvicorn bounds neither the size nor the number of request headers nor the time a client
may take to send them (with httptools; h11 bounds the size only): one request with a
128 MiB header, or a thousand connections that never finish their headers, would hold
the hub's memory and sockets. This subclass answers such a client and closes:

- 431 when the request line and headers exceed `max_header_bytes`, or there are more
  than `max_headers` of them;
- 408 when the headers have not arrived whole `header_timeout_s` after the connection
  opened or the request began (a slow client: "slowloris");
- 503 (a problem, as every other refusal, where uvicorn answers in plain text) when
  `limit_concurrency` connections or requests are already open.

The body has its own limits (size and read time) in `api/limits.BodyLimit`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["guarded_protocol"]


class _HeadRefused(Exception):  # noqa: N818 - raised inside the parser's callbacks, never out
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = 32 * 1024
    max_headers = 100
    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # bytes received since the request began, until its headers end
        self._in_head = True
        self._header_count = 0
        self._head_size = 0  # what the parser handed over: the URL and the header fields
        self._head_timer: asyncio.TimerHandle | None = None

    # -- the timer of the head: armed when a request may begin, cancelled at its end
    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and self._head_bytes > 0 and not self.transport.is_closing():
            self._refuse(
                408,
                "Request Timeout",
                f"the request headers did not arrive within {self.header_timeout_s:g} s",
            )
        elif not self.transport.is_closing():
            self.transport.close()  # connected and silent: nothing to answer

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        self._in_head, self._head_size, self._header_count = True, 0, 0
        super().on_message_begin()

    def on_message_complete(self) -> None:
        # What comes next is the head of the next request: its timer starts with its
        # first byte (`data_received`); until then uvicorn's keep-alive timeout runs.
        self._in_head, self._head_bytes = True, 0
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        # uvicorn's own data_received, but a refusal raised by a parser callback comes
        # back out of the parser (as the context of its callback error) and is answered.
        self._unset_keepalive_if_required()
        if self._in_head:
            if self._head_bytes == 0 and self._head_timer is None:
                self._arm_head_timer()
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _HeadRefused):
                refused = exc.__context__
                self._refuse(refused.status, refused.reason, refused.detail)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head and self._head_bytes > self.max_header_bytes:
            self._refuse(*self._too_large())

    def _too_large(self) -> tuple[int, str, str]:
        return (
            431,
            "Request Header Fields Too Large",
            f"the request line and headers exceed {self.max_header_bytes} bytes",
        )

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        self._header_count += 1
        if self._header_count > self.max_headers:
            raise _HeadRefused(
                431,
                "Request Header Fields Too Large",
                f"a request may carry at most {self.max_headers} header fields",
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        self._cancel_head_timer()
        if self._head_size > self.max_header_bytes:  # all of it came in one read
            raise _HeadRefused(*self._too_large())
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            # uvicorn's own answer here is a text/plain 503; the document promises a problem
            self.logger.warning("Exceeded concurrency limit.")
            raise _HeadRefused(
                503,
                "Service Unavailable",
                f"the hub is serving as many connections and requests as it takes ({limit}); "
                "try again shortly",
            )
        super().on_headers_complete()

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        body = json.dumps(
            {
                "type": "urn:deconflict:problem:"
                + {408: "timeout", 503: "busy"}.get(status, "headers-too-large"),
                "title": reason,
                "status": status,
                "detail": detail,
            }
        ).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "content-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()


def guarded_protocol(
    *, max_header_bytes: int, max_headers: int, header_timeout_s: float
) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with these limits, for `uvicorn.Config(http=...)`."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "max_header_bytes": max_header_bytes,
            "max_headers": max_headers,
            "header_timeout_s": header_timeout_s,
        },
    )
