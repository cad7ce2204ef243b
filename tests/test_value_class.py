"""``@value_class`` records: fast to build, read-only where that is checked (``mypy --strict``)."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from mypy import api as mypy_api

from opencsms.domain.fleet_events import MeterValuesStored
from opencsms.domain.model import MeterValueRecord
from opencsms.ocpp.events import IncomingCall
from opencsms.ocpp.frames import Call

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(**changes: object) -> MeterValueRecord:
    record = MeterValueRecord("CS", 1, 1, "7", T0, "[]", None, T0)
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def test_they_are_slotted_values_compared_and_hashed_by_value() -> None:
    assert _record() == _record()
    assert hash(_record()) == hash(_record())
    assert _record(transaction_id="8") != _record()
    # the worked-out outlet reading is not part of the value
    assert _record(_outlet=(1.0, 2.0)) == _record()
    assert not hasattr(_record(), "__dict__")
    event = MeterValuesStored("CS", (_record(),))
    assert event == MeterValuesStored("CS", (_record(),))
    assert IncomingCall(Call("1", "Heartbeat", {})) == IncomingCall(Call("1", "Heartbeat", {}))


def test_mypy_rejects_an_assignment_to_any_of_their_fields(tmp_path: Path) -> None:
    snippet = tmp_path / "assigns.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from opencsms.domain.fleet_events import MeterValuesStored
            from opencsms.domain.model import MeterValueRecord
            from opencsms.ocpp.events import IncomingCall
            from opencsms.ocpp.frames import Call

            def change(
                call: Call,
                incoming: IncomingCall,
                record: MeterValueRecord,
                event: MeterValuesStored,
            ) -> None:
                call.action = "Reset"
                incoming.deviations = ()
                record.transaction_id = "other"
                event.station_id = "other"
            """
        )
    )
    out, _err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", str(snippet)]
    )
    assert status == 1, out
    for name in ("action", "deviations", "transaction_id", "station_id"):
        assert f'Property "{name}" defined in' in out, out
    assert out.count("is read-only") == 4, out
