"""HTTP edges: 405 lists every method of the path."""

from __future__ import annotations

import re

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


def test_docs_work_offline(world: World) -> None:
    anon = world.client(None)
    for page in ("/docs", "/redoc"):
        r = anon.get(page)
        assert r.status_code == 200
        assert "cdn." not in r.text and "https://" not in r.text, page
        assets = re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', r.text)
        assert assets, page
        for asset in assets:
            got = anon.get(asset)
            assert got.status_code == 200, asset
            assert len(got.content) > 1000 or asset.endswith(".png")
