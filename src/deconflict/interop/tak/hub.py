"""The gateway's link to the hub: its public HTTP API only, asynchronously (httpx).

The gateway is a client of the hub like any other: it holds the party's (or a
unit's) token and sees what that token sees. Every call either returns the
hub's answer or raises `HubError` (refused, with the problem) or `HubBusyError`
(429 or 503: retry after the delay the hub asked for).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["HubBusyError", "HubError", "HubLink"]

Doc = dict[str, Any]


class HubError(Exception):
    def __init__(self, status: int, problem: Doc) -> None:
        self.status = status
        self.problem = problem
        detail = problem.get("detail") or problem.get("title") or "error"
        super().__init__(f"{status} {detail}")


class HubBusyError(Exception):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"hub busy, retry after {retry_after_s:.1f} s")


def _retry_after(r: httpx.Response) -> float:
    try:
        return max(0.1, min(60.0, float(r.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


class HubLink:
    def __init__(self, server: str, token: str, *, timeout: float = 10.0) -> None:
        self.server = server.rstrip("/")
        self.http = httpx.AsyncClient(
            base_url=self.server,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        r = await self.http.request(method, path, json=body, params=query)
        if r.status_code in (429, 503):
            raise HubBusyError(_retry_after(r))
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"title": r.reason_phrase, "detail": r.text[:200]}
            raise HubError(r.status_code, problem if isinstance(problem, dict) else {})
        return r.json()

    async def whoami(self) -> Doc:
        doc: Doc = await self.call("GET", "/v1/whoami")
        return doc

    async def post_tracks(self, reports: list[Doc]) -> Doc:
        doc: Doc = await self.call("POST", "/v1/tracks", {"reports": reports})
        return doc

    async def _paged(self, path: str, key: str, **params: Any) -> list[Doc]:
        out: list[Doc] = []
        after = None
        while True:
            page = await self.call("GET", path, after=after, **params)
            out.extend(page[key])
            after = page.get("next_after")
            if not after:
                return out

    async def active_notices(self) -> list[Doc]:
        return await self._paged("/v1/notices", "notices", state="active")

    async def open_conflicts(self) -> list[Doc]:
        doc = await self.call("GET", "/v1/conflicts", state="open")
        conflicts: list[Doc] = doc["conflicts"]
        return conflicts

    async def active_alerts(self) -> list[Doc]:
        doc = await self.call("GET", "/v1/alerts", state="active")
        alerts: list[Doc] = doc["alerts"]
        return alerts

    async def last_event_id(self) -> int:
        """Where the party's stream is now (so a start does not replay its history)."""
        after = 0
        while True:
            r = await self.http.get(
                "/v1/events",
                params={"after": after, "limit": 1000},
                headers={"Accept": "application/json"},
            )
            if r.status_code in (429, 503):
                raise HubBusyError(_retry_after(r))
            if r.status_code >= 400:
                raise HubError(r.status_code, {"detail": r.text[:200]})
            page = r.json()
            if not page["events"]:
                return int(page["last_id"])
            after = int(page["last_id"])

    async def events(self, after: int) -> AsyncIterator[Doc]:
        """The party's live stream (SSE) from after ``after``; ends when the hub goes away."""
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(after)}
        timeout = httpx.Timeout(10.0, read=60.0)  # the hub sends heartbeats well within this
        async with self.http.stream("GET", "/v1/events", headers=headers, timeout=timeout) as r:
            if r.status_code in (429, 503):
                raise HubBusyError(_retry_after(r))
            if r.status_code >= 400:
                await r.aread()
                raise HubError(r.status_code, {"detail": r.text[:200]})
            data: list[str] = []
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line == "" and data:
                    event: Doc = json.loads("\n".join(data))
                    data = []
                    yield event

    async def confirm(self, up_to: int) -> Doc:
        """The gateway has passed on every event up to ``up_to``: the hub's delivery."""
        result: Doc = await self.call("POST", "/v1/events/confirm", {"up_to": up_to})
        return result

    async def send_message(self, to: str, body: str, ref: Doc | None = None) -> Doc:
        doc: Doc = {"to": [to], "body": body, "priority": "routine"}
        if ref:
            doc["ref"] = ref
        result: Doc = await self.call("POST", "/v1/messages", doc)
        return result

    async def read_message(self, message_id: str) -> Doc:
        result: Doc = await self.call("POST", f"/v1/messages/{message_id}/read")
        return result

    async def ack_alert(self, alert_id: str, comment: str | None = None) -> Doc:
        body = {"comment": comment} if comment else {}
        result: Doc = await self.call("POST", f"/v1/alerts/{alert_id}/ack", body)
        return result
