"""TAK gateway benchmark: position reports per second through the gateway, and alert latency.

    python benchmarks/tak.py                      # --seconds 10 --tracks 200 --alerts 20

Everything on loopback, each part its own process: a real hub (uvicorn, SQLite
file, the 1 Hz screening loop and the quick screen), taky as the party's TAK
server, and ``deconflict tak-gateway`` (the command itself) for the party
"blue", sharing friendly air (``--share-type a-f-A``). The gateway's one-line
status (every second here) gives its counters.

1. **Positions through the gateway.** For ``--seconds``, ``--tracks`` distinct
   aircraft report as fast as one sender can write, once directly to the
   gateway (the benchmark acts as the TAK server: the gateway's own limit) and
   once through taky (a device connected to taky: what a deployment sees).
   Printed: CoT events/s the gateway read and checked, position reports/s it
   accepted, and track reports/s the hub accepted (the gateway sends each
   track's newest report every 0.2 s, so this is bounded by tracks x 5/s, not
   by the input rate).
2. **Alert latency.** ``--alerts`` times: a device on taky reports a fresh
   aircraft; once the hub holds it, party "red" reports a converging one over
   HTTP. Printed: from red's POST to the CoT alert arriving at the device
   (end to end), and from the hub's ``raised_at`` to the device (the gateway's
   part plus the hub's event stream).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from deconflict.api.server import ServerThread
from deconflict.config import Settings
from deconflict.interop.tak.cot import CotEvent
from deconflict.interop.tak.transport import TakEndpoint

# taky and the pytak devices are the test suite's (tests/interop_tak): the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.interop_tak.devices import Device
from tests.interop_tak.taky_server import Taky, free_port

_STATUS = re.compile(
    r"CoT in (\d+) \(bad \d+, burst-dropped (\d+)\); positions shared (\d+) kept \d+; "
    r"tracks sent (\d+) rejected (\d+)"
)


class GatewayProcess:
    def __init__(self, hub: str, token: str, cot_url: str, log: Path, *extra: str) -> None:
        self.log = log
        cmd = [sys.executable, "-m", "deconflict", "tak-gateway", "--server", hub]
        cmd += ["--token", token, "--cot-url", cot_url, "--share-type", "a-f-A"]
        cmd += ["--status-interval", "0.25", *extra]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603

    def counters(self) -> tuple[int, ...]:
        found = _STATUS.findall(self.log.read_text(errors="replace"))
        if not found:
            return (0, 0, 0, 0, 0)
        return tuple(int(x) for x in found[-1])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def _position(uid: str, lat: float, lon: float, at: datetime) -> bytes:
    return Device(TakEndpoint("tcp://127.0.0.1:1"), uid, uid).position_xml(lat, lon, 6000.0, at=at)


async def _blast(writer: asyncio.StreamWriter, tracks: int, seconds: float) -> int:
    """Write position reports as fast as the socket takes them; returns how many."""
    sent = 0
    end = time.monotonic() + seconds
    step = 0
    while time.monotonic() < end:
        now = datetime.now(UTC)
        chunk = b"".join(
            _position(f"BLUE-{i}", 40.0 + i * 0.01, 10.0 + step * 1e-6, now) for i in range(tracks)
        )
        writer.write(chunk)
        await writer.drain()
        sent += tracks
        step += 1
    return sent


async def _settle(gw: GatewayProcess, started: float) -> tuple[tuple[int, ...], float]:
    """The gateway's counters once they stop moving, and how long they took to get there."""
    last, changed = gw.counters(), time.monotonic()
    while time.monotonic() - changed < 1.5:
        await asyncio.sleep(0.1)
        now = gw.counters()
        if now != last:
            last, changed = now, time.monotonic()
    return last, changed - started


