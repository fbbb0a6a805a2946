"""Idempotency keys (issue 14): a write retried with its key is stored once, on any process.

Over the real server (SQLite and PostgreSQL), and, on PostgreSQL, over two hub processes
on one database: the first attempt's answer is never read by the client, which retries
on the other process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from deconflict.api.openapi import IDEMPOTENCY_PARAMETER
from deconflict.api.server import ServerThread
from deconflict.client import ApiError, Client
from deconflict.ledger.keys import b64d
from deconflict.service import Hub
from deconflict.service.idempotency import MAX_KEY, MIN_KEY, parse_key
from deconflict.utc import format_ts
from tests.postgres import PostgresServer
from tests.service.helpers import ADMIN_TOKEN, Api, World, make_settings, notice

WAIT_S = 120.0  # generous: a loaded CI machine


def _key() -> str:
    return str(uuid.uuid4())


def _post(api: Api, path: str, body: Any, key: str | None, **kw: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(path, body, headers=headers, **kw)


def _ledger(w: World) -> list[dict[str, Any]]:
    entries = w.admin.ok("GET", "/v1/ledger/entries")["entries"]
    return [json.loads(e["entry"]) for e in entries]


def _versions_of(w: World, notice_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in _ledger(w)
        if e.get("type") == "notice_version" and e.get("notice_id") == notice_id
    ]


def _wait(what: Callable[[], Any], why: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while True:
        found = what()
        if found:
            return found
        assert time.monotonic() < deadline, why
        time.sleep(0.05)


def test_a_retried_notice_is_stored_once_and_answered_as_the_first_time(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    key = _key()
    body = notice(["russia"])
    first = _post(co, "/v1/notices", body, key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    size = len(_ledger(world))
    again = _post(co, "/v1/notices", body, key)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # one notice, one ledger entry, one event to the addressee
    assert [n["id"] for n in co.ok("GET", "/v1/notices")["notices"]] == [first.json()["id"]]
    assert len(_ledger(world)) == size
    assert len(_versions_of(world, first.json()["id"])) == 1
    received = [e for e in ru.events() if e["type"] == "notice_received"]
    assert len(received) == 1
    # the IETF draft's form of the value (a quoted string) is the same key
    quoted = _post(co, "/v1/notices", body, f'"{key}"')
    assert quoted.status_code == 201 and quoted.json()["id"] == first.json()["id"]
    # without a key, the same document is another notice (nothing changes for old clients)
    other = _post(co, "/v1/notices", body, None)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_request_is_refused_and_stores_nothing(
    world: World,
) -> None:
    co = world.party("coalition")
    key = _key()
    first = _post(co, "/v1/notices", notice(["russia"], title="strike"), key)
    assert first.status_code == 201
    size = len(_ledger(world))
    for path, body in (
        ("/v1/notices", notice(["russia"], title="another strike")),
        ("/v1/messages", {"to": ["russia"], "subject": "s", "body": "b"}),
    ):
        r = _post(co, path, body, key)
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["type"] == "urn:deconflict:problem:idempotency-key-reused"
        assert problem["header"] == "Idempotency-Key"
        assert "Idempotency-Key" in problem["detail"] and "another request" in problem["detail"]
    assert len(co.ok("GET", "/v1/notices")["notices"]) == 1
    assert co.ok("GET", "/v1/messages", None)["messages"] == []
    assert len(_ledger(world)) == size


def test_another_party_with_the_same_key_has_its_own_and_learns_nothing(
    world: World,
) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    key = _key()
    secret = notice(["un"], title="coalition's secret strike")
    mine = _post(co, "/v1/notices", secret, key)
    assert mine.status_code == 201
    # russia guesses the key and sends the same document: it is russia's own request
    theirs = _post(ru, "/v1/notices", secret, key)
    assert theirs.status_code == 201, theirs.text
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["issuer"] == "russia"
    # and with another document: no "key reused" either (nothing tells it the key exists)
    probe = _post(ru, "/v1/notices", notice(["un"], lon=40.0, title="probe"), _key())
    assert probe.status_code == 201
    reuse = _post(ru, "/v1/messages", {"to": ["un"], "subject": "s", "body": "b"}, key)
    assert reuse.status_code == 422  # russia's own key, used by russia for its notice
    assert "coalition" not in reuse.text and "secret" not in reuse.text
    # coalition's retry still gets coalition's answer
    again = _post(co, "/v1/notices", secret, key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == mine.json()["id"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("short", "characters long"),
        ("x" * (MAX_KEY + 1), "characters long"),
        ("spaces are not allowed in a key", "may contain only"),
        ("ünïcødé-ünïcødé-ünïcødé", "may contain only"),
        ('"' + "a" * 20, "may contain only"),
    ],
)
def test_a_malformed_key_is_a_400_naming_the_header(world: World, value: str, says: str) -> None:
    co = world.party("coalition")
    r = co.http.post(
        "/v1/notices",
        content=json.dumps(notice(["russia"])).encode(),
        headers={b"Idempotency-Key": value.encode("utf-8"), b"Content-Type": b"application/json"},
    )
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["type"] == "urn:deconflict:problem:invalid-idempotency-key"
    assert problem["errors"][0]["path"] == "header.Idempotency-Key"
    assert says in problem["errors"][0]["message"]
    assert co.ok("GET", "/v1/notices")["notices"] == []


def test_two_key_headers_are_a_400(world: World) -> None:
    co = world.party("coalition")
    r = co.http.post(
        "/v1/notices",
        json=notice(["russia"]),
        headers=[("Idempotency-Key", _key()), ("Idempotency-Key", _key())],
    )
    assert r.status_code == 400, r.text
    assert "one Idempotency-Key header, not 2" in r.json()["errors"][0]["message"]


def test_amend_cancel_ack_and_message_retries_are_stored_once(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    # amend
    key = _key()
    body = {**notice(["russia"], title="amended"), "version": 1}
    first = co.put(f"/v1/notices/{n['id']}", body, headers={"Idempotency-Key": key})
    again = co.put(f"/v1/notices/{n['id']}", body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.json()["version"] == 2
    assert again.headers["idempotent-replayed"] == "true"
    # without the key the same amendment is refused: version 1 is no longer current
    assert co.put(f"/v1/notices/{n['id']}", body).status_code == 409
    # acknowledge
    key = _key()
    ack = {"version": 2, "comment": "seen"}
    first = _post(ru, f"/v1/notices/{n['id']}/ack", ack, key)
    again = _post(ru, f"/v1/notices/{n['id']}/ack", ack, key)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    # a message
    key = _key()
    msg = {"to": ["russia"], "subject": "deconfliction", "body": "call us"}
    first = _post(co, "/v1/messages", msg, key)
    again = _post(co, "/v1/messages", msg, key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert len(ru.ok("GET", "/v1/messages", None)["messages"]) == 1
    # cancel (the query is the request: another version under the same key is refused)
    key = _key()
    first = co.delete(f"/v1/notices/{n['id']}?version=2", headers={"Idempotency-Key": key})
    again = co.delete(f"/v1/notices/{n['id']}?version=2", headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.json()["state"] == "cancelled"
    other = co.delete(f"/v1/notices/{n['id']}?version=3", headers={"Idempotency-Key": key})
    assert other.status_code == 422
    versions = _versions_of(world, n["id"])
    assert [v.get("version") for v in versions] == [1, 2, 3]


def test_a_refused_write_is_not_remembered(world: World) -> None:
    co = world.party("coalition")
    key = _key()
    bad = notice(["nobody-of-that-name"])
    assert _post(co, "/v1/notices", bad, key).status_code == 422
    # nothing was stored, so the key is still free: the corrected document goes through
    good = _post(co, "/v1/notices", notice(["russia"]), key)
    assert good.status_code == 201, good.text
    assert "idempotent-replayed" not in good.headers


def test_the_client_sends_a_key_and_retries_once_with_it(world: World) -> None:
    sent: list[str | None] = []

    def fail_first_answer(response: httpx.Response) -> None:
        # The hub stored it; the client is told 503, as when the COMMIT's answer was lost
        sent.append(response.request.headers.get("idempotency-key"))
        if len(sent) == 1:
            response.status_code = 503

    client = Client(world.url, world.tokens["coalition"])
    client.http.event_hooks["response"].append(fail_first_answer)
    try:
        done = client.notify(notice(["russia"]))
    finally:
        client.close()
    assert len(sent) == 2 and sent[0] is not None and sent[0] == sent[1]
    co = world.party("coalition")
    assert [n["id"] for n in co.ok("GET", "/v1/notices")["notices"]] == [done["id"]]


def test_the_client_gives_up_after_one_retry(world: World) -> None:
    sent: list[str | None] = []

    def always_503(response: httpx.Response) -> None:
        sent.append(response.request.headers.get("idempotency-key"))
        response.status_code = 503

    client = Client(world.url, world.tokens["coalition"])
    client.http.event_hooks["response"].append(always_503)
    try:
        with pytest.raises(ApiError) as raised:
            client.send_message(["russia"], "b", subject="s")
    finally:
        client.close()
    assert raised.value.status == 503
    assert len(sent) == 2 and sent[0] == sent[1]


def test_the_documented_key_is_the_one_the_service_takes() -> None:
    schema = IDEMPOTENCY_PARAMETER["schema"]
    assert (schema["minLength"], schema["maxLength"]) == (MIN_KEY, MAX_KEY)
    assert parse_key(["a" * MIN_KEY]) == "a" * MIN_KEY
    assert parse_key([str(uuid.uuid4()).upper()]) is not None
    assert parse_key(["AbC0+/=._~:-" * 2]) is not None


# -- expiry --------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_keys_expire_and_the_sweep_prunes_them(tmp_path: Path) -> None:
    clock = _Clock()
    hub = Hub(make_settings(tmp_path / "hub.db", idempotency_ttl_s=3600), clock=clock)
    hub.start(sweep=False)
    try:
        admin = hub.authenticate(ADMIN_TOKEN)
        asyncio.run(hub.register_party(admin, {"id": "russia", "name": "russia"}))
        co = hub.authenticate(
            asyncio.run(hub.register_party(admin, {"id": "co", "name": "co"}))["token"]
        )
        key = _key()
        body = notice(["russia"])

        def send() -> dict[str, Any]:
            once = hub.once(co, [key], "notify", "", body)
            return asyncio.run(hub.notify(co, body, once))

        first = send()
        clock.now += timedelta(minutes=59)
        assert hub.sweep()["idempotency_keys_expired"] == 0
        assert send()["id"] == first["id"]  # still within the hour
        clock.now += timedelta(minutes=2)
        # expired: the key names a new request now (and the old row is replaced)
        later = send()
        assert later["id"] != first["id"]
        clock.now += timedelta(hours=2)
        assert hub.sweep()["idempotency_keys_expired"] == 1
        with hub.store.read() as repo:
            assert repo.idempotency.get("co", key) is None
    finally:
        hub.close()


# -- two processes on one PostgreSQL database --------------------------------------------


@pytest.fixture
def two(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[tuple[World, ServerThread]]:
    with postgres_server.database() as dsn:
        backend = {"db_url": dsn, "hub_key_file": tmp_path / "hub-key.pem"}
        a = World(tmp_path, **backend)
        b: ServerThread | None = None
        try:
            b = ServerThread(make_settings(tmp_path / "b.db", **backend)).start()
            yield a, b
        finally:
            if b is not None:
                b.stop()
            a.stop()


def _on(w: World, server: ServerThread, party: str) -> Api:
    """`party`'s client on `server`, once that process honours its token."""
    api = Api(server.url, w.tokens[party], party)
    w.clients.append(api)
    _wait(lambda: api.get("/v1/whoami").status_code == 200, f"{party} unknown on B")
    return api


