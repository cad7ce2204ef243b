"""Hot-path figure: receive() of a valid 10-sample 1.6 MeterValues CALL.

Run: ``.venv/bin/python -m tests.ocpp.bench_receive``. Not a test (timing asserts are flaky on a
shared machine); prints µs per operation, best of several repeats.
"""

from __future__ import annotations

import timeit

from opencsms.ocpp.frames import CallResult, encode
from opencsms.ocpp.version import OcppVersion
from tests.ocpp.builders import (
    call_text,
    make_session,
    meter_values_v16,
    transaction_event_v201,
)


def measure(version: OcppVersion, action: str, payload: dict[str, object], n: int = 20_000) -> None:
    session = make_session(version)
    text = call_text("0123456789abcdef", action, payload)

    def receive_only() -> None:
        session._handling = None  # skip answering: measure receive() alone
        session.receive(text, 0.0)

    def full_round() -> None:
        (event,) = session.receive(text, 0.0)
        session.answer(event.call, {})  # type: ignore[union-attr]
        session.data_to_send()

    best = min(timeit.repeat(receive_only, number=n, repeat=7)) / n * 1e6
    session._handling = None
    rounds = min(timeit.repeat(full_round, number=n, repeat=7)) / n * 1e6
    enc = min(timeit.repeat(lambda: encode(CallResult("x", {})), number=n, repeat=7)) / n * 1e6
    print(
        f"{version.value} {action} ({len(text)} B): receive {best:.2f} µs, "
        f"receive+answer+drain {rounds:.2f} µs, encode CALLRESULT {enc:.2f} µs"
    )


if __name__ == "__main__":
    measure(OcppVersion.V16, "MeterValues", meter_values_v16(samples=10))
    measure(OcppVersion.V201, "TransactionEvent", transaction_event_v201(samples=10))