async def direct(hub: str, token: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    port = free_port()
    done = asyncio.Event()
    result: dict[str, Any] = {}

    async def on_gateway(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        result["started"] = time.monotonic()
        result["sent"] = await _blast(writer, args.tracks, args.seconds)
        done.set()
        with contextlib.suppress(Exception):
            await reader.read()

    server = await asyncio.start_server(on_gateway, "127.0.0.1", port)
    gw = GatewayProcess(
        hub, token, f"tcp://127.0.0.1:{port}", tmp / "gw-direct.log", "--max-events-per-s", "1e9"
    )
    try:
        await asyncio.wait_for(done.wait(), args.seconds + 30)
        result["counters"], result["elapsed"] = await _settle(gw, result["started"])
    finally:
        gw.stop()
        server.close()
    return result


async def via_taky(hub: str, token: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    taky = Taky(tmp / "taky-rate").start()
    gw = GatewayProcess(hub, token, taky.url, tmp / "gw-taky.log")
    try:
        await asyncio.sleep(2.0)  # the gateway connects
        _reader, writer = await asyncio.open_connection("127.0.0.1", taky.port)
        started = time.monotonic()
        sent = await _blast(writer, args.tracks, args.seconds)
        counters, elapsed = await _settle(gw, started)
        writer.close()
        return {"sent": sent, "counters": counters, "elapsed": elapsed}
    finally:
        gw.stop()
        taky.stop()


async def latency(hub: str, tokens: dict[str, str], args: argparse.Namespace, tmp: Path) -> Any:
    taky = Taky(tmp / "taky-alerts").start()
    gw = GatewayProcess(hub, tokens["blue"], taky.url, tmp / "gw-alerts.log")
    device = await Device(TakEndpoint(taky.url), "BLUE-DEV", "BLUE1").connect()
    red = httpx.AsyncClient(base_url=hub, headers={"Authorization": f"Bearer {tokens['red']}"})
    blue = httpx.AsyncClient(base_url=hub, headers={"Authorization": f"Bearer {tokens['blue']}"})
    e2e, hub_to_device = [], []
    try:
        await asyncio.sleep(2.0)
        for k in range(args.alerts):
            lat = -30.0 + k * 0.5  # each pair far from the others
            dev = Device(device.endpoint, f"BLUE-A{k}", f"A{k}")
            dev._writer = device._writer  # the same TAK connection, one aircraft each
            await dev.report(lat, 20.0, 6000.0, speed=200.0, course=90.0)
            while not any(
                t["track_id"] == f"BLUE-A{k}"
                for t in (await blue.get("/v1/tracks")).json()["tracks"]
            ):
                await asyncio.sleep(0.02)
            now = datetime.now(UTC)
            report = {
                "track_id": f"RED-{k}",
                "time": now.isoformat().replace("+00:00", "Z"),
                "lat": lat,
                "lon": 20.5,
                "alt_m": 6000.0,
                "gs_mps": 200.0,
                "trk_deg": 270.0,
                "vs_mps": 0.0,
                "category": "manned",
            }
            t0 = time.monotonic()
            r = await red.post("/v1/tracks", json={"reports": [report]})
            r.raise_for_status()
            wanted = f"BLUE-A{k}"

            def is_alert(e: CotEvent, wanted: str = wanted) -> bool:
                return e.type == "b-a-o-pan" and e.attr("__deconflict", "track") == wanted

            ev = await device.wait_for(is_alert, 10.0, "the alert")
            arrived = datetime.now(UTC)
            e2e.append(time.monotonic() - t0)
            alert_id = ev.attr("__deconflict", "alert")
            a = (await blue.get(f"/v1/alerts/{alert_id}")).json()
            raised = datetime.fromisoformat(a["raised_at"].replace("Z", "+00:00"))
            hub_to_device.append((arrived - raised).total_seconds())
            await asyncio.sleep(0.3)
    finally:
        await device.close()
        await red.aclose()
        await blue.aclose()
        gw.stop()
        taky.stop()
    return e2e, hub_to_device


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="deconflict-tak-bench-") as tmp_name:
        tmp = Path(tmp_name)
        admin = "adm_" + secrets.token_urlsafe(24)
        settings = Settings(
            db_path=tmp / "hub.db",
            admin_token=admin,
            host="127.0.0.1",
            port=0,
            rate_per_s=10_000.0,
            rate_burst=10_000,
        )
        server = ServerThread(settings).start()
        try:
            tokens = {}
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {admin}"}
            ) as c:
                for p in ("blue", "red", "blue2", "blue3"):
                    r = c.post("/v1/parties", json={"id": p, "name": p})
                    tokens[p] = r.json()["token"]
            print(
                f"hub {server.url}; {args.tracks} tracks for {args.seconds:g} s per run; "
                f"{os.cpu_count()} cores"
            )
            print()
            print(
                "| path | offered | CoT read and checked | positions accepted "
                "| hub track reports accepted | burst-dropped |"
            )
            print("|---|---|---|---|---|---|")
            for name, run, party in (
                ("sender -> gateway", direct, "blue2"),
                ("device -> taky -> gateway", via_taky, "blue3"),
            ):
                res = await run(server.url, tokens[party], args, tmp)
                cot, dropped, shared, sent, rejected = res["counters"]
                secs = res["elapsed"]
                print(
                    f"| {name} | {res['sent'] / args.seconds:,.0f}/s | {cot / secs:,.0f}/s | "
                    f"{shared / secs:,.0f}/s | {sent / secs:,.0f}/s ({rejected} refused) | "
                    f"{dropped:,} |"
                )
            e2e, h2d = await latency(server.url, tokens, args, tmp)
            print()
            print(f"| alert latency ({len(e2e)} alerts) | p50 | p90 | max | mean |")
            print("|---|---|---|---|---|")
            for name, vals in (
                ("red's POST -> CoT at the device", e2e),
                ("hub raised_at -> CoT at the device", h2d),
            ):
                print(
                    f"| {name} | {_pct(vals, 0.5) * 1000:.0f} ms | {_pct(vals, 0.9) * 1000:.0f} ms"
                    f" | {max(vals) * 1000:.0f} ms | {statistics.mean(vals) * 1000:.0f} ms |"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
