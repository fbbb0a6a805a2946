"""A Python client of the hub's HTTP API (what the command line itself uses)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

__all__ = ["ApiError", "Client"]

Doc = dict[str, Any]


class ApiError(Exception):
    """The hub answered with an RFC 9457 problem."""

    def __init__(self, status: int, problem: Doc) -> None:
        self.status = status
        self.problem = problem
        detail = problem.get("detail") or problem.get("title") or "error"
        lines = [f"{status} {problem.get('title', '')}: {detail}".strip()]
        lines += [f"  {e.get('path')}: {e.get('message')}" for e in problem.get("errors", [])]
        super().__init__("\n".join(lines))


class Client:
    def __init__(self, server: str, token: str | None, *, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        r = self.http.request(method, path, json=body, params=query)
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"title": r.reason_phrase, "detail": r.text[:500]}
            raise ApiError(r.status_code, problem)
        return r.json()

    # -- parties ---------------------------------------------------------------
    def register_party(self, party_id: str, name: str) -> Doc:
        result: Doc = self._call("POST", "/v1/parties", {"id": party_id, "name": name})
        return result

    def parties(self) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/parties")["parties"]
        return result

    def whoami(self) -> Doc:
        result: Doc = self._call("GET", "/v1/whoami")
        return result

    def health(self) -> Doc:
        result: Doc = self._call("GET", "/healthz")
        return result

    # -- notices ---------------------------------------------------------------
    def notify(self, notice: Doc) -> Doc:
        result: Doc = self._call("POST", "/v1/notices", notice)
        return result

    def amend(self, notice_id: str, notice: Doc) -> Doc:
        result: Doc = self._call("PUT", f"/v1/notices/{notice_id}", notice)
        return result

    def cancel(self, notice_id: str, version: int | None = None) -> Doc:
        result: Doc = self._call("DELETE", f"/v1/notices/{notice_id}", version=version)
        return result

    def notice(self, notice_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/notices/{notice_id}")
        return result

    def notices(self, state: str | None = None) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/notices", state=state)["notices"]
        return result

    def check(self, notice: Doc) -> Doc:
        result: Doc = self._call("POST", "/v1/check", notice)
        return result

    # -- acknowledgements ------------------------------------------------------
    def ack(self, notice_id: str, version: int, comment: str | None = None) -> Doc:
        body: Doc = {"version": version}
        if comment:
            body["comment"] = comment
        result: Doc = self._call("POST", f"/v1/notices/{notice_id}/ack", body)
        return result

    def acks(self, role: str = "addressee", state: str | None = None) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/acks", role=role, state=state)["acks"]
        return result

    # -- conflicts -------------------------------------------------------------
    def conflicts(self, state: str | None = None) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/conflicts", state=state)["conflicts"]
        return result

    def conflict(self, conflict_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/conflicts/{conflict_id}")
        return result

    # -- hotline ---------------------------------------------------------------
    def send_message(
        self,
        to: list[str],
        body: str,
        *,
        priority: str = "routine",
        subject: str = "",
        ref: Doc | None = None,
    ) -> Doc:
        doc: Doc = {"to": to, "body": body, "priority": priority, "subject": subject}
        if ref:
            doc["ref"] = ref
        result: Doc = self._call("POST", "/v1/messages", doc)
        return result

    def messages(self, box: str = "all") -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/messages", box=box)["messages"]
        return result

    def read_message(self, message_id: str) -> Doc:
        result: Doc = self._call("POST", f"/v1/messages/{message_id}/read")
        return result

    # -- events ----------------------------------------------------------------
    def events(self, after: int = 0, limit: int = 200) -> list[Doc]:
        """One page of events after `after` (a poll, not a stream)."""
        r = self.http.get(
            "/v1/events",
            params={"after": after, "limit": limit},
            headers={"Accept": "application/json"},
        )
        if r.status_code >= 400:
            raise ApiError(r.status_code, r.json())
        result: list[Doc] = r.json()["events"]
        return result

    def stream(self, after: int | None = None) -> Iterator[Doc]:
        """Follow the live event stream (SSE) from after `after`; yields events as they come."""
        headers = {"Accept": "text/event-stream"}
        if after is not None:
            headers["Last-Event-ID"] = str(after)
        timeout = httpx.Timeout(30.0, read=None)
        with self.http.stream("GET", "/v1/events", headers=headers, timeout=timeout) as r:
            if r.status_code >= 400:
                r.read()
                raise ApiError(r.status_code, r.json())
            data: list[str] = []
            for line in r.iter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line == "" and data:
                    event: Doc = json.loads("\n".join(data))
                    data = []
                    yield event
