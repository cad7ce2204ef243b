"""AuthBackoff on a fake clock: free failures, doubling blocks, reset, exemption, bounds."""

from __future__ import annotations

from opencsms.auth_backoff import ADDRESS_FREE_FACTOR, AuthBackoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: FakeClock, **kw: float) -> AuthBackoff:
    options = {"base": 1.0, "maximum": 8.0, "free_failures": 2} | kw
    return AuthBackoff(
        base=options["base"],
        maximum=options["maximum"],
        free_failures=int(options["free_failures"]),
        max_entries=int(options.get("max_entries", 10_000)),
        clock=clock,
    )


def test_blocks_double_after_the_free_failures_up_to_the_maximum() -> None:
    clock = FakeClock()
    backoff = make(clock)
    waits = []
    for _ in range(7):
        backoff.failed("CS1", None)
        waits.append(backoff.retry_after("CS1", None))
        clock.now += waits[-1]  # the next attempt comes when allowed
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_a_success_resets_and_other_ids_are_not_affected() -> None:
    clock = FakeClock()
    backoff = make(clock)
    for _ in range(3):
        backoff.failed("CS1", None)
    assert backoff.retry_after("CS1", None) == 1.0
    assert backoff.retry_after("CS2", None) == 0.0
    backoff.succeeded("CS1", None)
    assert backoff.retry_after("CS1", None) == 0.0


def test_an_address_gets_more_free_failures_than_an_id() -> None:
    clock = FakeClock()
    backoff = make(clock)
    for i in range(2 * ADDRESS_FREE_FACTOR):
        backoff.failed(f"CS{i}", "10.0.0.1")  # a different id each time: only the address adds up
    assert backoff.retry_after("NEW", "10.0.0.1") == 0.0
    backoff.failed("CSX", "10.0.0.1")
    assert backoff.retry_after("NEW", "10.0.0.1") == 1.0
    assert backoff.retry_after("NEW", "10.0.0.2") == 0.0


def test_a_pair_that_authenticated_is_exempt_from_others_blocks_until_it_fails() -> None:
    clock = FakeClock()
    backoff = make(clock)
    backoff.succeeded("CS1", "10.0.0.1")
    for _ in range(3):
        backoff.failed("CS1", "10.6.6.6")  # someone else guessing CS1's password
    assert backoff.retry_after("CS1", "10.6.6.6") > 0
    assert backoff.retry_after("CS1", "10.0.0.1") == 0.0  # the real station still gets in
    backoff.failed("CS1", "10.0.0.1")
    assert backoff.retry_after("CS1", "10.0.0.1") > 0


def test_quiet_keys_are_forgotten_and_memory_is_bounded() -> None:
    clock = FakeClock()
    backoff = make(clock, max_entries=100)
    for _ in range(3):
        backoff.failed("CS1", None)
    clock.now += 2 * 8.0 + 1
    backoff.failed("CS1", None)  # counted from zero again: still free
    assert backoff.retry_after("CS1", None) == 0.0
    for i in range(1000):
        backoff.failed(f"ID{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(backoff) <= 200
