"""A Python client of the hub's HTTP API (what the command line itself uses)."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.ledger import merkle, statements
from deconflict.ledger.keys import SignedTreeHead, b64d, b64e, public_raw, sign_statement
from deconflict.ledger.served import compare_one

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
    """With ``key`` (the party's Ed25519 private key), notices, amendments, cancellations
    and acknowledgements are signed: the hub requires it once the party registered the key.

    Notices, amendments, cancellations, acknowledgements and messages are sent with an
    ``Idempotency-Key`` (a new random one per call) and retried once, with the same key
    and the same body, when the answer is a 503 or the connection failed: the hub answers
    the retry with what it stored the first time, so nothing is stored twice. The wait
    before that retry is the answer's ``Retry-After``, at most `retry_wait_max_s`.
    """

    def __init__(
        self,
        server: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        key: Ed25519PrivateKey | None = None,
        retry_wait_max_s: float = 5.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.server = server.rstrip("/")
        self.http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout)
        self.key = key
        self.retry_wait_max_s = retry_wait_max_s
        self._party: str | None = None

    @property
    def party(self) -> str:
        if self._party is None:
            self._party = str(self.whoami()["party"])
        return self._party

    def _sign(self, statement: Doc) -> str:
        if self.key is None:
            raise ValueError("this client has no signing key")
        return sign_statement(self.key, statement)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        r = self.http.request(method, path, json=body, params=query)
        return self._answer(r)

    def _write(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A write that must not be stored twice: sent with an Idempotency-Key, and sent
        again once with it when its answer was lost (a 503, a failed connection)."""
        query = {k: v for k, v in params.items() if v is not None}
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        try:
            r = self.http.request(method, path, json=body, params=query, headers=headers)
        except httpx.TransportError:  # it may or may not have arrived: the key tells
            r = None
        if r is None or r.status_code == 503:
            self._pause(r)
            r = self.http.request(method, path, json=body, params=query, headers=headers)
        return self._answer(r)

    def _pause(self, r: httpx.Response | None) -> None:
        try:
            wait = float(r.headers.get("retry-after", 0)) if r is not None else 0.0
        except ValueError:  # an HTTP date: not worth parsing for a bounded wait
            wait = self.retry_wait_max_s
        time.sleep(min(max(wait, 0.0), self.retry_wait_max_s))

    @staticmethod
    def _answer(r: httpx.Response) -> Any:
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"title": r.reason_phrase, "detail": r.text[:500]}
            raise ApiError(r.status_code, problem)
        return r.json()

    # -- parties ---------------------------------------------------------------
    def register_party(self, party_id: str, name: str, reachable_via: str | None = None) -> Doc:
        body: Doc = {"id": party_id, "name": name}
        if reachable_via is not None:  # issue 15: a party that never connects
            body["reachable_via"] = reachable_via
        result: Doc = self._call("POST", "/v1/parties", body)
        return result

    def parties(self) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/parties")["parties"]
        return result

    def party_keys(self, party_id: str) -> list[Doc]:
        """A party's registered keys, current last, each with its `ledger_index`."""
        result: list[Doc] = self._call("GET", f"/v1/parties/{party_id}/keys")["keys"]
        return result

    def whoami(self) -> Doc:
        result: Doc = self._call("GET", "/v1/whoami")
        return result

    def health(self) -> Doc:
        result: Doc = self._call("GET", "/healthz")
        return result

    # -- notices ---------------------------------------------------------------
    def notify(self, notice: Doc) -> Doc:
        if self.key is not None:
            notice = {k: v for k, v in notice.items() if k not in ("signature", "nonce")}
            nonce = secrets.token_urlsafe(16)
            statement = statements.notify_statement(self.party, nonce, notice)
            notice = {**notice, "nonce": nonce, "signature": self._sign(statement)}
        result: Doc = self._write("POST", "/v1/notices", notice)
        return result

    def amend(self, notice_id: str, notice: Doc) -> Doc:
        if self.key is not None:
            notice = {k: v for k, v in notice.items() if k != "signature"}
            version = int(notice.get("version") or 0)
            statement = statements.amend_statement(self.party, notice_id, version, notice)
            notice = {**notice, "signature": self._sign(statement)}
        result: Doc = self._write("PUT", f"/v1/notices/{notice_id}", notice)
        return result

    def cancel(self, notice_id: str, version: int | None = None) -> Doc:
        signature = None
        if self.key is not None:
            if version is None:
                version = int(self.notice(notice_id)["version"])
            statement = statements.cancel_statement(self.party, notice_id, version)
            signature = self._sign(statement)
        result: Doc = self._write(
            "DELETE", f"/v1/notices/{notice_id}", version=version, signature=signature
        )
        return result

    def notice(self, notice_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/notices/{notice_id}")
        return result

    def notices(self, state: str | None = None) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/notices", state=state)["notices"]
        return result

    def notices_page(self, *, after: str | None = None, limit: int = 100) -> Doc:
        """One page of the notices visible to you (every state); `next_after` continues."""
        result: Doc = self._call("GET", "/v1/notices", limit=limit, after=after)
        return result

    def check(self, notice: Doc) -> Doc:
        result: Doc = self._call("POST", "/v1/check", notice)
        return result

    # -- acknowledgements ------------------------------------------------------
    def ack(self, notice_id: str, version: int, comment: str | None = None) -> Doc:
        body: Doc = {"version": version}
        if comment:
            body["comment"] = comment
        if self.key is not None:
            statement = statements.ack_statement(self.party, notice_id, version, comment)
            body["signature"] = self._sign(statement)
        result: Doc = self._write("POST", f"/v1/notices/{notice_id}/ack", body)
        return result

    # -- relayed parties and printed notices (issue 15) ------------------------
    def relay_step(
        self, notice_id: str, version: int, step: str, recipient: str | None = None, **fields: Any
    ) -> Doc:
        """Record a step as the relay: `forwarded` (means, to), or the answer (by...)."""
        body: Doc = {"version": version, "step": step, "recipient": recipient, **fields}
        body = {k: v for k, v in body.items() if v is not None}
        if self.key is not None:
            if recipient is None:  # the statement names the recipient: ask the hub
                owed = [
                    o
                    for o in self.relay_chain(notice_id)["legs"]
                    if o["version"] == version and o["relay"] == self.party
                ]
                recipient = str(owed[0]["recipient"]) if len(owed) == 1 else None
            named = ("at", "by", "comment", "means", "recipient", "step", "to")
            statement = statements.relay_step_statement(
                self.party,
                notice_id,
                version,
                str(recipient),
                {k: body.get(k) for k in named},
            )
            body["signature"] = self._sign(statement)
        result: Doc = self._call("POST", f"/v1/notices/{notice_id}/relay", body)
        return result

    def relay_chain(self, notice_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/notices/{notice_id}/relay")
        return result

    def relay_message_step(
        self, message_id: str, step: str, recipient: str | None = None, **fields: Any
    ) -> Doc:
        """Record a step of a relayed hotline message, as its relay: `forwarded` (means,
        to), or the answer (`acknowledged` by..., `refused`, `no_answer`)."""
        body: Doc = {"step": step, "recipient": recipient, **fields}
        body = {k: v for k, v in body.items() if v is not None}
        if self.key is not None:
            if recipient is None:  # the statement names the recipient: ask the hub
                legs = [
                    g
                    for g in self.message_relay_chain(message_id)["legs"]
                    if g["relay"] == self.party
                ]
                recipient = str(legs[0]["recipient"]) if len(legs) == 1 else None
            named = ("at", "by", "comment", "means", "recipient", "step", "to")
            statement = statements.relayed_message_step_statement(
                self.party, message_id, str(recipient), {k: body.get(k) for k in named}
            )
            body["signature"] = self._sign(statement)
        result: Doc = self._call("POST", f"/v1/messages/{message_id}/relay", body)
        return result

    def message_relay_chain(self, message_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/messages/{message_id}/relay")
        return result

    def relay_owed(self) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/relay/owed")["owed"]
        return result

    def printable(
        self, notice_id: str, fmt: str = "text", lang: str | None = None
    ) -> tuple[bytes, str]:
        """The printed notice (text or PDF bytes) in `lang` and its verification code."""
        params = {"format": fmt, **({"lang": lang} if lang is not None else {})}
        r = self.http.get(f"/v1/notices/{notice_id}/printable", params=params)
        if r.status_code >= 400:
            raise ApiError(r.status_code, r.json())
        return r.content, r.headers["x-verification-code"]

    def verify_paper(self, code: str, text: str | None = None) -> Doc | None:
        """Unauthenticated: what a printed code matches (None: nothing)."""
        body: Doc = {"code": code, **({"text": text} if text is not None else {})}
        r = self.http.post("/v1/paper/verify", json=body)
        if r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise ApiError(r.status_code, r.json())
        result: Doc = r.json()
        return result

    def acks(
        self, role: str = "addressee", state: str | None = None, *, include_superseded: bool = False
    ) -> list[Doc]:
        result: list[Doc] = self._call(
            "GET",
            "/v1/acks",
            role=role,
            state=state,
            include_superseded="true" if include_superseded else None,
        )["acks"]
        return result

    # -- conflicts -------------------------------------------------------------
    def conflicts(self, state: str | None = None) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/conflicts", state=state)["conflicts"]
        return result

    def conflict(self, conflict_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/conflicts/{conflict_id}")
        return result

    # -- alerts ----------------------------------------------------------------
    def alerts(self, state: str | None = None, limit: int = 1000) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/alerts", state=state, limit=limit)["alerts"]
        return result

    def alert(self, alert_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/alerts/{alert_id}")
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
        result: Doc = self._write("POST", "/v1/messages", doc)
        return result

    def messages(self, box: str = "all") -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/messages", box=box)["messages"]
        return result

    def read_message(self, message_id: str) -> Doc:
        result: Doc = self._call("POST", f"/v1/messages/{message_id}/read")
        return result

    # -- ledger ----------------------------------------------------------------
    def set_key(self, party_id: str | None = None, public_key: bytes | None = None) -> Doc:
        """Register (or rotate to) ``public_key`` (default: this client's key)."""
        if public_key is None:
            if self.key is None:
                raise ValueError("no key to register")
            public_key = public_raw(self.key)
        party = party_id or self.party
        result: Doc = self._call(
            "PUT", f"/v1/parties/{party}/key", {"public_key": b64e(public_key)}
        )
        return result

    def ledger_key(self) -> Doc:
        result: Doc = self._call("GET", "/v1/ledger/key")
        return result

    def ledger_head(self) -> Doc:
        result: Doc = self._call("GET", "/v1/ledger/head")
        return result

    def ledger_entries(self, start: int = 0, end: int | None = None) -> Doc:
        result: Doc = self._call("GET", "/v1/ledger/entries", start=start, end=end)
        return result

    def inclusion_proof(self, index: int, tree_size: int) -> Doc:
        result: Doc = self._call(
            "GET", "/v1/ledger/proof/inclusion", index=index, tree_size=tree_size
        )
        return result

    def consistency_proof(self, first: int, second: int) -> Doc:
        result: Doc = self._call("GET", "/v1/ledger/proof/consistency", first=first, second=second)
        return result

    def checkpoint(self, tree_size: int | None = None) -> Doc:
        result: Doc = self._call("GET", "/v1/ledger/checkpoint", tree_size=tree_size)
        return result

    def add_cosignature(self, note: str) -> Doc:
        result: Doc = self._call("POST", "/v1/ledger/cosignatures", {"checkpoint": note})
        return result

    def check_served(self, obj: Doc, hub_key: bytes) -> list[str]:
        """Hold a served notice, acknowledgement, message, conflict or alert to the ledger
        entry it names (`ledger_index`) and that entry's inclusion proof in a head signed by
        ``hub_key`` (the key you pinned). Returns the problems: none means it is what the log
        says."""
        index = obj.get("ledger_index")
        if not isinstance(index, int) or isinstance(index, bool):
            return ["the object names no ledger entry (ledger_index): it is not in the log"]
        head = SignedTreeHead.from_json(self.ledger_head())
        if not head.verify(hub_key):
            return ["the tree head is not signed by the hub key"]
        page = self.ledger_entries(index, index + 1)["entries"]
        if not page or page[0].get("entry") is None:
            return [f"ledger entry {index} is not readable by you"]
        text = str(page[0]["entry"])
        proof = self.inclusion_proof(index, head.tree_size)
        path = [b64d(p) for p in proof.get("proof", [])]
        leaf = merkle.leaf_hash(text.encode("utf-8"))
        if not merkle.verify_inclusion(leaf, index, head.tree_size, path, head.root_hash):
            return [f"ledger entry {index} is not in the signed log (its inclusion proof fails)"]
        return compare_one(obj, index, json.loads(text), self.party)

    def evidence(self, notice_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/notices/{notice_id}/evidence")
        return result

    # -- events ----------------------------------------------------------------
    def events(self, after: int = 0, limit: int = 200, *, path: str = "/v1/events") -> list[Doc]:
        """One page of events after `after` (a poll, not a stream; asking after N confirms
        through N). `path`: "/v1/unit/events" for a unit's (issue 15)."""
        r = self.http.get(
            path,
            params={"after": after, "limit": limit},
            headers={"Accept": "application/json"},
        )
        if r.status_code >= 400:
            raise ApiError(r.status_code, r.json())
        result: list[Doc] = r.json()["events"]
        return result

    def stream(
        self, after: int | None = None, *, idle: bool = False, path: str = "/v1/events"
    ) -> Iterator[Doc | None]:
        """Follow the live event stream (SSE) from after `after`; yields events as they come
        (and, with `idle`, None at each heartbeat: a moment to `confirm` what was shown).

        `path`: "/v1/unit/events" for a unit's stream (issue 15).
        """
        headers = {"Accept": "text/event-stream"}
        if after is not None:
            headers["Last-Event-ID"] = str(after)
        timeout = httpx.Timeout(30.0, read=None)
        with self.http.stream("GET", path, headers=headers, timeout=timeout) as r:
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
                elif idle and line.startswith(": heartbeat"):
                    yield None

    def confirm(self, up_to: int) -> Doc:
        """Tell the hub this client has (has shown) every event up to `up_to`: that is
        what records the deliveries of the notices and messages among them."""
        result: Doc = self._call("POST", "/v1/events/confirm", {"up_to": up_to})
        return result

    # -- units (issue 15) --------------------------------------------------------
    # The party's side, with the party's token.
    def create_unit(
        self,
        unit_id: str,
        area: Doc,
        *,
        kinds: list[str] | None = None,
        name: str | None = None,
        share_with_issuers: bool = False,
    ) -> Doc:
        """Create a unit (``party/name``); the answer holds its token, shown once."""
        body: Doc = {"id": unit_id, "area": area, "share_with_issuers": share_with_issuers}
        if kinds is not None:
            body["kinds"] = kinds
        if name is not None:
            body["name"] = name
        result: Doc = self._call("POST", "/v1/units", body)
        return result

    def units(self) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/units")["units"]
        return result

    def unit(self, unit_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/units/{unit_id}")
        return result

    def update_unit(self, unit_id: str, **changes: Any) -> Doc:
        """Change `name`, `area`, `kinds` or `share_with_issuers`."""
        result: Doc = self._call("PATCH", f"/v1/units/{unit_id}", changes)
        return result

    def disable_unit(self, unit_id: str) -> Doc:
        result: Doc = self._call("DELETE", f"/v1/units/{unit_id}")
        return result

    def rotate_unit_token(self, unit_id: str) -> Doc:
        """A new token for one of your units (the old one stops working); shown once."""
        result: Doc = self._call("POST", f"/v1/units/{unit_id}/token")
        return result

    def notice_units(self, notice_id: str) -> Doc:
        """Which of your units have received and acknowledged a notice you received."""
        result: Doc = self._call("GET", f"/v1/notices/{notice_id}/units")
        return result

    def unit_deliveries(self, state: str | None = None) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/unit-deliveries", state=state)["deliveries"]
        return result

    # The unit's side, with the unit's token.
    def unit_whoami(self) -> Doc:
        result: Doc = self._call("GET", "/v1/unit")
        return result

    def unit_notices(self) -> list[Doc]:
        result: list[Doc] = self._call("GET", "/v1/unit/notices")["notices"]
        return result

    def unit_notice(self, notice_id: str) -> Doc:
        result: Doc = self._call("GET", f"/v1/unit/notices/{notice_id}")
        return result

    def unit_ack(self, notice_id: str, version: int, comment: str | None = None) -> Doc:
        body: Doc = {"version": version}
        if comment is not None:
            body["comment"] = comment
        result: Doc = self._write("POST", f"/v1/unit/notices/{notice_id}/ack", body)
        return result

    def unit_confirm(self, last_event_id: int) -> Doc:
        """Confirm that this unit received every event up to `last_event_id`."""
        result: Doc = self._call("POST", "/v1/unit/confirm", {"last_event_id": last_event_id})
        return result

    def unit_events(self, after: int = 0, limit: int = 200) -> list[Doc]:
        """One page of the unit's events after `after` (asking after N confirms through N)."""
        return self.events(after, limit, path="/v1/unit/events")
