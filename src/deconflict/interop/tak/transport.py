"""The connection to the party's TAK server, opened by pytak (TCP, or TLS with a client
certificate), and the CoT that crosses it."""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import ssl
import warnings
from dataclasses import dataclass
from typing import Any

with warnings.catch_warnings():
    # pytak warns at import that its optional HTTP extra (aiohttp) is absent; the
    # gateway uses only its stream transports.
    warnings.simplefilter("ignore")
    import pytak
    from pytak.client_functions import get_ssl_ctx, get_tls_config

__all__ = ["TakEndpoint", "close_stream", "open_tak"]


@dataclass(frozen=True)
class TakEndpoint:
    """Where the TAK server is and how to prove who we are to it."""

    cot_url: str  # tcp://host:port or tls://host:port (pytak's form)
    cert: str | None = None  # PEM (with --tls-key) or PKCS#12 client certificate
    key: str | None = None
    ca: str | None = None  # the CA that signed the server's certificate
    password: str | None = None
    server_hostname: str | None = None  # the name in the server's certificate, if not the host

    def pytak_config(self) -> configparser.SectionProxy:
        values = {"COT_URL": self.cot_url}
        for name, value in (
            ("PYTAK_TLS_CLIENT_CERT", self.cert),
            ("PYTAK_TLS_CLIENT_KEY", self.key),
            ("PYTAK_TLS_CLIENT_CAFILE", self.ca),
            ("PYTAK_TLS_CLIENT_PASSWORD", self.password),
            ("PYTAK_TLS_SERVER_EXPECTED_HOSTNAME", self.server_hostname),
        ):
            if value:
                values[name] = value
        parser = configparser.ConfigParser(interpolation=None)
        parser["gateway"] = values
        return parser["gateway"]

    @property
    def tls(self) -> bool:
        return self.cot_url.lower().startswith(("tls://", "ssl://"))


async def open_tak(endpoint: TakEndpoint) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connected stream to the TAK server; raises OSError / ssl.SSLError / SyntaxError."""
    scheme = endpoint.cot_url.split("://", 1)[0].lower()
    if scheme not in ("tcp", "tls", "ssl"):
        raise SyntaxError(f"--cot-url: use tcp://host:port or tls://host:port, not {scheme}://")
    if scheme != "tcp" and not endpoint.cert:
        raise SyntaxError("--cot-url tls://... needs a client certificate (--tls-cert)")
    config = endpoint.pytak_config()
    if scheme == "tcp":
        result: Any = await pytak.protocol_factory(config)
        reader, writer = result
        return reader, writer
    with warnings.catch_warnings():
        # pytak sets ssl.OP_NO_TLSv1*, which Python 3.10+ flags as deprecated (the
        # context still refuses TLS < 1.2, which is what it means). Synchronous: no
        # other task runs while the filter is changed.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx: ssl.SSLContext = get_ssl_ctx(get_tls_config(config))
    host, port = pytak.parse_url(config["COT_URL"])
    name = endpoint.server_hostname or host if ctx.check_hostname else None
    return await asyncio.open_connection(host.strip("[]"), port, ssl=ctx, server_hostname=name)


async def close_stream(writer: asyncio.StreamWriter, timeout_s: float = 2.0) -> None:
    """Close a TAK stream and wait, briefly, until its socket is closed.

    Closing a TLS stream only starts the TLS shutdown; the socket under it is closed once
    the event loop has run that exchange. Without the wait, a gateway that stops right
    after closing (or a loop that ends) leaves the socket open until garbage collection.
    A peer that never answers the shutdown costs at most ``timeout_s``."""
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), timeout_s)
