"""Durable submits on SQLite (1 process), PostgreSQL (1 process), PostgreSQL (2 processes).

    python benchmarks/processes.py --clients 8 --seconds 25

For each configuration: a fresh database (a SQLite file; a throw-away PostgreSQL cluster
from tests/postgres.py, Unix socket, fsync and synchronous_commit left on), real
`deconflict serve` processes on free ports, `--clients` submitter processes (the standard
library's HTTP client, kept-alive connections; each submit goes to the next process,
round robin) for `--seconds` after a short warm-up. Every notice is addressed to a
watcher whose SSE stream is on the *other* process (two processes) or the same one:
submit -> event latency includes following another process's commits. CPU per submit is
read from /proc (utime+stime of each hub process and its children, of the postmaster and
all its children, with the children it reaped) before and after the measured window.
Prints one Markdown row per configuration and the load average: the machine is shared,
so the CPU per submit is the figure to trust more than wall-clock rates.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service import doc, pct  # noqa: E402 - benchmarks/ is on sys.path as a script

ADMIN = "bench-admin-token-0123456789"
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, own + reaped children's CPU seconds) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and its live descendants (and what they reaped)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)], cpu[int(entry)] = _stat(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(p for p, parent in parents.items() if parent == pid)
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def hubs(db: str, n: int, work: Path) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "DECONFLICT_ADMIN_TOKEN": ADMIN,
        "DECONFLICT_HUB_KEY_FILE": str(work / "hub-key.pem"),
        "DECONFLICT_RATE_PER_S": "1e6",
        "DECONFLICT_RATE_BURST": "1000000",
    }
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for i in range(n):  # one after the other: the first migrates the database
            port = _free_port()
            log = (work / f"hub{i}.log").open("wb")
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [
                    sys.executable,
                    "-m",
                    "deconflict",
                    "serve",
                    "--db",
                    db,
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=work,
                stdout=log,
                stderr=log,
            )
            url = f"http://127.0.0.1:{port}"
            started.append((url, proc))
            deadline = time.monotonic() + 300
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hub {i} did not start: see {work / f'hub{i}.log'}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        yield started
    finally:
        for _, proc in started:
            proc.terminate()
        for _, proc in started:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def submitter(
    urls: list[str],
    token: str,
    watchers: list[str],
    seed: int,
    warmup: int,
    seconds: float,
    barrier: Any,
    out: Any,
) -> None:
    rng = random.Random(seed)
    t0 = datetime.now(UTC)
    conns = [
        http.client.HTTPConnection("127.0.0.1", int(u.rsplit(":", 1)[1]), timeout=60) for u in urls
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lat: list[float] = []
    ids: dict[str, list[str]] = {w: [] for w in watchers}
    errors: list[str] = []
    k = seed  # round robin over the processes, each client starting elsewhere

    def one(record: bool) -> None:
        nonlocal k
        target = k % len(urls)
        k += 1
        # addressed to the watcher streaming from the next process (the same with one)
        to = watchers[(target + 1) % len(urls)]
        body = doc(rng, t0, to, title=f"{time.time():.6f}")
        s = time.perf_counter()
        conns[target].request("POST", "/v1/notices", json.dumps(body), headers)
        r = conns[target].getresponse()
        answer = r.read()
        took = time.perf_counter() - s
        if r.status != 201:
            errors.append(f"{r.status} from {urls[target]}: {answer[:300]!r}")
            return
        if record:
            lat.append(took)
            ids[to].append(json.loads(answer)["id"])

    for _ in range(warmup):
        one(False)
    barrier.wait()
    cpu0 = time.process_time()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        one(True)
    out.put({"submit": lat, "ids": ids, "errors": errors, "cpu": time.process_time() - cpu0})


def watch(url: str, token: str, after: int, got: dict[str, float], stop: threading.Event) -> None:
    """The addressee's SSE stream: when each notice's event arrived, minus its send time."""
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": str(after)}
    try:
        _watch(url, headers, got, stop)
    except httpx.HTTPError:
        if not stop.is_set():  # the hub going away at the end is expected; before, not
            raise


def _watch(url: str, headers: dict[str, str], got: dict[str, float], stop: threading.Event) -> None:
    with (
        httpx.Client(timeout=httpx.Timeout(30.0, read=None)) as c,
        c.stream("GET", f"{url}/v1/events", headers=headers) as r,
    ):
        for line in r.iter_lines():
            if stop.is_set():
                return
            if line.startswith("data:"):
                e = json.loads(line[5:])
                if e["type"] == "notice_received":
                    got[e["data"]["id"]] = time.time() - float(e["data"]["title"])


def register(url: str, name: str) -> str:
    r = httpx.post(
        f"{url}/v1/parties",
        json={"id": name, "name": name},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def health(url: str) -> dict[str, Any]:
    return dict(
        httpx.get(f"{url}/healthz", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60).json()
    )


def run(
    label: str, db: str, n: int, work: Path, args: argparse.Namespace, postmaster: int | None
) -> dict[str, Any]:
    with hubs(db, n, work) as procs:
        urls = [u for u, _ in procs]
        # parties registered on the first process; the others follow (a write catches up)
        watchers = [f"watcher{i}" for i in range(n)]
        tokens = {w: register(urls[0], w) for w in watchers}
        clients = [f"client{i}" for i in range(args.clients)]
        tokens |= {c: register(urls[0], c) for c in clients}
        time.sleep(2.0)  # > follow_interval_s: every process knows every party
        got: list[dict[str, float]] = [{} for _ in watchers]
        stop = threading.Event()
        threads = []
        for i, w in enumerate(watchers):
            after = health(urls[i])["last_event_id"]
            t = threading.Thread(
                target=watch, args=(urls[i], tokens[w], after, got[i], stop), daemon=True
            )
            t.start()
            threads.append(t)
        barrier: Any = mp.Barrier(args.clients + 1)
        out: Any = mp.Queue()
        subs = [
            mp.Process(
                target=submitter,
                args=(urls, tokens[c], watchers, i, args.warmup, args.seconds, barrier, out),
            )
            for i, c in enumerate(clients)
        ]
        for p in subs:
            p.start()
        barrier.wait()
        before_health = [health(u)["write_batches"] for u in urls]
        hub0 = [tree_cpu(p.pid) for _, p in procs]
        db0 = tree_cpu(postmaster) if postmaster else 0.0
        start = time.perf_counter()
        results = [out.get(timeout=args.seconds + 300) for _ in subs]
        elapsed = time.perf_counter() - start
        hub1 = [tree_cpu(p.pid) for _, p in procs]
        db1 = tree_cpu(postmaster) if postmaster else 0.0
        load = os.getloadavg()[0]
        for p in subs:
            p.join()
        after_health = [health(u)["write_batches"] for u in urls]
        # every 201 must reach its addressee's stream
        want = {w: [i for r in results for i in r["ids"][w]] for w in watchers}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            any(i not in got[k] for i in want[w]) for k, w in enumerate(watchers)
        ):
            time.sleep(0.2)
        stop.set()
        missing = sum(1 for k, w in enumerate(watchers) for i in want[w] if i not in got[k])
        delays = [got[k][i] for k, w in enumerate(watchers) for i in want[w] if i in got[k]]
    submits = [x for r in results for x in r["submit"]]
    total = len(submits)
    writes = sum(
        a["writes"] - b["writes"] for a, b in zip(after_health, before_health, strict=True)
    )
    commits = sum(
        a["batches"] - b["batches"] for a, b in zip(after_health, before_health, strict=True)
    )
    return {
        "label": label,
        "submits": total,
        "rate": total / elapsed,
        "p50": pct(submits, 0.5),
        "p99": pct(submits, 0.99),
        "ev50": pct(delays, 0.5) if delays else float("nan"),
        "ev99": pct(delays, 0.99) if delays else float("nan"),
        "hub_ms": [(b - a) / total * 1000 for a, b in zip(hub0, hub1, strict=True)],
        "hub_cores": sum(b - a for a, b in zip(hub0, hub1, strict=True)) / elapsed,
        "db_ms": (db1 - db0) / total * 1000,
        "client_ms": sum(r["cpu"] for r in results) / total * 1000,
        "per_commit": writes / commits if commits else float("nan"),
        "errors": [e for r in results for e in r["errors"]],
        "missing": missing,
        "load": load,
    }


def postgres(work: Path) -> Generator[tuple[str, int], None, None]:
    from tests.postgres import PostgresServer

    tempfile.tempdir = str(work)  # the cluster on the same disk as the SQLite file
    with PostgresServer.start() as server, server.database() as dsn:
        assert server.cluster is not None
        postmaster = int((server.cluster / "postmaster.pid").read_text().split()[0])
        yield dsn, postmaster


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=25.0, help="measured window per run")
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured submits per client")
    ap.add_argument("--only", choices=["sqlite1", "pg1", "pg2"], action="append")
    args = ap.parse_args()
    only = args.only or ["sqlite1", "pg1", "pg2"]
    rows = []
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # the PostgreSQL cluster runs as `postgres` when we are root
        if "sqlite1" in only:
            work = base / "sqlite"
            work.mkdir()
            rows.append(run("SQLite, 1 process", str(work / "hub.db"), 1, work, args, None))
            print(rows[-1], file=sys.stderr)
        for name, n in (("pg1", 1), ("pg2", 2)):
            if name not in only:
                continue
            work = base / name
            work.mkdir()
            gen = postgres(work)
            dsn, postmaster = next(gen)
            try:
                rows.append(
                    run(
                        f"PostgreSQL, {n} process{'es' if n > 1 else ''}",
                        dsn,
                        n,
                        work,
                        args,
                        postmaster,
                    )
                )
                print(rows[-1], file=sys.stderr)
            finally:
                gen.close()
    print(f"\n{args.clients} clients, {args.seconds:.0f} s measured per run\n")
    print(
        "| configuration | submits | durable submits/s | submit p50 / p99 | submit->event "
        "p50 / p99 | hub CPU per submit (per process) | hub cores | DB CPU per submit | "
        "per COMMIT | clients' CPU per submit | load (1 min) | non-201 / events missing |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        hub = " + ".join(f"{x:.2f}" for x in r["hub_ms"])
        print(
            f"| {r['label']} | {r['submits']} | {r['rate']:.0f} | {r['p50']:.1f} / "
            f"{r['p99']:.1f} ms | {r['ev50']:.0f} / {r['ev99']:.0f} ms | "
            f"{sum(r['hub_ms']):.2f} ms ({hub}) | {r['hub_cores']:.2f} | {r['db_ms']:.2f} ms | "
            f"{r['per_commit']:.1f} | {r['client_ms']:.2f} ms | {r['load']:.1f} | "
            f"{len(r['errors'])} / {r['missing']} |"
        )
    for r in rows:
        for e in r["errors"][:5]:
            print(f"  {r['label']}: {e}")


if __name__ == "__main__":
    main()
