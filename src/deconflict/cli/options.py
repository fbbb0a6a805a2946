"""Options shared by the commands that talk to a hub."""

from __future__ import annotations

import argparse
import os

__all__ = ["add_server_options"]


def add_server_options(p: argparse.ArgumentParser) -> None:
    """``--server`` and ``--token``, defaulting to DECONFLICT_URL and DECONFLICT_TOKEN."""
    p.add_argument(
        "--server",
        default=os.environ.get("DECONFLICT_URL", "http://127.0.0.1:8080"),
        help="hub URL (default: $DECONFLICT_URL)",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("DECONFLICT_TOKEN"),
        help="your party's token (default: $DECONFLICT_TOKEN)",
    )
