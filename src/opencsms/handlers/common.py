"""Small translations shared by the version handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from opencsms.domain.metering import samples_power_energy
from opencsms.domain.model import MeterValueRecord

StationCall = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Sends a CALL to one connected station and returns its CALLRESULT payload
(``Csms.call_station`` bound to a station id); raises ``CallFailedError``."""


def parse_timestamp(value: str) -> datetime:
    """An OCPP date-time (schema-validated, zone present) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:  # only reachable in tolerant mode before normalisation; assume UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def meter_value_records(
    *,
    station_id: str,
    evse_id: int,
    connector_id: int,
    transaction_id: str | None,
    meter_values: Sequence[Mapping[str, Any]],
    received_at: datetime,
) -> list[MeterValueRecord]:
    """One record per ``meterValue`` element; the samples are kept as the station sent them."""
    records = []
    for element in meter_values:
        samples = element["sampledValue"]
        context = samples[0].get("context") if samples else None
        records.append(
            MeterValueRecord(
                station_id=station_id,
                evse_id=evse_id,
                connector_id=connector_id,
                transaction_id=transaction_id,
                timestamp=parse_timestamp(element["timestamp"]),
                samples_json=orjson.dumps(samples).decode(),
                context=context,
                received_at=received_at,
                _outlet=samples_power_energy(samples),
            )
        )
    return records
