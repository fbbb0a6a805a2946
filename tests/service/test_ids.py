"""Identifiers sort in the order they were made, and never repeat."""

from __future__ import annotations

import re
import time

from deconflict.service.ids import new_id


def test_ids_are_time_ordered_unique_and_well_formed() -> None:
    made = []
    for _ in range(2000):
        made.append(new_id("n"))
        if len(made) % 500 == 0:
            time.sleep(0.002)  # cross a few milliseconds
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(r"n-[0-9a-f]{28}", i) for i in made)
    stamps = [int(i[2:14], 16) for i in made]
    assert stamps == sorted(stamps)  # the B-tree friendly part
    now_ms = time.time_ns() // 1_000_000
    assert now_ms - 60_000 < stamps[0] <= stamps[-1] <= now_ms
    # within one millisecond the order is random: the 64 random bits are really random
    assert len({i[14:] for i in made}) == len(made)
