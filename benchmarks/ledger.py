"""Benchmark of the ledger: append rate with signing, proofs at 1M entries, store appends,
and what the ledger costs the service's durable submit rate.

    python benchmarks/ledger.py --sizes 10000 1000000 --store 100000
    python benchmarks/ledger.py --service   # runs benchmarks/service.py with and without
    python benchmarks/ledger.py --sizes --store 0 --audit 100000   # a party's audit (issue 12)

Pure library: each append is what the hub does per state change (canonical JSON of a
realistic entry, the leaf hash, the frontier append returning the perfect nodes to keep);
"with signing" also signs a tree head after every append (the worst case: the hub signs
heads on demand and every few seconds, not per entry). Proofs are generated from the kept
nodes (O(log^2 n) reads) and verified with `merkle.verify_*`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from deconflict.ledger import canonical_json, merkle, tree
from deconflict.ledger.keys import SignedTreeHead, generate_key
from deconflict.store import EntryRow, Repo
from deconflict.store.ledger_tables import ledger_entries, ledger_nodes, ledger_refs
from deconflict.store.schema import metadata


def _entry(i: int) -> dict[str, Any]:
    lon, lat = 36.0 + (i % 100) / 100, 35.0 + (i % 37) / 100
    ring = [[lon, lat], [lon + 0.3, lat], [lon + 0.3, lat + 0.3], [lon, lat + 0.3], [lon, lat]]
    return {
        "type": "notice_version",
        "at": "2026-11-25T00:00:00.000000Z",
        "notice_id": f"n-{i:016x}",
        "version": 1,
        "issuer": "coalition",
        "state": "active",
        "content": {
            "kind": "air_activity",
            "title": f"activity {i}",
            "remarks": "",
            "priority": 0,
            "addressees": ["russia"],
            "volumes": [
                {
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "altitude_lower_m": 0.0,
                    "altitude_upper_m": 7620.0,
                    "time_start": "2026-11-25T06:00:00Z",
                    "time_end": "2026-11-25T09:00:00Z",
                }
            ],
        },
    }


def pure(n: int, sign_every: int) -> tuple[float, dict[tuple[int, int], bytes], bytes]:
    key = generate_key()
    frontier = merkle.Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    t0 = time.perf_counter()
    for i in range(n):
        leaf = merkle.leaf_hash(canonical_json(_entry(i)))
        for level, idx, h in tree.append(frontier, leaf):
            nodes[(level, idx)] = h
        if sign_every and i % sign_every == 0:
            SignedTreeHead.sign(key, frontier.size, frontier.root(), "2026-11-25T00:00:00Z")
    return n / (time.perf_counter() - t0), nodes, frontier.root()


def proofs(nodes: dict[tuple[int, int], bytes], size: int, root: bytes, k: int = 1000) -> None:
    rng = random.Random(1)

    def read(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    gen, ver, lens = [], [], []
    for _ in range(k):
        i = rng.randrange(size)
        t0 = time.perf_counter()
        p = tree.inclusion_proof(read, i, size)
        t1 = time.perf_counter()
        assert merkle.verify_inclusion(nodes[(0, i)], i, size, p, root)
        t2 = time.perf_counter()
        gen.append(t1 - t0)
        ver.append(t2 - t1)
        lens.append(len(p))
    print(
        f"  inclusion at {size:,}: generate {statistics.median(gen) * 1e6:.0f} us, "
        f"verify {statistics.median(ver) * 1e6:.0f} us (median of {k}), "
        f"{statistics.mean(lens):.1f} hashes"
    )
    gen, ver, lens = [], [], []
    for _ in range(k):
        first = rng.randrange(1, size)
        old_root = tree.subtree_root(read, 0, first) if first & (first - 1) == 0 else None
        t0 = time.perf_counter()
        p = tree.consistency_proof(read, first, size)
        t1 = time.perf_counter()
        if old_root is None:  # the old root, as an auditor would have kept it
            f = merkle.Frontier.from_hashes(
                first,
                [nodes[(lv, ix)] for lv, ix in _border(first)],
            )
            old_root = f.root()
        t2 = time.perf_counter()
        assert merkle.verify_consistency(first, size, old_root, root, p)
        t3 = time.perf_counter()
        gen.append(t1 - t0)
        ver.append(t3 - t2)
        lens.append(len(p))
    print(
        f"  consistency to {size:,}: generate {statistics.median(gen) * 1e6:.0f} us, "
        f"verify {statistics.median(ver) * 1e6:.0f} us (median of {k}), "
        f"{statistics.mean(lens):.1f} hashes"
    )


def _border(size: int) -> list[tuple[int, int]]:
    out, offset = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, offset >> level))
            offset += 1 << level
    return out


def store(n: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'l.db'}")
        metadata.create_all(engine, tables=[ledger_entries, ledger_nodes, ledger_refs])
        frontier = merkle.Frontier()
        t0 = time.perf_counter()
        i = 0
        while i < n:
            with engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA synchronous=FULL")
                for _ in range(min(batch, n - i)):
                    e = _entry(i)
                    data = canonical_json(e)
                    leaf = merkle.leaf_hash(data)
                    created = tree.append(frontier, leaf)
                    row = EntryRow(i, "notice_version", data, leaf, created[1:], [e["notice_id"]])
                    Repo(conn).ledger.append([row])
                    i += 1
        rate = n / (time.perf_counter() - t0)
        print(f"  store appends ({n:,}, {batch} per commit): {rate:,.0f} entries/s")


def _bulk_messages(db: Path, n: int) -> None:
    """Append ``n`` hotline-message entries to a stopped hub's log (half to russia), with
    their tree nodes: a long log without the cost of ``n`` requests."""
    import sqlite3

    con = sqlite3.connect(db)
    leaves = [bytes(r[0]) for r in con.execute("SELECT leaf_hash FROM ledger_entries ORDER BY idx")]
    frontier = merkle.Frontier()
    for leaf in leaves:
        tree.append(frontier, leaf)
    entries, nodes, refs = [], [], []
    for k in range(n):
        i = len(leaves) + k
        doc = {
            "type": "message",
            "at": "2026-12-01T00:00:00.000000Z",
            "message_id": f"m-bulk-{k:012d}",
            "from": "coalition",
            "to": ["russia"] if k % 2 else ["un"],
            "priority": "routine",
            "subject": "",
            "body": f"bulk message {k}",
        }
        data = canonical_json(doc)
        leaf = merkle.leaf_hash(data)
        entries.append((i, "message", data, leaf))
        nodes += tree.append(frontier, leaf)[1:]
        refs.append((doc["message_id"], i))
    con.executemany(
        "INSERT INTO ledger_entries (idx, type, entry, leaf_hash) VALUES (?,?,?,?)", entries
    )
    con.executemany("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?,?,?)", nodes)
    con.executemany("INSERT INTO ledger_refs (ref, idx) VALUES (?,?)", refs)
    con.commit()
    con.close()


def audit(n: int, requests: int) -> None:
    """`ledger verify` of a party's view at ``n`` entries, and what serving indices, proofs
    and checkpoints costs per request, over HTTP against a real hub."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import httpx

    from deconflict.audit import WitnessOptions, verify_log
    from deconflict.client import Client
    from deconflict.ledger.keys import save_private_key
    from deconflict.service.crosscheck import table_problems
    from deconflict.service.provenance import Provenance
    from deconflict.store import SqliteStore
    from tests.service.helpers import World, notice

    with tempfile.TemporaryDirectory() as tmp:
        w = World(Path(tmp))
        coalition, russia = w.party("coalition"), w.party("russia")
        ids = []
        for k in range(200):  # real objects russia is served: notices, acks, messages
            body = notice(["russia"], lon=30.0 + (k % 50) * 0.5, title=f"n{k}")
            ids.append(coalition.ok("POST", "/v1/notices", body, 201)["id"])
        for k, notice_id in enumerate(ids[:100]):
            russia.ok("POST", f"/v1/notices/{notice_id}/ack", {"version": 1, "comment": f"c{k}"})
        for k in range(100):
            coalition.ok("POST", "/v1/messages", {"to": ["russia"], "body": f"b{k}"}, 201)
        for k in range(50):  # each meets 4 of the coalition's: 200 conflicts, 2 entries each
            russia.ok("POST", "/v1/notices", notice(["coalition"], lon=30.0 + k * 0.5), 201)
        for m in russia.ok("GET", "/v1/messages?box=in")["messages"][:50]:
            russia.ok("POST", f"/v1/messages/{m['id']}/read")  # receipts with their entries
        w.stop()
        _bulk_messages(w.db, n)
        st = SqliteStore(w.db)
        t0 = time.perf_counter()
        with st.read() as repo:
            assert table_problems(repo) == []
        print(
            f"  start-up cross-check of the tables with the log: {time.perf_counter() - t0:.2f} s"
        )
        st.close()
        w.start()
        key = generate_key()
        save_private_key(key, Path(tmp) / "russia.pem")
        with Client(w.url, w.tokens["russia"], key=key) as c:
            c.set_key()
            state = Path(tmp) / "heads.json"
            for label in ("first run (no saved heads)", "second run (heads saved)"):
                t0 = time.perf_counter()
                report = verify_log(c, state, witness=WitnessOptions(key=key))
                took = time.perf_counter() - t0
                assert report.ok, report.problems
                size = c.ledger_head()["tree_size"]
                print(f"  ledger verify as russia, {size:,} entries, {label}: {took:.1f} s")
        http = httpx.Client(
            base_url=w.url, headers={"Authorization": f"Bearer {w.tokens['russia']}"}
        )
        size = http.get("/v1/ledger/head").json()["tree_size"]
        rng = random.Random(1)
        cases: dict[str, Callable[[], httpx.Response]] = {
            "GET /v1/notices?limit=100 (with ledger_index)": lambda: http.get(
                "/v1/notices", params={"limit": 100}
            ),
            "GET /v1/notices/{id} (with ledger_index)": lambda: http.get(
                f"/v1/notices/{rng.choice(ids)}"
            ),
            "GET /v1/acks (100 acks, with ledger_index)": lambda: http.get(
                "/v1/acks", params={"state": "acknowledged"}
            ),
            "GET /v1/conflicts (200 conflicts, with ledger_index)": lambda: http.get(
                "/v1/conflicts"
            ),
            "GET /v1/messages (100 messages, with message and receipt indices)": lambda: http.get(
                "/v1/messages", params={"box": "in"}
            ),
            "GET /v1/ledger/proof/inclusion": lambda: http.get(
                "/v1/ledger/proof/inclusion", params={"index": rng.randrange(size)}
            ),
            "GET /v1/ledger/checkpoint": lambda: http.get("/v1/ledger/checkpoint"),
            "GET /v1/ledger/head (for scale)": lambda: http.get("/v1/ledger/head"),
        }
        for label, call in cases.items():
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                r = call()
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
            print(f"  {label}: median {statistics.median(times) * 1e3:.2f} ms")
        # the lookup of the indices alone, in-process, on what those requests serve
        prov = Provenance(SqliteStore(w.db))  # the same look-up, on the same file
        views = http.get("/v1/notices", params={"limit": 100}).json()["notices"]
        acks = http.get("/v1/acks").json()["acks"]
        conflicts = http.get("/v1/conflicts").json()["conflicts"]
        messages = http.get("/v1/messages", params={"box": "in"}).json()["messages"]
        lookups: list[tuple[str, Callable[[], None]]] = [
            ("100 notices", lambda: prov._notices(views, "russia")),
            (f"{len(acks)} acks", lambda: prov._acks(acks)),
            (f"{len(conflicts)} conflicts", lambda: prov._conflicts(conflicts, "russia")),
            (f"{len(messages)} messages", lambda: prov._messages(messages, "russia")),
        ]
        for label, fn in lookups:
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            each = statistics.median(times)
            print(f"  ledger_index look-up alone for {label}: median {each * 1e3:.2f} ms")
        http.close()
        w.stop()


