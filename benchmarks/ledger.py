"""Benchmark of the ledger: append rate with signing, proofs at 1M entries, store appends,
and what the ledger costs the service's durable submit rate.

    python benchmarks/ledger.py --sizes 10000 1000000 --store 100000
    python benchmarks/ledger.py --service   # runs benchmarks/service.py with and without

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


if __name__ == "__main__":
    main()
