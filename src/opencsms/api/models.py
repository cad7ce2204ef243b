"""Request and response bodies of the operator API (documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Registration = Literal["Accepted", "Pending", "Rejected"]
StrictnessName = Literal["strict", "tolerant"]


class StationCreate(BaseModel):
    """A station to provision. Without a password the station connects without HTTP Basic auth."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=48, description="Charging station identity (no ':')")
    password: str | None = Field(
        default=None, min_length=16, max_length=40, description="Security profile 1 password"
    )
    registration: Registration = "Accepted"
    strictness: StrictnessName = "strict"
    heartbeat_interval: int | None = Field(default=None, ge=1, le=86_400)


class StationPatch(BaseModel):
    """Fields to change; send ``"password": null`` to remove the password."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, min_length=16, max_length=40)
    registration: Registration | None = None
    strictness: StrictnessName | None = None
    heartbeat_interval: int | None = Field(default=None, ge=1, le=86_400)


class BootOut(BaseModel):
    vendor: str
    model: str
    serial_number: str | None
    charge_box_serial_number: str | None
    firmware_version: str | None
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    reason: str | None


class ConnectorOut(BaseModel):
    connector_id: int
    status: str
    error_code: str | None
    info: str | None
    vendor_id: str | None
    vendor_error_code: str | None
    reported_at: datetime | None = Field(description="The station's own timestamp of the report")
    received_at: datetime


class EvseOut(BaseModel):
    evse_id: int = Field(description="1.6: the connectorId; 0 is the charge point as a whole")
    connectors: list[ConnectorOut]


class StationSummary(BaseModel):
    id: str
    connected: bool
    ocpp_version: str | None = Field(description="Negotiated on the live connection, else the last")
    last_seen: datetime | None
    registration: Registration
    strictness: StrictnessName
    heartbeat_interval: int
    has_password: bool
    boot: BootOut | None
    booted_at: datetime | None


class StationOut(StationSummary):
    connected_since: datetime | None
    remote_address: str | None
    last_connected_at: datetime | None
    last_disconnected_at: datetime | None
    created_at: datetime
    updated_at: datetime
    evses: list[EvseOut]


class StationPage(BaseModel):
    items: list[StationSummary]
    total: int
    offset: int
    limit: int


class MessageOut(BaseModel):
    id: int
    at: datetime
    direction: Literal["in", "out"]
    message_type: int = Field(
        description="2 CALL, 3 CALLRESULT, 4 CALLERROR, 5 CALLRESULTERROR, 6 SEND"
    )
    action: str | None
    message_id: str
    frame: str = Field(description="The frame exactly as it crossed the wire")


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_before: int | None = Field(description="Pass as ?before= to get the next (older) page")


class DeviationOut(BaseModel):
    action: str
    kind: str
    path: str
    detail: str
    first_seen: datetime
    last_seen: datetime
    count: int
