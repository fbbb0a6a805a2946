"""`deconflict tak-gateway`: link the party's TAK server to the hub (see the README)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from deconflict.cli.options import add_server_options

__all__ = ["register"]


def _csv(values: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip() for item in values or [] for v in item.split(",") if v.strip())


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tak-gateway",
        help="link your party's TAK server to the hub (positions out; notices, alerts, chat in)",
        description=(
            "Runs on the party's own network between its TAK server and the hub. Only the "
            "positions chosen with --share-* leave the network."
        ),
    )
    add_server_options(p)
    p.add_argument(
        "--cot-url",
        required=True,
        help="the TAK server: tcp://HOST:PORT or tls://HOST:PORT (pytak's form)",
    )
    p.add_argument("--tls-cert", help="client certificate (PEM with --tls-key, or PKCS#12)")
    p.add_argument("--tls-key", help="client private key (PEM)")
    p.add_argument("--tls-ca", help="CA certificate that signed the TAK server's certificate")
    p.add_argument("--tls-password", help="password of the key or PKCS#12 file")
    p.add_argument(
        "--tls-server-name",
        help="the name in the server's certificate, if not the host of --cot-url",
    )
    p.add_argument(
        "--protocol",
        choices=("xml", "proto"),
        default="xml",
        help="what the gateway sends: CoT XML, or TAK protocol version 1 (protobuf) once the "
        "server offers it and agrees (t-x-takp-v/q/r); it reads both",
    )
    p.add_argument(
        "--share-uid",
        action="append",
        metavar="UID[,UID...]",
        help="send these devices' positions to the hub",
    )
    p.add_argument("--share-callsign", action="append", metavar="CS[,CS...]")
    p.add_argument(
        "--share-group",
        action="append",
        metavar="TEAM[,TEAM...]",
        help="send the positions of these TAK groups (teams), e.g. Cyan",
    )
    p.add_argument(
        "--share-type",
        action="append",
        metavar="PREFIX[,PREFIX...]",
        help="send positions whose CoT type starts so, e.g. a-f-A (friendly air)",
    )
    p.add_argument(
        "--liaison",
        action="append",
        metavar="UID_OR_CALLSIGN",
        help="devices that get hotline messages (default: every device seen)",
    )
    p.add_argument("--uid", default="deconflict-hotline", help="the gateway's TAK uid")
    p.add_argument("--callsign", default="HOTLINE", help="the gateway's TAK callsign")
    p.add_argument(
        "--max-events-per-s",
        type=float,
        default=2000.0,
        help="CoT events read per second at most; a burst beyond is dropped and counted",
    )
    p.add_argument("--status-interval", type=float, default=60.0, metavar="SECONDS")
    p.add_argument(
        "--check",
        action="store_true",
        help="test both connections, print one line each and exit (0: both fine)",
    )
    p.set_defaults(handler=run)


def config_of(args: argparse.Namespace) -> Any:
    from deconflict.interop.tak import GatewayConfig, ShareRules, TakEndpoint  # noqa: PLC0415

    rules = ShareRules(
        uids=_csv(args.share_uid),
        callsigns=_csv(args.share_callsign),
        groups=_csv(args.share_group),
        types=tuple(sorted(_csv(args.share_type))),
    )
    return GatewayConfig(
        server=args.server,
        token=args.token,
        tak=TakEndpoint(
            cot_url=args.cot_url,
            cert=args.tls_cert,
            key=args.tls_key,
            ca=args.tls_ca,
            password=args.tls_password,
            server_hostname=args.tls_server_name,
        ),
        rules=rules,
        protocol=args.protocol,
        uid=args.uid,
        callsign=args.callsign,
        liaison=_csv(args.liaison),
        status_interval_s=args.status_interval,
        max_events_per_s=args.max_events_per_s,
    )


def run(args: argparse.Namespace) -> int:
    from deconflict.interop.tak import Gateway, run_gateway  # noqa: PLC0415 - keeps --help fast

    if not args.token:
        print("deconflict tak-gateway: --token (or DECONFLICT_TOKEN) is required", file=sys.stderr)
        return 2
    cfg = config_of(args)
    if args.check:
        ok, lines = asyncio.run(Gateway(cfg).check())
        for line in lines:
            print(line)
        return 0 if ok else 1
    print(
        f"deconflict tak-gateway: {args.cot_url} <-> {args.server}; positions shared: "
        f"{cfg.rules.describe()}",
        flush=True,
    )
    run_gateway(cfg)
    return 0
