"""HTTP edges: 405 lists every method of the path."""

from __future__ import annotations

from tests.service.helpers import World


def test_405_lists_every_method_of_the_path(world: World) -> None:
    co = world.party("coalition")
    r = co.http.request("TRACE", "/v1/messages")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "allowed: " in r.json()["detail"]
    r = co.http.request("PATCH", "/v1/notices/n-1")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) >= {"GET", "PUT", "DELETE"}
