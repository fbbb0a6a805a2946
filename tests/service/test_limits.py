"""Limits answer with clear problems, never a 5xx."""

from __future__ import annotations

from pathlib import Path

from tests.service.helpers import World, notice, volume


def test_limits(tmp_path: Path) -> None:
    world = World(
        tmp_path,
        max_body_bytes=200_000,
        max_vertices=50,
        max_volumes_per_notice=3,
        max_addressees=1,
        max_message_chars=100,
        max_active_notices_per_party=2,
        rate_per_s=1.0,
        rate_burst=40,
    )
    try:
        co = world.party("coalition")
        big = co.http.post(
            "/v1/notices",
            content=b"{" + b" " * 300_000 + b"}",
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        assert big.headers["content-type"] == "application/problem+json"

        def chunks() -> object:
            for _ in range(30):
                yield b" " * 10_000

        chunked = co.http.post(
            "/v1/notices",
            content=chunks(),  # type: ignore[arg-type]
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413
        ring = [[36.0, 35.0], *[[36.0 + 0.3 * i / 60, 35.3] for i in range(61)], [36.0, 35.0]]
        many = {**volume(), "geometry": {"type": "Polygon", "coordinates": [ring]}}
        r = co.post("/v1/notices", {**notice(["russia"]), "volumes": [many]})
        assert r.status_code == 422
        assert "vertices" in r.text
        r = co.post("/v1/notices", {**notice(["russia"]), "volumes": [volume()] * 4})
        assert r.status_code == 422
        assert "too many volumes" in r.text
        r = co.post("/v1/notices", notice(["russia", "un"]))
        assert r.json()["errors"][0]["path"] == "body.addressees"
        r = co.post("/v1/messages", {"to": ["russia"], "body": "x" * 101})
        assert r.json()["errors"][0]["path"] == "body.body"
        co.ok("POST", "/v1/notices", notice(["russia"]), 201)
        co.ok("POST", "/v1/notices", notice(["russia"]), 201)
        r = co.post("/v1/notices", notice(["russia"]))
        assert r.status_code == 409
        assert r.json()["type"] == "urn:deconflict:problem:quota-exceeded"
        replies = [co.get("/v1/parties") for _ in range(60)]
        limited = next(r for r in replies if r.status_code == 429)
        assert limited.headers["content-type"] == "application/problem+json"
        assert int(limited.headers["retry-after"]) >= 1
        assert world.party("russia").get("/v1/parties").status_code == 200  # per token
    finally:
        world.stop()
