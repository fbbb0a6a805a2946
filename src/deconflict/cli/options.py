"""Options shared by the commands that talk to a hub."""

from __future__ import annotations

import argparse
import os
import sys

import httpx

from deconflict.client import ApiError

__all__ = ["HUB_ERRORS", "add_server_options", "report_hub_error"]

# What talking to a hub can raise: the hub's answer (problem+json) or no answer.
HUB_ERRORS = (ApiError, httpx.HTTPError)


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


def report_hub_error(exc: Exception, server: str) -> int:
    """Print a hub failure for a person and return the exit status: 1 refused, 3 unreachable."""
    if isinstance(exc, ApiError):
        print(f"deconflict: {exc}", file=sys.stderr)
        return 1
    print(f"deconflict: cannot reach {server}: {exc}", file=sys.stderr)
    return 3
