"""Bad input, lost connections, a busy hub, mutual TLS and TAK protocol version 1."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import takproto

from deconflict.cli import main
from deconflict.interop.tak import TakEndpoint
from deconflict.interop.tak.cot import check_event, cot_time
from deconflict.interop.tak.framing import CotStream, proto_to_element
from deconflict.interop.tak.rules import ShareRules
from deconflict.interop.tak.transport import close_stream, open_tak
from tests.interop_tak.certs import Pki
from tests.interop_tak.conftest import gateway_config, running
from tests.interop_tak.devices import Device
from tests.interop_tak.taky_server import Taky, free_port
from tests.service.helpers import World, notice
from tests.tactical_service.conftest import FAST


def _tracks(world: World, party: str = "coalition") -> dict[str, Any]:
    r = world.party(party).get("/v1/tracks")
    if r.status_code == 429:  # the busy-hub test shares the gateway's token
        return {}
    assert r.status_code == 200, r.text
    return {t["track_id"]: t for t in r.json()["tracks"]}


async def _until(
    fn: Any, timeout: float = 10.0, what: str = "condition", every_s: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(fn)
        if value:
            return value
        await asyncio.sleep(every_s)
    raise AssertionError(f"timed out waiting for {what}")


class FakeTakServer:
    """A TAK server that misbehaves on purpose: it sends what a test gives it, then hangs up."""

    def __init__(self, scripts: list[list[bytes]], *, close_after: bool = True) -> None:
        self.scripts = scripts
        self.close_after = close_after
        self.port = free_port()
        self.connections = 0
        self.received = bytearray()
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        script = self.scripts[min(index, len(self.scripts) - 1)]
        for chunk in script:
            writer.write(chunk)
            await writer.drain()
        try:
            while True:
                data = await asyncio.wait_for(reader.read(65536), 0.5 if self.close_after else 30)
                if not data:
                    break
                self.received += data
        except TimeoutError:
            pass
        await close_stream(writer)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[FakeTakServer]:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        try:
            yield self
        finally:
            self.server.close()


def _position(uid: str, lat: float, lon: float = 36.0, **kw: Any) -> bytes:
    dev = Device(TakEndpoint("tcp://127.0.0.1:1"), uid, uid.upper())
    return dev.position_xml(lat, lon, **kw)


def test_malformed_cot_and_a_lost_connection_do_not_stop_it(world: World) -> None:
    now = datetime.now(UTC)
    good = _position("ANDROID-viper11", 35.0)
    bad = [
        b'<event version="2.0" uid="x" type="a-f-A" time="nope"><point lat="1"/></event>',
        b"<event><<<garbage</event>",
        _position("ANDROID-viper11", 35.0)
        .replace(b"<point", b"<pt")
        .replace(b"/><detail", b"/><detail"),
        _position("ANDROID-viper11", 35.0, at=now + timedelta(hours=2)),  # far in the future
        _position("ANDROID-viper11", 95.0),  # off the globe
        _position("ANDROID-viper11", 35.0, hae=9_999_999.0),  # no height: the hub cannot screen
        b"\xbf\x05\x01\x02\x03\x04\x05",  # not a TakMessage
        b"random bytes that are not CoT at all \xff\xfe",
    ]
    later = _position("ANDROID-viper11", 35.0005, at=now + timedelta(seconds=1))
    fake = FakeTakServer([[*bad, good], [later]])

    async def scenario() -> None:
        async with fake.serving():
            cfg = gateway_config(world, "coalition", TakEndpoint(fake.url))
            async with running(cfg) as gw:
                await _until(lambda: _tracks(world).get("ANDROID-viper11"), what="the good report")
                # The server hung up; the gateway comes back and carries on.
                await _until(
                    lambda: abs(_tracks(world)["ANDROID-viper11"]["lat"] - 35.0005) < 1e-6,
                    what="the report after the reconnection",
                )
                assert fake.connections >= 2
                assert gw.stats["cot_bad"] >= 6, gw.stats
                assert gw.stats["tracks_rejected"] == 0
        # Every complaint is one line.
        # (caplog is not available inside; the count of bad events is checked above.)

    asyncio.run(scenario())


def test_a_burst_is_coalesced_and_bounded(world: World) -> None:
    start = datetime.now(UTC) - timedelta(seconds=5)
    burst = [
        _position(f"ANDROID-u{i % 20}", 35.0 + (i % 20) * 0.1, at=start + timedelta(milliseconds=i))
        for i in range(4000)
    ]
    fake = FakeTakServer([[b"".join(burst)]], close_after=False)

    async def scenario() -> None:
        async with fake.serving():
            rules = ShareRules(types=("a-f-A",))
            cfg = gateway_config(
                world, "coalition", TakEndpoint(fake.url), rules=rules, max_events_per_s=1000.0
            )
            async with running(cfg) as gw:
                await _until(lambda: len(_tracks(world)) == 20, what="the 20 tracks")
                await asyncio.sleep(0.5)
                s = gw.stats
                assert s["cot_in"] == 4000
                assert s["cot_dropped_burst"] > 0  # beyond the rate, dropped (and counted)
                # Posted: far fewer reports than arrived, each track's newest.
                assert s["tracks_sent"] < s["positions_shared"]
                assert s["tracks_rejected"] == 0

    asyncio.run(scenario())


def test_a_busy_hub_is_waited_for(tmp_path: Path, taky: Taky) -> None:
    world = World(tmp_path, rate_per_s=3.0, rate_burst=3, tactical=FAST)
    endpoint = TakEndpoint(taky.url)

    async def scenario() -> None:
        async with running(gateway_config(world, "coalition", endpoint)) as gw:
            viper = await Device(endpoint, "ANDROID-viper11", "VIPER11").connect()
            try:
                for i in range(30):
                    await viper.report(35.0 + i * 1e-5, 36.0, 6000.0)
                    await asyncio.sleep(0.02)

                def newest() -> bool:
                    lat = float((_tracks(world).get("ANDROID-viper11") or {}).get("lat", 0.0))
                    return abs(lat - 35.00029) < 1e-9

                # The test reads with the gateway's own token, so it polls at a third of
                # the rate: polling at 20/s took the whole budget and starved the gateway.
                await _until(newest, 20.0, "the newest report", every_s=1.0)
                assert gw.stats["hub_busy"] > 0
            finally:
                await viper.close()

    try:
        asyncio.run(scenario())
    finally:
        world.stop()


def test_mutual_tls_with_taky(world: World, tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    pki = Pki(tmp_path / "pki")
    gw_cert, gw_key = pki.issue("gateway")
    dev_cert, dev_key = pki.issue("viper11")
    server = Taky(tmp_path / "taky-tls", pki=pki).start()
    try:

        def endpoint(cert: Path, key: Path) -> TakEndpoint:
            return TakEndpoint(server.url, cert=str(cert), key=str(key), ca=str(pki.path("ca.crt")))

        async def without_certificate() -> bytes:
            ctx = ssl.create_default_context(cafile=str(pki.path("ca.crt")))
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=ctx)
            writer.write(_position("ANDROID-intruder", 35.0))
            try:
                await writer.drain()
                return await asyncio.wait_for(reader.read(100), 5)
            finally:
                await close_stream(writer)

        async def scenario() -> None:
            try:
                data = await without_certificate()
            except (ssl.SSLError, ConnectionError):
                data = b""
            assert data == b"", "a device without a client certificate must be refused"
            # Closing a TLS stream only starts the TLS shutdown: close_stream returns once
            # the socket under it is closed, not when the garbage collector finds it.
            _reader, writer = await open_tak(endpoint(dev_cert, dev_key))
            sock = writer.get_extra_info("socket")
            await close_stream(writer)
            assert sock.fileno() == -1, "the TLS stream's socket is still open after closing"
            async with running(gateway_config(world, "coalition", endpoint(gw_cert, gw_key))):
                viper = await Device(
                    endpoint(dev_cert, dev_key), "ANDROID-viper11", "VIPER11"
                ).connect()
                try:
                    await viper.report(35.0, 36.0, 6000.0)
                    await _until(lambda: _tracks(world).get("ANDROID-viper11"), what="the track")
                finally:
                    await viper.close()

        asyncio.run(scenario())
        # --check over TLS: both sides reachable.
        code = main(
            [
                "tak-gateway",
                "--server",
                world.url,
                "--token",
                world.tokens["coalition"],
                "--cot-url",
                server.url,
                "--tls-cert",
                str(gw_cert),
                "--tls-key",
                str(gw_key),
                "--tls-ca",
                str(pki.path("ca.crt")),
                "--check",
            ]
        )
        assert code == 0
        # Without the client certificate the gateway refuses to start the link at all.
        code = main(
            [
                "tak-gateway",
                "--server",
                world.url,
                "--token",
                world.tokens["coalition"],
                "--cot-url",
                server.url,
                "--check",
            ]
        )
        assert code == 1
    finally:
        server.stop()


def test_check_reports_each_side(
    world: World, taky: Taky, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["tak-gateway", "--server", world.url, "--token", world.tokens["coalition"]]
    assert main([*args, "--cot-url", taky.url, "--check"]) == 0
    out = capsys.readouterr().out
    assert "hub" in out and "party coalition" in out and "TAK server" in out and "FAILED" not in out
    dead = f"tcp://127.0.0.1:{free_port()}"
    assert main([*args, "--cot-url", dead, "--check"]) == 1
    assert "FAILED" in capsys.readouterr().out
    bad_token = [
        "tak-gateway",
        "--server",
        world.url,
        "--token",
        "dcf_0123456789abcdef_" + "x" * 30,
    ]
    assert main([*bad_token, "--cot-url", taky.url, "--check"]) == 1


def _takp(type_: str, child: str, attrs: dict[str, str]) -> bytes:
    now = datetime.now(UTC)
    return (
        f'<event version="2.0" uid="protouid" type="{type_}" how="m-g" time="{cot_time(now)}" '
        f'start="{cot_time(now)}" stale="{cot_time(now + timedelta(minutes=1))}">'
        '<point lat="0.0" lon="0.0" hae="0.0" ce="999999" le="999999"/>'
        f"<detail><TakControl><{child} "
        + " ".join(f'{k}="{v}"' for k, v in attrs.items())
        + "/></TakControl></detail></event>"
    ).encode()


def test_tak_protocol_version_1_negotiated(world: World) -> None:
    """The server offers version 1, the gateway asks, the server agrees: protobuf both ways."""
    port = free_port()
    seen: dict[str, Any] = {"before": [], "after": []}
    russia = world.party("russia")

    async def tak_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_takp("t-x-takp-v", "TakProtocolSupport", {"version": "1"}))
        await writer.drain()
        stream = CotStream()
        while not any(isinstance(i, bytes) and b"t-x-takp-q" in i for i in seen["before"]):
            seen["before"] += stream.feed(await reader.read(65536))
        writer.write(_takp("t-x-takp-r", "TakResponse", {"status": "true"}))
        device = _position("ANDROID-viper11", 35.0)
        writer.write(bytes(takproto.xml2proto(device, takproto.TAKProtoVer.STREAM)))
        await writer.drain()
        try:
            while data := await reader.read(65536):
                seen["after"] += stream.feed(data)
        except OSError:
            pass
        finally:
            await close_stream(writer)
            seen["closed"] = True

    async def scenario() -> None:
        server = await asyncio.start_server(tak_server, "127.0.0.1", port)
        try:
            cfg = gateway_config(
                world, "coalition", TakEndpoint(f"tcp://127.0.0.1:{port}"), protocol="proto"
            )
            async with running(cfg) as gw:
                track = await _until(
                    lambda: _tracks(world).get("ANDROID-viper11"), what="the protobuf report"
                )
                assert abs(track["lat"] - 35.0) < 1e-6
                assert gw.wire_protocol == "proto"
                n = await asyncio.to_thread(
                    russia.ok, "POST", "/v1/notices", notice(["coalition"]), 201
                )
                uid = f"deconflict.notice.{n['id']}.0"

                def drawn_in_protobuf() -> bool:
                    return any(
                        not isinstance(i, bytes | Exception)
                        and check_event(proto_to_element(i)).uid == uid
                        for i in seen["after"]
                    )

                await _until(drawn_in_protobuf, what="the notice drawn in TAK protocol")
            for _ in range(50):  # the gateway hung up: the server side ends too
                if seen.get("closed"):
                    break
                await asyncio.sleep(0.05)
        finally:
            server.close()
            await server.wait_closed()
        # Before the server agreed, the gateway spoke XML (its presence, then the request).
        assert all(isinstance(i, bytes) for i in seen["before"])

    asyncio.run(scenario())


def test_disclosure_only_the_overlap_of_a_notice_not_addressed(world: World, taky: Taky) -> None:
    endpoint = TakEndpoint(taky.url)
    coalition, russia = world.party("coalition"), world.party("russia")
    coalition.ok("POST", "/v1/notices", notice(["un"], title="our strike"), 201)
    hidden = russia.ok("POST", "/v1/notices", notice(["un"], title="their CAP"), 201)
    assert hidden["conflicts"], "the two notices overlap"

    async def scenario() -> None:
        async with running(gateway_config(world, "coalition", endpoint)):
            viper = await Device(endpoint, "ANDROID-viper11", "VIPER11").connect()
            try:
                await viper.report(35.0, 36.0, 6000.0)
                overlap = await viper.wait_for(
                    lambda e: e.uid.startswith("deconflict.conflict."), 5.0, "the overlap"
                )
                remarks = overlap.find("remarks")
                assert remarks is not None and "russia" in (remarks.text or "")
                assert "their CAP" not in (remarks.text or "")
                await asyncio.sleep(0.5)
                assert not [e for e in viper.events if hidden["id"] in e.uid]
                # The party's own notice is not drawn back at it either (not received).
                assert not [e for e in viper.events if e.uid.startswith("deconflict.notice.")]
            finally:
                await viper.close()

    asyncio.run(scenario())


def test_the_hub_going_away_and_coming_back(tmp_path: Path, taky: Taky) -> None:
    world = World(tmp_path, port=free_port(), tactical=FAST)
    endpoint = TakEndpoint(taky.url)
    russia_token = world.tokens["russia"]

    async def scenario() -> None:
        async with running(gateway_config(world, "coalition", endpoint)) as gw:
            viper = await Device(endpoint, "ANDROID-viper11", "VIPER11").connect()
            try:
                await viper.report(35.0, 36.0, 6000.0)
                await _until(lambda: _tracks(world).get("ANDROID-viper11"), what="the track")
                await asyncio.to_thread(world.stop)
                await viper.report(35.0001, 36.0, 6000.0)  # while the hub is away
                await _until(lambda: not gw.hub_up, what="the gateway noticing")
                await asyncio.sleep(1.0)
                await asyncio.to_thread(world.start)  # same database, same port
                # Tracks live in the hub's memory: the report kept meanwhile is posted.
                await _until(
                    lambda: (
                        abs(
                            float((_tracks(world).get("ANDROID-viper11") or {}).get("lat", 0))
                            - 35.0001
                        )
                        < 1e-9
                    ),
                    15.0,
                    "the kept report after the hub came back",
                )
                # The event stream resumed: a notice sent now is drawn.
                russia = world.client(russia_token, "russia")
                n = await asyncio.to_thread(
                    russia.ok, "POST", "/v1/notices", notice(["coalition"]), 201
                )
                await viper.wait_for(
                    lambda e: e.uid == f"deconflict.notice.{n['id']}.0", 15.0, "the new notice"
                )
                assert gw.stats["hub_connects"] >= 2
            finally:
                await viper.close()

    try:
        asyncio.run(scenario())
    finally:
        world.stop()
