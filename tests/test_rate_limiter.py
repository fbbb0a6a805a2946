"""The token buckets (`service.auth.RateLimiter`): the unauthenticated paper check keys them
by client address, so their number must not grow with every address ever seen."""

from __future__ import annotations

import pytest

from deconflict.service.auth import RateLimiter
from deconflict.service.errors import RateLimited


class _Clock:
    """The limiter's own clock, moved by hand (its answers depend on time alone)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_many_addresses_hold_only_the_buckets_of_one_refill_time() -> None:
    clock = _Clock()
    # 30 a minute, bursts of 30 (the paper check's default): a bucket refills in 60 s
    limiter = RateLimiter(30 / 60.0, 30, keep=1_000, clock=clock)
    per_second = 100
    for second in range(600):  # ten minutes, 60,000 addresses, each asking once
        for n in range(per_second):
            limiter.take(f"2001:db8::{second:x}:{n:x}")
        clock.now += 1.0
        # what is held: the addresses of the last refill time (6,000), at most twice over
        assert len(limiter) <= 2 * 61 * per_second + 1_000, (second, len(limiter))
    assert len(limiter) < 60_000 // 4


def test_dropping_refilled_buckets_changes_no_answer() -> None:
    clock = _Clock()
    limiter = RateLimiter(1.0, 3, keep=10, clock=clock)
    for _ in range(3):
        limiter.take("hammer")
    for n in range(100):  # sweeps run among these; the hammer's bucket is not full
        limiter.take(f"other-{n}")
    with pytest.raises(RateLimited):
        limiter.take("hammer")
    clock.now += 1.0  # one token back, and the sweeps keep the bucket that is refilling
    for n in range(100, 200):
        limiter.take(f"other-{n}")
    limiter.take("hammer")
    with pytest.raises(RateLimited):
        limiter.take("hammer")
    clock.now += 10.0  # refilled: dropped at the next sweep, and then a burst as before
    for n in range(200, 400):
        limiter.take(f"other-{n}")
    for _ in range(3):
        limiter.take("hammer")
    with pytest.raises(RateLimited):
        limiter.take("hammer")
