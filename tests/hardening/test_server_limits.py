"""The limits a careful reverse proxy sets, enforced by the hub itself, over real sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.service.helpers import World


def _connect(world: World) -> socket.socket:
    parts = urlsplit(world.url)
    assert parts.hostname is not None and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    want = int(headers.get("content-length", "0"))
    while len(body) < want:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _counts(world: World) -> object:
    assert world.server is not None
    stack = world.server.server.config.loaded_app.app.middleware_stack
    out = []
    while stack is not None:
        out.append((type(stack).__name__, getattr(stack, "in_flight", None)))
        stack = getattr(stack, "app", None)
    return out


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def test_headers_too_large_or_too_many(tmp_path: Path) -> None:
    world = World(tmp_path, max_header_bytes=8192, max_headers=20)
    try:
        # one huge header, sent in pieces: refused long before it ends, then closed
        with _connect(world) as sock:
            sock.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\nX-Big: ")
            refused = False
            for _ in range(2000):
                try:
                    sock.sendall(b"a" * 4096)
                except OSError:
                    refused = True
                    break
            status, headers, body = _answer(sock)
            assert status == 431, (status, body)
            assert headers["content-type"] == "application/problem+json"
            assert "8192 bytes" in json.loads(body)["detail"]
            assert refused or _closed(sock)
        # the same in one read (headers complete, but too large)
        with _connect(world) as sock:
            sock.sendall(
                b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
            )
            assert _answer(sock)[0] == 431
        # too many header fields
        with _connect(world) as sock:
            many = b"".join(b"X-H%d: 1\r\n" % i for i in range(30))
            sock.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
            status, _, body = _answer(sock)
            assert status == 431
            assert "20 header fields" in json.loads(body)["detail"]
        # within the limits: answered as before
        ok = httpx.get(world.url + "/v1/whoami", headers={"X-Fine": "a" * 4000})
        assert ok.status_code == 401  # no token: the request itself was read
    finally:
        world.stop()


def test_slow_headers_and_slow_body_time_out(tmp_path: Path) -> None:
    world = World(tmp_path, header_timeout_s=1.0, body_timeout_s=1.0)
    try:
        token = world.tokens["coalition"]
        start = time.monotonic()
        with _connect(world) as sock:
            sock.sendall(b"GET /v1/whoami HTTP/1.1\r\nHost: x\r\n")  # never finished
            status, _, body = _answer(sock)
            assert status == 408, body
            assert "headers did not arrive within 1 s" in json.loads(body)["detail"]
            assert _closed(sock)
        assert time.monotonic() - start < 5
        # a connection that says nothing is closed, not held
        with _connect(world) as sock:
            sock.settimeout(5)
            assert _closed(sock)
        # a body that never ends
        with _connect(world) as sock:
            sock.sendall(
                b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 100\r\n\r\n{"
            )
            status, _, body = _answer(sock)
            assert status == 408, body
            assert "body did not arrive within 1 s" in json.loads(body)["detail"]
        # a keep-alive connection between two requests is not a slow head
        with httpx.Client(base_url=world.url, headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.get("/v1/whoami").status_code == 200
            time.sleep(1.5)
            assert c.get("/v1/whoami").status_code == 200
    finally:
        world.stop()


def test_requests_in_flight_and_streams_per_party(tmp_path: Path) -> None:
    world = World(tmp_path, max_requests_per_party=3, max_streams_per_party=2)
    try:
        co_token = world.tokens["coalition"]
        auth = {"Authorization": f"Bearer {co_token}"}
        # two streams are the most a party may hold; the third is refused with a reason
        streams = [httpx.Client(base_url=world.url, headers=auth, timeout=10) for _ in range(3)]
        opened = []
        try:
            for client in streams[:2]:
                cm = client.stream("GET", "/v1/events")
                response = cm.__enter__()
                assert response.status_code == 200
                opened.append(cm)
            third = streams[2].get("/v1/events")
            assert third.status_code == 429, third.text
            assert "at most 2 event streams" in third.json()["detail"]
            assert third.headers["retry-after"]
            # another party is not affected, nor polling
            ru = world.party("russia")
            with ru.http.stream("GET", "/v1/events") as other:
                assert other.status_code == 200
            polled = streams[2].get("/v1/events", headers={"Accept": "application/json"})
            assert polled.status_code == 200
        finally:
            for cm in opened:
                cm.__exit__(None, None, None)
            for client in streams:
                client.close()
        # a closed stream gives its slot back
        deadline = time.monotonic() + 10
        while True:
            with (
                httpx.Client(base_url=world.url, headers=auth, timeout=10) as c,
                c.stream("GET", "/v1/events") as again,
            ):
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the slots of closed streams were not freed"
            time.sleep(0.2)

        # requests in flight: bodies that are still arriving hold their slot
        held = []
        try:
            for _ in range(3):
                sock = _connect(world)
                sock.sendall(
                    b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    b"\r\nAuthorization: Bearer " + co_token.encode() + b"\r\n"
                    b"Content-Length: 50\r\n\r\n{"
                )
                held.append(sock)
                time.sleep(0.2)  # each request begins before the next connects
            deadline = time.monotonic() + 5
            while (r := httpx.get(world.url + "/v1/whoami", headers=auth)).status_code == 200:
                assert time.monotonic() < deadline, _counts(world)
                time.sleep(0.1)
            assert r.status_code == 429, r.text
            assert "at most 3 requests" in r.json()["detail"]
            assert world.party("russia").get("/v1/whoami").status_code == 200
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 10
        while httpx.get(world.url + "/v1/whoami", headers=auth).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        world.stop()


def test_many_half_open_connections_are_let_go(tmp_path: Path) -> None:
    world = World(tmp_path, header_timeout_s=1.0)
    try:
        socks = [_connect(world) for _ in range(50)]
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\n")
        done = threading.Event()

        def check() -> None:
            for s in socks:
                s.settimeout(5)
                _answer(s)
                assert _closed(s)
            done.set()

        t = threading.Thread(target=check)
        t.start()
        t.join(timeout=20)
        assert done.is_set()
        for s in socks:
            s.close()
    finally:
        world.stop()
