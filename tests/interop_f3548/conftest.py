"""Fixtures of the F3548 DSS tests: a real hub on a real socket with two USSs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deconflict.api.server import ServerThread
from tests.interop_f3548.helpers import AUDIENCE, Issuer, Uss
from tests.service.helpers import ADMIN_TOKEN, Api, make_settings


@dataclass
class Dss:
    """A running hub serving /dss/v1, the OAuth issuer its USSs use, and the hub's admin."""

    tmp: Path
    issuer: Issuer = field(default_factory=Issuer)
    server: ServerThread | None = None
    clients: list[Uss | Api] = field(default_factory=list)

    def start(self) -> Dss:
        key = self.issuer.write_public(self.tmp / "oauth.pem")
        settings = make_settings(
            self.tmp / "hub.db", dss_public_keys=str(key), dss_audiences=f"{AUDIENCE},127.0.0.1"
        )
        self.server = ServerThread(settings).start()
        return self

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.clients.clear()
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def uss(self, sub: str) -> Uss:
        u = Uss(self.url, self.issuer, sub)
        self.clients.append(u)
        return u

    def hub(self, token: str = ADMIN_TOKEN) -> Api:
        api = Api(self.url, token, "hub")
        self.clients.append(api)
        return api


@pytest.fixture(scope="module")
def dss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dss]:
    # one hub a module (start-up is most of a test's time); tests keep to areas of their own
    d = Dss(tmp_path_factory.mktemp("dss")).start()
    try:
        yield d
    finally:
        d.stop()