def service(args: argparse.Namespace) -> None:
    here = Path(__file__).parent
    cmd = [sys.executable, str(here / "service.py"), *args.service_args]
    for enabled in ("1", "0", "1", "0"):
        env = {**os.environ, "DECONFLICT_LEDGER_ENABLED": enabled}
        print(f"== ledger {'on' if enabled == '1' else 'off'}: {' '.join(cmd)}", flush=True)
        subprocess.run(cmd, env=env, check=True)  # noqa: S603 - our own script


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 1_000_000])
    p.add_argument("--sign-every", type=int, default=1)
    p.add_argument("--store", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--service", action="store_true")
    p.add_argument("--audit", type=int, default=0, help="entries of the audited log (0: skip)")
    p.add_argument("--requests", type=int, default=200, help="(--audit) requests per figure")
    p.add_argument(
        "--service-args",
        nargs="*",
        default=["--stored", "2000", "--clients", "4", "--submits", "250", "--acks", "300"],
    )
    args = p.parse_args()
    if args.service:
        service(args)
        return
    for n in args.sizes:
        plain, _, _ = pure(min(n, 100_000), 0) if n > 100_000 else pure(n, 0)
        signed, nodes, root = pure(n, args.sign_every)
        print(
            f"{n:,} entries: append {plain:,.0f}/s without signing; {signed:,.0f}/s "
            f"signing a head every {args.sign_every} append(s); {len(nodes):,} nodes kept"
        )
        if n >= 100_000:
            proofs(nodes, n, root)
        del nodes
    if args.store:
        store(args.store, args.batch)
    if args.audit:
        audit(args.audit, args.requests)


if __name__ == "__main__":
    main()
