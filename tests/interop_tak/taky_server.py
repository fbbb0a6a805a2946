"""taky (the TAK server from PyPI) as the party's TAK server, in its own process on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.interop_tak.certs import Pki


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Taky:
    def __init__(self, root: Path, *, pki: Pki | None = None, port: int | None = None) -> None:
        self.root = root
        self.pki = pki
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        lines = [
            "[taky]",
            "hostname = localhost",
            "node_id = TAKY",
            "bind_ip = 127.0.0.1",
            f"root_dir = {root}",
            "[cot_server]",
            f"port = {self.port}",
            "[dp_server]",
            f"upload_path = {root / 'dp'}",
            "[ssl]",
        ]
        if pki is None:
            lines.append("enabled = false")
        else:
            lines += [
                "enabled = true",
                "client_cert_required = true",
                f"ca = {pki.path('ca.crt')}",
                f"ca_key = {pki.path('ca.key')}",
                f"cert = {pki.path('server.crt')}",
                f"key = {pki.path('server.key')}",
                f"cert_db = {root / 'cert-db.txt'}",
            ]
        self.config = root / "taky.conf"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def url(self) -> str:
        return f"{'tls' if self.pki else 'tcp'}://127.0.0.1:{self.port}"

    def start(self) -> Taky:
        with (self.root / "taky.log").open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - a fixed command
                [sys.executable, "-m", "taky.cot", "-c", str(self.config), "-l", "info"],
                stdout=log,
                stderr=log,
                cwd=self.root,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"taky exited: {(self.root / 'taky.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("taky did not start listening")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
