"""The `deconflict` command line.

Each subcommand lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``handler`` (a callable taking the parsed
arguments and returning the exit code). Adding a command means adding a module
and listing it in ``_COMMAND_MODULES``; nothing else here changes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

# Modules are imported lazily by name so that a missing optional dependency of
# one command cannot break the others.
_COMMAND_MODULES: tuple[str, ...] = (
    "deconflict.cli.check",
    "deconflict.cli.serve",
    "deconflict.cli.demo",
    "deconflict.cli.client_cmds",
    "deconflict.cli.replay",
    "deconflict.cli.ledger",
    "deconflict.cli.evidence",
    "deconflict.cli.keygen",
    "deconflict.cli.tak_gateway",
    "deconflict.cli.relay",  # issue 15: party add, relay, notice print / verify-paper
    "deconflict.cli.units",  # issue 15
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deconflict",
        description="Notify 4D activities and protected sites, find conflicts, prove delivery.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
