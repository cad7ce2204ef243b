"""The 2.0.1 device model in domain terms (2.0.1 part 1 §4, part 2 appendix 3): components,
variables, their attributes and characteristics; report parts; message limits.

Pure: no storage, no OCPP payloads. The handlers translate ``ComponentType`` / ``VariableType`` /
``ReportDataType`` into these records (handlers/v201/device_model.py); the service that stores
them is :mod:`opencsms.domain.device_model_service`.

**Addressing.** One stored row is one *attribute* of one variable of one component:
:class:`VariableRef`. Its compact text form, the *path*, is what the provisioning file and the
desired-configuration API use::

    Component[componentInstance]@evseId/connectorId.Variable[variableInstance]#AttributeType

Every part but ``Component.Variable`` is optional; ``#Actual`` is the default and is left out of
the canonical form. Examples: ``OCPPCommCtrlr.HeartbeatInterval``,
``DeviceDataCtrlr.ItemsPerMessage[SetVariables]``, ``EVSE@1.AvailabilityState``,
``Connector@1/2.Available``, ``SampledDataCtrlr.TxUpdatedInterval#Target``. A component name may
not contain ``.``, ``/``, ``[``, ``]``, ``@`` or ``#`` in a path (no standardized name does); the
variables API takes the structured form for such names.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

__all__ = [
    "ATTRIBUTE_TYPES",
    "DEFAULT_ITEMS_PER_MESSAGE",
    "ComponentSelector",
    "InvalidPath",
    "MessageLimits",
    "ReportKind",
    "ReportPart",
    "ReportRequest",
    "VariableCharacteristics",
    "VariableRef",
    "VariableResult",
    "VariableRow",
    "chunk",
    "limits_of",
    "report_complete",
    "same_value",
]

ATTRIBUTE_TYPES = ("Actual", "Target", "MinSet", "MaxSet")
"""2.0.1 AttributeEnumType."""

DEFAULT_ITEMS_PER_MESSAGE = 4
"""Items per GetVariables / SetVariables when the stored device model does not say
(DeviceDataCtrlr.ItemsPerMessage): small, because a station answers a request over its limit
with a CALLERROR (OccurrenceConstraintViolation) and the whole request is lost."""

MESSAGE_OVERHEAD_BYTES = 120
"""What an OCPP-J CALL frame adds around its list of items (``[2,"<message id>","Action",{...}]``),
rounded up: counted against BytesPerMessage."""


class InvalidPath(ValueError):
    """A variable path that does not follow the path syntax (see the module docstring)."""


_PATH = re.compile(
    r"^(?P<component>[^./\[\]@#]+)"
    r"(?:\[(?P<component_instance>[^\[\]]*)\])?"
    r"(?:@(?P<evse>\d+)(?:/(?P<connector>\d+))?)?"
    r"\.(?P<variable>[^\[\]#]+)"
    r"(?:\[(?P<variable_instance>[^\[\]]*)\])?"
    r"(?:#(?P<attribute>[A-Za-z]+))?$"
)


@dataclass(frozen=True, slots=True, order=True)
class VariableRef:
    """One attribute of one variable of one component (2.0.1 ComponentType, VariableType,
    AttributeEnumType). ``connector_id`` needs ``evse_id``."""

    component: str
    variable: str
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable_instance: str | None = None
    attribute: str = "Actual"

    def __post_init__(self) -> None:
        if not self.component or not self.variable:
            raise InvalidPath("a component and a variable name are required")
        if self.attribute not in ATTRIBUTE_TYPES:
            raise InvalidPath(f"attribute type must be one of {', '.join(ATTRIBUTE_TYPES)}")
        if self.connector_id is not None and self.evse_id is None:
            raise InvalidPath("a connector needs its EVSE")

    @property
    def path(self) -> str:
        """The canonical text form (module docstring)."""
        text = self.component
        if self.component_instance is not None:
            text += f"[{self.component_instance}]"
        if self.evse_id is not None:
            text += f"@{self.evse_id}"
            if self.connector_id is not None:
                text += f"/{self.connector_id}"
        text += f".{self.variable}"
        if self.variable_instance is not None:
            text += f"[{self.variable_instance}]"
        if self.attribute != "Actual":
            text += f"#{self.attribute}"
        return text

    @classmethod
    def parse(cls, path: str) -> VariableRef:
        """The reference a path names (raises :class:`InvalidPath`)."""
        match = _PATH.match(path.strip())
        if match is None:
            raise InvalidPath(
                f"{path!r} is not a variable path "
                "(Component[instance]@evse/connector.Variable[instance]#Attribute)"
            )
        parts = match.groupdict()
        return cls(
            component=parts["component"],
            variable=parts["variable"],
            component_instance=parts["component_instance"],
            evse_id=int(parts["evse"]) if parts["evse"] is not None else None,
            connector_id=int(parts["connector"]) if parts["connector"] is not None else None,
            variable_instance=parts["variable_instance"],
            attribute=parts["attribute"] or "Actual",
        )

    def with_attribute(self, attribute: str) -> VariableRef:
        return VariableRef(
            self.component,
            self.variable,
            self.component_instance,
            self.evse_id,
            self.connector_id,
            self.variable_instance,
            attribute,
        )


@dataclass(frozen=True, slots=True)
class ComponentSelector:
    """A component, or one variable of it, that a GetReport asks about (2.0.1
    ComponentVariableType, B08): ``variable`` ``None`` means every variable of the component."""

    component: str
    variable: str | None = None
    component_instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    variable_instance: str | None = None


@dataclass(frozen=True, slots=True)
class VariableCharacteristics:
    """2.0.1 VariableCharacteristicsType: what the variable is, whatever its attributes hold."""

    data_type: str
    supports_monitoring: bool
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None


@dataclass(frozen=True, slots=True)
class VariableRow:
    """One attribute as the CSMS knows it: from a NotifyReport (everything the station said) or
    from a GetVariables / SetVariables answer (the value only).

    ``report_id`` is the ``requestId`` of the last report that carried this attribute (``None``:
    learned outside a report); a FullInventory removes what it did not carry by it.
    """

    station_id: str
    ref: VariableRef
    value: str | None
    updated_at: datetime
    mutability: str | None = None
    persistent: bool | None = None
    constant: bool | None = None
    characteristics: VariableCharacteristics | None = None
    report_id: int | None = None


class ReportKind(enum.StrEnum):
    """What a report covers, which decides how it changes the stored model (B07, B08)."""

    FULL_INVENTORY = "FullInventory"
    """Every component and variable: the stored model is replaced by the report once complete."""
    CONFIGURATION_INVENTORY = "ConfigurationInventory"
    """The writable variables: what the report carries is updated, the rest kept."""
    SUMMARY_INVENTORY = "SummaryInventory"
    """A vendor's summary: updates what it carries."""
    CUSTOM = "GetReport"
    """GetReport by criteria and/or component variables (B08): updates what it carries."""
    UNSOLICITED = "Unsolicited"
    """Parts with a requestId the CSMS never asked for: updates what they carry."""

    @property
    def replaces(self) -> bool:
        """Whether a complete report of this kind replaces the station's stored model."""
        return self is ReportKind.FULL_INVENTORY


