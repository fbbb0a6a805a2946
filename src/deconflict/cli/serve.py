"""`deconflict serve`: run the hub."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deconflict.config import ConfigError, Settings, is_postgres_url

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="run the hub (HTTP API and event streams)",
        description="Run the hub. The admin token is read from DECONFLICT_ADMIN_TOKEN; every "
        "other setting from DECONFLICT_* variables, overridden by these options.",
    )
    p.add_argument(
        "--db",
        help="a SQLite database file (default: ./deconflict.db) or a PostgreSQL DSN "
        "(postgresql://user@host/dbname)",
    )
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default 8080)")
    p.add_argument("--lateral-buffer-m", type=float)
    p.add_argument("--vertical-buffer-m", type=float)
    p.add_argument("--time-buffer-s", type=float)
    p.add_argument(
        "--start-despite-ledger-mismatch",
        action="store_true",
        default=None,
        help="start although the tables disagree with the ledger (logged in the ledger)",
    )
    p.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # imported here: keeps --help fast
    from deconflict.api.server import listen, serve_forever  # noqa: PLC0415
    from deconflict.service import StoreDamaged, check_store  # noqa: PLC0415

    try:
        pg = args.db is not None and is_postgres_url(args.db)
        settings = Settings.from_env(
            db_path=None if pg else args.db,
            db_url=args.db if pg else None,
            host=args.host,
            port=args.port,
            lateral_buffer_m=args.lateral_buffer_m,
            vertical_buffer_m=args.vertical_buffer_m,
            time_buffer_s=args.time_buffer_s,
            ledger_start_despite_mismatch=args.start_despite_ledger_mismatch,
        )
    except ConfigError as exc:
        print(f"deconflict serve: {exc}", file=sys.stderr)
        return 2
    if not settings.admin_token:
        print(
            "deconflict serve: set DECONFLICT_ADMIN_TOKEN (16+ characters) to the hub "
            "operator's token",
            file=sys.stderr,
        )
        return 2
    # The port first, then the file: a busy port or a damaged file is said at once,
    # before anything is created.
    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        print(
            f"deconflict serve: cannot listen on {settings.host}:{settings.port}: "
            f"{exc.strerror or exc}. Is another hub running? Stop it or choose --port.",
            file=sys.stderr,
        )
        return 2
    try:
        check_store(settings)
    except StoreDamaged as exc:
        sock.close()
        print(f"deconflict serve: {exc}", file=sys.stderr)
        return 3
    print(
        f"deconflict hub on http://{settings.host}:{settings.port} "
        f"(data: {(settings.db_url and _hidden(settings.db_url)) or settings.db_path.resolve()})",
        file=sys.stderr,
    )
    serve_forever(settings, args.log_level, sock)
    return 0


def _hidden(url: str) -> str:
    """A DSN as printed: without its password."""
    from sqlalchemy import make_url  # noqa: PLC0415 - keeps --help fast

    return make_url(url).render_as_string(hide_password=True)
