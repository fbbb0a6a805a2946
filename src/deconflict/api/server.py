"""Running the app under uvicorn: in the foreground (`serve`) or in a thread (demo, tests)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from deconflict.api.app import create_app
from deconflict.api.protocol import guarded_protocol
from deconflict.config import Settings
from deconflict.service import Hub
from deconflict.web import mount_ui  # the static map UI at / (issue 6)

__all__ = ["ServerThread", "listen", "serve_forever"]

# Open event streams would otherwise hold a shutdown until clients hang up.
GRACEFUL_SHUTDOWN_S = 3


def _config(settings: Settings, hub: Hub | None, log_level: str) -> uvicorn.Config:
    app = create_app(settings, hub)
    mount_ui(app)  # the static map UI at / (issue 6)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # the limits a careful reverse proxy would set, in the hub too (issue 13)
        http=guarded_protocol(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout_s=settings.header_timeout_s,
        ),
        limit_concurrency=settings.max_connections,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        access_log=log_level == "debug",
        lifespan="on",
    )


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else is done (OSError if it is taken)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_forever(
    settings: Settings, log_level: str = "info", sock: socket.socket | None = None
) -> None:
    server = uvicorn.Server(_config(settings, None, log_level))
    server.run(sockets=[sock] if sock is not None else None)


class ServerThread:
    """A real server on a real socket, in a background thread.

    Port 0 picks a free port; `url` tells which. `stop()` shuts it down
    cleanly (the hub closes its store), so the database file can be reopened.
    """

    def __init__(
        self, settings: Settings, hub: Hub | None = None, log_level: str = "warning"
    ) -> None:
        self.settings = settings
        self._sock = listen(settings.host, settings.port)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{settings.host}:{self.port}"
        self.server = uvicorn.Server(_config(settings, hub, log_level))
        self._thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self._sock])

    def start(self, timeout: float = 300.0) -> ServerThread:
        """Serve, once the hub has started; `timeout` only guards against a hang.

        The first start on a machine compiles the screening kernels (a minute on a
        slow, busy one; cached after), so the wait is long; a start that fails ends
        the thread, which is told at once.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server stopped while starting (its log says why)")
            if time.monotonic() > deadline:
                self.stop()  # not left starting behind the caller's back (its processes too)
                raise RuntimeError(f"the server did not start within {timeout:.0f} s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()

    def wait(self) -> None:
        """Block until the server exits (Ctrl-C in the foreground)."""
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