@dataclass(frozen=True, slots=True)
class ReportPart:
    """One NotifyReport (B07/B08): part ``seq_no`` of report ``request_id``; ``tbc`` is true on
    every part but the last."""

    station_id: str
    request_id: int
    seq_no: int
    tbc: bool
    generated_at: datetime
    rows: tuple[VariableRow, ...]
    received_at: datetime


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """A report the CSMS asked for (or a station sent unasked) and how far it arrived."""

    station_id: str
    request_id: int
    kind: ReportKind
    requested_at: datetime
    status: str | None = None
    """The station's answer to GetBaseReport / GetReport: Accepted, Rejected, NotSupported,
    EmptyResultSet; ``None`` before the answer (or for an unsolicited report)."""
    parts: int = 0
    """Distinct parts stored."""
    last_seq_no: int | None = None
    """The ``seqNo`` of the part with ``tbc`` false, once it arrived."""
    completed_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def complete(self) -> bool:
        return self.completed_at is not None


def report_complete(seq_nos: Iterable[int], last_seq_no: int | None) -> bool:
    """Whether every part ``0..last_seq_no`` arrived (the parts of one report may arrive out of
    order after a reconnect: a station resends from its queue)."""
    if last_seq_no is None:
        return False
    return set(range(last_seq_no + 1)) <= set(seq_nos)