def _send_and_never_read(url: str, token: str, key: str, body: Any) -> socket.socket:
    """POST a notice on a raw connection whose answer this client will never read."""
    where = urlsplit(url)
    data = json.dumps(body).encode()
    head = (
        f"POST /v1/notices HTTP/1.1\r\nHost: {where.hostname}\r\n"
        f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    conn = socket.create_connection((where.hostname, where.port or 80), timeout=WAIT_S)
    conn.sendall(head.encode() + data)
    return conn


def test_the_answer_lost_on_one_process_is_given_by_the_other(
    two: tuple[World, ServerThread],
) -> None:
    a, b = two
    on_a = a.party("coalition")
    on_b = _on(a, b, "coalition")
    key = _key()
    body = notice(["russia"])
    conn = _send_and_never_read(a.url, a.tokens["coalition"], key, body)
    try:
        # the COMMIT succeeded on A (the notice is there) ...
        stored = _wait(lambda: on_a.ok("GET", "/v1/notices")["notices"], "A never stored it")
    finally:
        conn.close()  # ... and the client hangs up without having read the answer
    size = len(_ledger(a))
    retry = _post(on_b, "/v1/notices", body, key)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == stored[0]["id"]
    assert retry.json()["version"] == 1
    assert len(on_b.ok("GET", "/v1/notices")["notices"]) == 1
    assert len(_ledger(a)) == size
    assert len(_versions_of(a, stored[0]["id"])) == 1


def test_the_same_key_sent_at_once_to_two_processes_is_stored_once(
    two: tuple[World, ServerThread],
) -> None:
    a, b = two
    clients = [a.party("coalition"), _on(a, b, "coalition")]
    for round_ in range(4):
        key = _key()
        body = notice(["russia"], lon=30.0 + round_)
        start = threading.Barrier(2)
        answers: list[httpx.Response | None] = [None, None]

        def send(
            i: int,
            start: threading.Barrier = start,
            answers: list[httpx.Response | None] = answers,
            key: str = key,
            body: dict[str, Any] = body,
        ) -> None:
            start.wait()
            answers[i] = _post(clients[i], "/v1/notices", body, key)

        threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = [r for r in answers if r is not None]
        assert [r.status_code for r in got] == [201, 201], [r.text for r in got]
        assert got[0].json()["id"] == got[1].json()["id"]
        # one of them was answered from the other's write
        assert sorted(r.headers.get("idempotent-replayed", "") for r in got) == ["", "true"]
    assert len(clients[0].ok("GET", "/v1/notices")["notices"]) == 4


def test_a_unit_has_keys_of_its_own(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    area = {
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[36.0, 35.0], [36.5, 35.0], [36.5, 35.6], [36.0, 35.0]]],
        }
    }
    made = co.ok("POST", "/v1/units", {"id": "coalition/west", "area": area}, 201)
    west = world.client(made["token"], "coalition/west")
    n = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    key = _key()
    ack = {"version": 1, "comment": "crew briefed"}
    first = _post(west, f"/v1/unit/notices/{n['id']}/ack", ack, key)
    again = _post(west, f"/v1/unit/notices/{n['id']}/ack", ack, key)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    # the unit's party uses the same key value for a notice: its own key, not the unit's
    mine = _post(co, "/v1/notices", notice(["russia"]), key)
    assert mine.status_code == 201, mine.text
    assert "idempotent-replayed" not in mine.headers


