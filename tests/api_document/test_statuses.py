"""Statuses answered below the application are problems too, as the document says."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from tests.api_document.document import errors
from tests.service.helpers import World


def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_a_hub_at_its_connection_limit_answers_a_503_problem(tmp_path: Path) -> None:
    world = World(tmp_path, max_connections=5)  # the World holds up to 4 itself
    try:
        doc: dict[str, Any] = world.client(None).get("/openapi.json").json()
        host, port = world.url.removeprefix("http://").split(":")
        held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(5)]
        try:
            request = b"GET /v1/whoami HTTP/1.1\r\nhost: hub\r\nconnection: close\r\n\r\n"
            status, headers, body = _raw(world.url, request)
        finally:
            for s in held:
                s.close()
        assert status == 503, body
        assert headers["content-type"] == "application/problem+json"
        problem = json.loads(body)
        assert problem["status"] == 503 and "try again" in problem["detail"], problem
        answer = doc["paths"]["/v1/whoami"]["get"]["responses"]["503"]
        schema = answer["content"]["application/problem+json"]["schema"]
        assert errors(doc, schema, problem) == []
        health = doc["paths"]["/healthz"]["get"]["responses"]["503"]["content"]
        assert set(health) == {"application/json", "application/problem+json"}
    finally:
        world.stop()