@dataclass(frozen=True, slots=True)
class VariableResult:
    """The station's answer about one attribute in GetVariables / SetVariables (B05, B06):
    ``status`` is the GetVariableStatusEnumType / SetVariableStatusEnumType value."""

    ref: VariableRef
    status: str
    value: str | None = None
    """GetVariables: the value read (Accepted only); SetVariables: the value that was set."""
    reason: str | None = None
    """attributeStatusInfo.reasonCode (and additionalInfo), when the station gave one."""


@dataclass(frozen=True, slots=True)
class MessageLimits:
    """How much one GetVariables / SetVariables may carry (DeviceDataCtrlr)."""

    items: int
    bytes: int | None = None
    known: bool = True
    """False: the station's model did not say and the defaults apply."""


def limits_of(
    rows: Iterable[VariableRow], instance: str, component: str = "DeviceDataCtrlr"
) -> MessageLimits:
    """``component``'s ``ItemsPerMessage[instance]`` and ``BytesPerMessage[instance]`` from the
    stored model, e.g. DeviceDataCtrlr instance ``SetVariables`` (part 2 appendix 3.1.7; TC_B_*
    list the instances GetReport, GetVariables and SetVariables) or MonitoringCtrlr instance
    ``SetVariableMonitoring`` / ``ClearVariableMonitoring`` (appendix 3.1.11).

    Field quirk: some stations (this project's simulator among them) report one ItemsPerMessage
    without an instance; it is taken as the limit of every message when no instance-specific one
    is known.
    """
    items: dict[str | None, int] = {}
    sizes: dict[str | None, int] = {}
    for row in rows:
        ref = row.ref
        if ref.component != component or ref.attribute != "Actual":
            continue
        if ref.variable not in ("ItemsPerMessage", "BytesPerMessage") or row.value is None:
            continue
        text = row.value.strip()
        if not text.isdigit() or int(text) < 1:
            continue
        target = items if ref.variable == "ItemsPerMessage" else sizes
        target[ref.variable_instance] = int(text)
    count = items.get(instance, items.get(None))
    size = sizes.get(instance, sizes.get(None))
    if count is None:
        return MessageLimits(DEFAULT_ITEMS_PER_MESSAGE, size, known=False)
    return MessageLimits(count, size)


_T = TypeVar("_T")


def chunk(items: Sequence[_T], limits: MessageLimits, size: Callable[[_T], int]) -> list[list[_T]]:
    """Cut ``items`` into messages of at most ``limits.items`` items and, when the station set
    one, ``limits.bytes`` bytes (``size`` of each item as encoded, plus a comma, plus
    :data:`MESSAGE_OVERHEAD_BYTES` per message). An item too big on its own goes alone: the
    station decides about it."""
    out: list[list[_T]] = []
    current: list[_T] = []
    used = MESSAGE_OVERHEAD_BYTES
    for item in items:
        cost = size(item) + 1 if limits.bytes is not None else 0
        over_count = len(current) >= limits.items
        over_size = limits.bytes is not None and used + cost > limits.bytes
        if current and (over_count or over_size):
            out.append(current)
            current, used = [], MESSAGE_OVERHEAD_BYTES
        current.append(item)
        used += cost
    if current:
        out.append(current)
    return out


def same_value(desired: str, actual: str | None) -> bool:
    """Whether a station's value is the desired one.

    Exact text, except that booleans compare without case (stations answer ``True`` for
    ``true``) and numbers by value (``60`` is ``60.0``). A value the CSMS does not know is never
    the same."""
    if actual is None:
        return False
    if desired == actual:
        return True
    a, b = desired.strip().lower(), actual.strip().lower()
    if a in ("true", "false") and b in ("true", "false"):
        return a == b
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isfinite(x) and x == y