def test_writers_whose_process_is_killed_retry_on_the_other_and_store_each_once(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Issue 14 item 5: kill -9 one of two processes under client writes; every write a
    client retries on the survivor (with its key) is stored, and none twice."""
    with postgres_server.database() as dsn:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        env = {
            **os.environ,
            "DECONFLICT_ADMIN_TOKEN": ADMIN_TOKEN,
            "DECONFLICT_HUB_KEY_FILE": str(tmp_path / "hub-key.pem"),
            "DECONFLICT_RATE_PER_S": "10000",  # the writers are not to be throttled
            "DECONFLICT_RATE_BURST": "10000",
        }
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "deconflict", "serve", "--db", dsn, "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        survivor: ServerThread | None = None
        try:
            url = f"http://127.0.0.1:{port}"
            admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

            def up() -> bool:
                try:
                    return admin.get("/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            _wait(up, "the first process never started")
            tokens = {}
            for p in ("coalition", "russia"):
                r = admin.post("/v1/parties", json={"id": p, "name": p})
                assert r.status_code == 201, r.text
                tokens[p] = r.json()["token"]
            admin.close()
            survivor = ServerThread(
                make_settings(tmp_path / "b.db", db_url=dsn, hub_key_file=tmp_path / "hub-key.pem")
            ).start()
            auth = {"Authorization": f"Bearer {tokens['coalition']}"}
            on_b = httpx.Client(base_url=survivor.url, headers=auth, timeout=60)
            _wait(lambda: on_b.get("/v1/whoami").status_code == 200, "B never knew the party")
            sent: dict[str, dict[str, Any]] = {}  # key -> body, every write attempted
            lost: list[str] = []  # keys whose answer never came
            refused: list[str] = []  # answers other than 201 (none expected)
            lock = threading.Lock()
            stop = threading.Event()

            def write(worker: int) -> None:
                with httpx.Client(base_url=url, headers=auth, timeout=60) as on_a:
                    i = 0
                    while not stop.is_set():
                        key, body = _key(), notice(["russia"], lon=(worker * 50 + i * 0.3) % 170)
                        i += 1
                        with lock:
                            sent[key] = body
                        headers = {"Idempotency-Key": key}
                        try:
                            r = on_a.post("/v1/notices", json=body, headers=headers)
                            if r.status_code != 201:
                                with lock:
                                    refused.append(r.text)
                        except httpx.TransportError:
                            with lock:
                                lost.append(key)
                            return

            workers = [threading.Thread(target=write, args=(w,)) for w in (0, 1)]
            for t in workers:
                t.start()
            # kill A while the writers are busy: after some of their notices are stored
            _wait(
                lambda: len(on_b.get("/v1/notices").json()["notices"]) >= 10,
                "A stored nothing",
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            for t in workers:
                t.join(WAIT_S)
            stop.set()
            assert refused == []
            assert lost, "the kill cut no request short"
            replayed = 0
            for key in lost:  # each client retries its lost write on the survivor
                r = on_b.post("/v1/notices", json=sent[key], headers={"Idempotency-Key": key})
                assert r.status_code == 201, r.text
                replayed += r.headers.get("idempotent-replayed") == "true"
            stored = on_b.get("/v1/notices", params={"limit": 1000}).json()["notices"]
            # each write stored, none twice (`replayed`: those whose COMMIT had been done)
            assert len(stored) == len(sent), (len(stored), len(sent), len(lost), replayed)
            assert len({n["id"] for n in stored}) == len(sent)
            on_b.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            if survivor is not None:
                survivor.stop()


def test_a_replayed_answer_names_the_ledger_entries_of_what_it_says(world: World) -> None:
    """The replay is the answer as it was (a conflict before the other side changed its
    disclosure, receipts before delivery): its `ledger_index`es must be those entries, not
    the latest, or `check_served` tells the caller the hub changed what it was told."""
    co, ru = world.party("coalition"), world.party("russia")
    theirs = {**notice(["un"], title="russia's"), "disclosure": "coarse"}
    rn = ru.ok("POST", "/v1/notices", theirs, 201)
    key, mine = _key(), notice(["un"], title="mine")
    first = _post(co, "/v1/notices", mine, key)
    assert first.status_code == 201 and len(first.json()["conflicts"]) == 1, first.text
    # russia tells less now: coalition's side of the conflict is logged again (revision 2)
    ru.ok("PUT", f"/v1/notices/{rn['id']}", {**theirs, "version": 1, "disclosure": "existence"})
    [now] = co.ok("GET", f"/v1/conflicts?notice={first.json()['id']}")["conflicts"]
    assert now["revision"] == 2 and now["other"]["disclosure"] == "existence"
    again = _post(co, "/v1/notices", mine, key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    [then] = again.json()["conflicts"]
    # as it was: coarse, nothing more than the first answer and its ledger entry carried
    assert then == first.json()["conflicts"][0] and then["other"]["disclosure"] == "coarse"
    assert then["ledger_index"] != now["ledger_index"]
    # a message replayed after its delivery: receipts as they were, no delivery entry
    msg_key, msg = _key(), {"to": ["russia"], "subject": "s", "body": "call us"}
    sent = _post(co, "/v1/messages", msg, msg_key)
    assert sent.status_code == 201, sent.text
    ru.receive()
    replayed = _post(co, "/v1/messages", msg, msg_key)
    assert replayed.headers["idempotent-replayed"] == "true"
    [receipt] = replayed.json()["receipts"]
    assert receipt["delivered_at"] is None and receipt["delivered_ledger_index"] is None
    with Client(world.url, world.tokens["coalition"]) as c:
        hub_key = b64d(c.ledger_key()["public_key"])
        assert c.check_served(then, hub_key) == []
        assert c.check_served(now, hub_key) == []
        assert c.check_served(replayed.json(), hub_key) == []


def test_the_sweep_prunes_a_backlog_in_bounded_chunks_oldest_first(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    """After a burst of writes, each sweep deletes at most `prune_limit` expired keys (one
    short DELETE holding the write token, not one long one), oldest first; the keys not
    expired yet stay. On SQLite and on PostgreSQL."""
    clock = _Clock()
    hub = Hub(make_settings(tmp_path / "hub.db", **backend), clock=clock)
    hub.start(sweep=False)
    try:
        hub.idempotency.prune_limit = 5
        now = clock.now

        def row(i: int, expires: datetime) -> dict[str, Any]:
            return {
                "scope": f"party{i % 3}",
                "key": f"key-{i:04d}-0123456789abcdef",
                "operation": "notify",
                "fingerprint": "0" * 64,
                "response": "{}",
                "created_at": format_ts(expires - timedelta(hours=24)),
                "expires_at": format_ts(expires),
            }

        # 12 expired (the oldest first in neither key nor insertion order), 3 not yet
        expired = [row(i, now - timedelta(minutes=(i * 7) % 12 + 1)) for i in range(12)]
        alive = [row(100 + i, now + timedelta(minutes=i + 1)) for i in range(3)]
        with hub.store.write() as repo:
            for r in expired + alive:
                repo.idempotency.insert(r)

        def left() -> set[str]:
            with hub.store.read() as repo:
                return {
                    r["key"] for r in expired + alive if repo.idempotency.get(r["scope"], r["key"])
                }

        by_age = [r["key"] for r in sorted(expired, key=lambda r: r["expires_at"])]
        assert hub.sweep()["idempotency_keys_expired"] == 5
        assert left() == set(by_age[5:]) | {r["key"] for r in alive}
        assert hub.sweep()["idempotency_keys_expired"] == 5
        assert left() == set(by_age[10:]) | {r["key"] for r in alive}
        assert hub.sweep()["idempotency_keys_expired"] == 2
        assert hub.sweep()["idempotency_keys_expired"] == 0
        assert left() == {r["key"] for r in alive}
    finally:
        hub.close()
