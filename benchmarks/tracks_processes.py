"""Report -> alert across two hub processes on one PostgreSQL database (issue 14).

    python benchmarks/tracks_processes.py --probes 10 [--interval 0.1]

Two hubs (each with its own store, writer, picture and alert book, in this process)
on a throw-away PostgreSQL cluster (tests/postgres.py). Each probe is a head-on pair:
one party's track first, then, timed, the other party's converging track; the time
is until the alert is committed (read back through the leader). Probes go once with
both reports posted to the leader, once with both posted to the other process, whose
reports the leader screens only after they were passed on (`track_batches`, every
`--interval` s: `track_share_interval_s`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.postgres import PostgresServer  # noqa: E402
from tests.service.test_multi_tracks import Pair, _hub  # noqa: E402
from tests.tactical_service.helpers import report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--probes", type=int, default=10)
    ap.add_argument("--interval", type=float, default=0.1, help="track_share_interval_s")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    with PostgresServer.start(own=True) as server, server.database() as dsn:
        tmp = Path(tempfile.mkdtemp(prefix="dcf-tracks-"))
        a = _hub(tmp, dsn, "a", track_share_interval_s=args.interval)
        b = _hub(tmp, dsn, "b", track_share_interval_s=args.interval)
        try:
            pair = Pair(a, b)
            leader, other = pair.leader()
            pair.who(other, "russia")  # both tokens known to both processes first
            pair.who(other, "coalition")
            print("| reports posted to | probes | report -> alert committed p50 | max |")
            print("|---|--:|--:|--:|")
            raised = 0
            for where, hub in (("the leader", leader), ("the other process", other)):
                took = []
                for _ in range(args.probes):
                    lon = 20.0 + 2 * raised
                    name = f"{raised}"
                    pair.send(hub, "coalition", report(f"V{name}", 35.0, lon, gs=200, trk=90))
                    time.sleep(0.3)
                    began = time.perf_counter()
                    pair.send(hub, "russia", report(f"F{name}", 35.0, lon + 0.5, gs=200, trk=270))
                    raised += 1
                    while len(pair.alerts(leader)) < raised:
                        time.sleep(0.005)
                    took.append(time.perf_counter() - began)
                print(
                    f"| {where} | {len(took)} | {statistics.median(took) * 1000:.0f} ms "
                    f"| {max(took) * 1000:.0f} ms |",
                    flush=True,
                )
        finally:
            a.close()
            b.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
