"""`deconflict demo --tak-gateway PARTY`: the demo's notices reach a device on a local taky."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from deconflict.interop.tak import TakEndpoint
from tests.interop_tak.devices import Device
from tests.interop_tak.taky_server import Taky


def test_demo_starts_a_gateway_for_one_party(taky: Taky) -> None:
    endpoint = TakEndpoint(taky.url)

    async def scenario() -> None:
        device = await Device(endpoint, "ANDROID-viper11", "VIPER11").connect()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "deconflict", "demo", "--port", "0"]
        cmd += ["--tak-gateway", "coalition", "--cot-url", taky.url]
        proc = subprocess.Popen(  # noqa: S603 - a fixed command
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            await device.report(35.0, 36.0, 6000.0)
            shape = await device.wait_for(
                lambda e: e.uid.startswith("deconflict.") and e.type.startswith("r-"),
                60.0,
                "a notice or overlap drawn by the demo's gateway",
            )
            remarks = shape.find("remarks")
            assert remarks is not None and remarks.text
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
            await device.close()
        assert b"TAK gateway for coalition" in out, out[-2000:]

    asyncio.run(scenario())
