"""`deconflict demo`: a hub on a temporary database, playing the Syria 2015 scenario.

The scenario's times are moved to the coming minutes so that the hub treats
its notices as live; the geometry is unchanged.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deconflict.cli import demo_tracks, demo_units
from deconflict.client import Client
from deconflict.config import Settings
from deconflict.interop.tak import demo as tak_demo

__all__ = ["register"]

Doc = dict[str, Any]
# Shipped inside the package so that `pip install .` (not only an editable
# install) can play it; examples/syria-2015.json in the repository points here.
DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "syria-2015.json"
# The notice whose acknowledgement the demo lets run out, to show the escalation.
OVERDUE_DEADLINE_S = 3.0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run a hub on a temporary database and play the Syria 2015 scenario",
    )
    p.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument(
        "--exit-after-play",
        action="store_true",
        help="stop the hub once the scenario has played (for tests)",
    )
    tak_demo.add_demo_options(p)  # --tak-gateway PARTY --cot-url URL (issue 16)
    p.set_defaults(handler=run)


def _say(text: str) -> None:
    print(text, flush=True)


def _shift(doc: Any, offset: timedelta) -> Any:
    if isinstance(doc, dict):
        out = {}
        for k, v in doc.items():
            if k in ("time_start", "time_end") and isinstance(v, str):
                t = datetime.fromisoformat(v.replace("Z", "+00:00")) + offset
                out[k] = t.astimezone(UTC).isoformat().replace("+00:00", "Z")
            else:
                out[k] = _shift(v, offset)
        return out
    if isinstance(doc, list):
        return [_shift(v, offset) for v in doc]
    return doc


def _starts(n: Doc) -> list[datetime]:
    return [datetime.fromisoformat(v["time_start"].replace("Z", "+00:00")) for v in n["volumes"]]


def run(args: argparse.Namespace) -> int:
    from deconflict.api.server import ServerThread  # noqa: PLC0415 - keeps --help fast

    try:
        scenario = json.loads(args.scenario.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"deconflict demo: cannot read the scenario {args.scenario}: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="deconflict-demo-") as tmp:
        admin_token = "adm_" + secrets.token_urlsafe(24)
        settings = Settings(
            db_path=Path(tmp) / "demo.db",
            admin_token=admin_token,
            host=args.host,
            port=args.port,
            sweep_interval_s=0.5,
            heartbeat_s=5.0,
        )
        try:
            server = ServerThread(settings)
        except OSError as exc:
            print(
                f"deconflict demo: cannot listen on {args.host}:{args.port}: "
                f"{exc.strerror or exc}. Stop what uses it or choose --port.",
                file=sys.stderr,
            )
            return 2
        # SIGTERM stops the demo as Ctrl-C does, so that its temporary database goes too
        previous = signal.signal(signal.SIGTERM, _interrupt)
        server.start()
        tracks: demo_tracks.TrackPlayer | None = None
        try:
            _say(f"deconflict demo hub on {server.url} (temporary database {settings.db_path})")
            _say(f"  admin token: {admin_token}")
            with Client(server.url, admin_token) as hub:  # read it to the parties by phone
                _say(f"  hub key fingerprint: {hub.ledger_key()['fingerprint']}")
            tokens = _play(server.url, admin_token, scenario)
            # The tactical story (demo_tracks): own tracks through the public API.
            tracks = demo_tracks.TrackPlayer(server.url, tokens, on_error=_say).start()
            _say(demo_tracks.STORY)
            if args.exit_after_play:
                return 0
            _say(f"\nThe hub keeps running at {server.url}; Ctrl-C stops it.")
            _say(
                f"  try: DECONFLICT_URL={server.url} DECONFLICT_TOKEN=<a token above> "
                "deconflict watch"
            )
            tak_demo.start_for_demo(args, server.url, tokens)
            server.wait()
        except KeyboardInterrupt:
            return 130
        finally:
            if tracks is not None:
                tracks.stop()
            server.stop()
            signal.signal(signal.SIGTERM, previous)
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _play(url: str, admin_token: str, scenario: Doc) -> dict[str, str]:
    with Client(url, admin_token) as admin:
        tokens = {}
        for p in scenario["parties"]:
            tokens[p["id"]] = admin.register_party(p["id"], p["name"])["token"]
            _say(f"  registered {p['id']:<10} {p['name']}\n    token: {tokens[p['id']]}")
    clients = {p: Client(url, t) for p, t in tokens.items()}
    try:
        _play_as_parties(clients, scenario)
        if "back_channel" in scenario:  # issue 15
            _play_back_channel(url, admin_token, clients, scenario["back_channel"])
        demo_units.play(url, clients, scenario)  # issue 15: a unit that had not received it
    finally:
        for c in clients.values():
            c.close()
    return tokens


# -- issue 15: the 2015 back channel (coalition -> UN liaison -> Syria) ---------------------
def _play_back_channel(url: str, admin_token: str, clients: dict[str, Client], bc: Doc) -> None:
    _say("\n== Back channel: a party that never connects ==")
    _say(f"  {bc['about']}")
    relay, relayed = bc["relay"], bc["relayed"]
    with Client(url, admin_token) as admin:
        token = admin.register_party(relay["id"], relay["name"])["token"]
        admin.register_party(relayed["id"], relayed["name"], reachable_via=relay["id"])
    _say(f"  registered {relay['id']:<10} {relay['name']}\n    token: {token}")
    _say(f"  registered {relayed['id']:<10} {relayed['name']} (no token: it never connects)")
    n = dict(bc["notice"])
    issuer = clients[n.pop("issuer")]
    offset = datetime.now(UTC) + timedelta(minutes=10) - min(_starts(n))
    body = _shift(n, offset)
    body["ack_deadline"] = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    for note in issuer.check(body).get("relayed", []):
        _say(f"{issuer.party:>10} dry run: {note['note']}")
    stored = issuer.notify(body)
    nid, version = stored["id"], stored["version"]
    _say(f"{issuer.party:>10} notified {nid} {stored['title']!r} to {relayed['id']}")
    with Client(url, token) as un:
        shown = un.events()  # the relay reads it in full, and confirms it has it:
        un.confirm(shown[-1]["id"])  # that is its delivery (issue 13)
        owed = un.relay_owed()
        _say(f"{relay['id']:>10} owes: {', '.join(o['owes'] + ' ' + o['notice_id'] for o in owed)}")
        fwd, ack = bc["forwarded"], bc["acknowledged"]
        un.relay_step(nid, version, "forwarded", means=fwd["means"], to=fwd["to"])
        _say(f"{relay['id']:>10} forwarded it by {fwd['means']} to {fwd['to']}")
        un.relay_step(
            nid, version, "acknowledged", means=ack["means"], by=ack["by"], comment=ack["comment"]
        )
        _say(f"{relay['id']:>10} recorded the answer: acknowledged by {ack['by']}")
        _, code = un.printable(nid)  # the paper it could fax, and the code to check it by
        for leg in issuer.relay_chain(nid)["legs"]:
            _say(f"{issuer.party:>10} sees the chain to {leg['recipient']}: {_chain(leg)}")
        mine = [a for a in issuer.acks(role="issuer") if a["notice_id"] == nid]
        _say(f"{issuer.party:>10} proof of receipt: {mine[0]['state']}: {mine[0]['comment']}")
        _say(f"  printed copy's verification code: {code} (deconflict notice verify-paper CODE)")
        if "message" in bc:
            _play_relayed_message(clients, un, relayed["id"], nid, bc["message"], shown[-1]["id"])


def _chain(leg: Doc) -> str:
    return " -> ".join(
        f"{s['step']}{' by ' + s['means'] if s['means'] else ''} [ledger {s['ledger_index']}]"
        for s in leg["steps"]
    )


def _play_relayed_message(
    clients: dict[str, Client], un: Client, to: str, nid: str, msg: Doc, seen: int
) -> None:
    """The hotline the same way: the sender's urgent word to a party that never connects,
    handed to its relay, faxed on and answered by telephone, as the relay records it."""
    sender = clients[msg["from"]]
    m = sender.send_message(
        [to],
        msg["body"],
        priority=msg["priority"],
        subject=msg["subject"],
        ref={"type": "notice", "id": nid},
    )
    _say(f"{sender.party:>10} -> {to}: [{m['priority']}] {m['subject']} (about notice {nid})")
    for note in m.get("relayed", []):
        _say(f"{'':>10}   {note['note']}")
    shown = un.events(after=seen)  # the relay's client has the message: its delivery
    un.confirm(shown[-1]["id"])
    fwd, ack = msg["forwarded"], msg["acknowledged"]
    un.relay_message_step(m["id"], "forwarded", means=fwd["means"], to=fwd["to"])
    _say(f"{un.party:>10} forwarded {m['id']} by {fwd['means']} to {fwd['to']}")
    un.relay_message_step(
        m["id"], "acknowledged", means=ack["means"], by=ack["by"], comment=ack["comment"]
    )
    _say(f"{un.party:>10} recorded the answer: acknowledged by {ack['by']}, by {ack['means']}")
    sent = next(x for x in sender.messages(box="out") if x["id"] == m["id"])
    for r in sent["receipts"]:
        if "relay_chain" in r:
            _say(
                f"{sender.party:>10} sees the message's chain to {r['party']}: "
                f"{_chain(r['relay_chain'])}"
            )
            _say(
                f"{'':>10}   receipt: {r['party']} read {r['read_at']} "
                f"(through relay {r['via_relay']})"
            )


def _play_as_parties(clients: dict[str, Client], scenario: Doc) -> None:
    notices = scenario["notices"]
    now = datetime.now(UTC)
    live = [n for n in notices if n.get("kind") != "protected_site"] or notices
    offset = (now + timedelta(minutes=5)) - min(t for n in live for t in _starts(n))
    _say(f"\nScenario times moved by {offset.days} days so that it starts in 5 minutes.")
    # The last notice of the scenario is the one left unacknowledged.
    overdue_one = notices[-1]["id"]
    ids: dict[str, Doc] = {}
    _say("\n== Notifications ==")
    for n in notices:
        body = {k: v for k, v in _shift(n, offset).items() if k not in ("id", "issuer")}
        deadline = OVERDUE_DEADLINE_S if n["id"] == overdue_one else 600.0
        body["ack_deadline"] = (datetime.now(UTC) + timedelta(seconds=deadline)).isoformat()
        stored = clients[n["issuer"]].notify(body)
        ids[n["id"]] = stored
        _say(
            f"{n['issuer']:>10} notified {stored['id']} ({stored['kind']}) "
            f"{stored['title']!r} to {', '.join(stored['addressees'])}"
        )
        for c in stored["conflicts"]:
            other = c["other"]
            o = c["overlaps"][0]
            band = o.get("altitude_band") or {}
            _say(
                f"{'':>10}   CONFLICT {c['id']} with {other['issuer']}'s {other['kind']}"
                f"{' ' + other['notice'] if other['notice'] else ' (not addressed: overlap only)'}"
                f", {band.get('lower_m', 0):.0f}-{band.get('upper_m', 0):.0f} m"
            )
    _say("\n== Acknowledgements ==")
    for n in notices:
        stored = ids[n["id"]]
        if n["id"] == overdue_one:
            continue
        for p, client in clients.items():
            if p == n["issuer"] or (
                "*" not in stored["addressees"] and p not in stored["addressees"]
            ):
                continue
            client.notice(stored["id"])  # a coordinate read; the acknowledgement delivers it
            client.ack(stored["id"], stored["version"], "received")
            _say(f"{p:>10} acknowledged {stored['id']} v{stored['version']} ({n['id']})")
    late = ids[overdue_one]
    issuer = next(n["issuer"] for n in notices if n["id"] == overdue_one)
    _say(
        f"\n{', '.join(late['addressees'])}: {late['id']} ({overdue_one}) left unacknowledged; "
        f"its deadline is {OVERDUE_DEADLINE_S:.0f} s away..."
    )
    deadline = time.monotonic() + 15
    overdue = None
    while overdue is None and time.monotonic() < deadline:
        time.sleep(0.5)
        overdue = next((e for e in clients[issuer].events() if e["type"] == "ack_overdue"), None)
    if overdue:
        d = overdue["data"]
        _say(
            f"{issuer:>10} <- ack_overdue: {d['addressee']} has not acknowledged "
            f"{d['notice_id']} v{d['version']} (deadline {d['deadline']})"
        )
    else:
        _say("   (no ack_overdue event within 15 s)")
    _say("\n== Hotline ==")
    # The message is about the notice left unacknowledged: it refers to that notice (a
    # conflict would be another notice's, or none: the Raqqa package has no conflict).
    others = sorted(p for p in clients if p != issuer)
    target = late["addressees"][0] if late["addressees"][0] != "*" else others[0]
    ref = {"type": "notice", "id": late["id"]}
    m = clients[issuer].send_message(
        [target],
        f"Please acknowledge {late['id']} ({late['title']}).",
        priority="urgent",
        subject="Unacknowledged notice",
        ref=ref,
    )
    about = f" (about notice {ref['id']})"
    _say(f"{issuer:>10} -> {target}: [urgent] {m['body']}{about}")
    inbox = clients[target].messages(box="in")
    clients[target].read_message(inbox[0]["id"])
    reply = clients[target].send_message(
        [issuer],
        "Received. Passed to the operations centre.",
        ref={"type": "message", "id": m["id"]},
    )
    _say(f"{target:>10} read it and replied: {reply['body']}")
    receipts = next(x for x in clients[issuer].messages(box="out") if x["id"] == m["id"])
    for r in receipts["receipts"]:
        _say(f"{'':>10}   receipt: {r['party']} delivered {r['delivered_at']}, read {r['read_at']}")
    _say("\n== Open conflicts ==")
    for p, c in clients.items():
        for x in c.conflicts():
            _say(
                f"{p:>10} sees {x['id']}: its {x['mine']['kind']} x {x['other']['issuer']}'s "
                f"{x['other']['kind']} (addressed to it: {x['other']['addressed_to_you']})"
            )
