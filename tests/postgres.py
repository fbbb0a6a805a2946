"""A throw-away PostgreSQL server for the tests, and a fresh database per test.

`DECONFLICT_TEST_POSTGRES` (a DSN to a server the tests may create databases on) is used
when set; otherwise the tests start their own cluster with the server's binaries
(Debian's `postgresql` package: /usr/lib/postgresql/*/bin), on a Unix socket in a
temporary directory, and remove it at the end. Where neither is available the
PostgreSQL variants of the tests are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

__all__ = ["PostgresServer", "find_binaries"]


def find_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self, dsn: str, *, cluster: Path | None = None, as_user: list[str]) -> None:
        self.dsn = dsn  # of the maintenance database
        self.cluster = cluster
        self.as_user = as_user  # how to run the server's binaries (pg_ctl)
        self.options = ""

    @classmethod
    @contextlib.contextmanager
    def start(cls, *, own: bool = False) -> Iterator[PostgresServer]:
        """`own`: a cluster of the tests' own even if a server is given (to restart it)."""
        given = os.environ.get("DECONFLICT_TEST_POSTGRES")
        if given and not own:
            yield cls(given, as_user=[])
            return
        bin_dir = find_binaries()
        if bin_dir is None:
            raise LookupError("no PostgreSQL server binaries (apt-get install postgresql)")
        root = Path(tempfile.mkdtemp(prefix="dcf-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as `postgres`
            as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
        data = root / "data"
        port = 40000 + secrets.randbelow(20000)
        options = f"-k {root} -p {port} -c listen_addresses='' -c max_connections=300"
        try:
            subprocess.run(  # noqa: S603 - the server's own binaries
                [
                    *as_user,
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "deconflict",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
            subprocess.run(  # noqa: S603
                [
                    *as_user,
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-w",
                    "-l",
                    str(root / "log"),
                    "-o",
                    options,
                    "start",
                ],
                check=True,
                capture_output=True,
            )
            server = cls(
                f"postgresql://deconflict@/postgres?host={root}&port={port}",
                cluster=data,
                as_user=as_user,
            )
            server.options = options  # what `pg_ctl start` needs again after a stop
            yield server
            subprocess.run(  # noqa: S603
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh, empty database (C collation, as the README asks); its DSN."""
        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
        base, _, query = self.dsn.partition("?")
        dsn = base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
        try:
            yield dsn
        finally:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
