"""The pure rules of desired configuration and the device model: variable paths, message
limits and batching, value comparison, which profile and entry wins, drift reasons, and the
provisioning file's ``configuration`` / ``variables`` / ``[[configuration_profiles]]``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opencsms.config import ConfigError, load_settings_file
from opencsms.domain.desired_config import (
    ApplyResult,
    ConfigProfile,
    DesiredKind,
    DesiredSet,
    EffectiveEntry,
    InvalidDesiredConfig,
    drift,
    effective,
    normalize,
    settled_failure,
)
from opencsms.domain.device_model import (
    DEFAULT_ITEMS_PER_MESSAGE,
    MESSAGE_OVERHEAD_BYTES,
    InvalidPath,
    MessageLimits,
    VariableRef,
    VariableRow,
    chunk,
    limits_of,
    report_complete,
    same_value,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY, VARIABLE = DesiredKind.KEY, DesiredKind.VARIABLE


@pytest.mark.parametrize(
    ("path", "ref"),
    [
        ("OCPPCommCtrlr.HeartbeatInterval", VariableRef("OCPPCommCtrlr", "HeartbeatInterval")),
        (
            "DeviceDataCtrlr.ItemsPerMessage[SetVariables]",
            VariableRef("DeviceDataCtrlr", "ItemsPerMessage", variable_instance="SetVariables"),
        ),
        ("EVSE@1.AvailabilityState", VariableRef("EVSE", "AvailabilityState", evse_id=1)),
        (
            "Connector[main]@1/2.Available#Target",
            VariableRef(
                "Connector",
                "Available",
                component_instance="main",
                evse_id=1,
                connector_id=2,
                attribute="Target",
            ),
        ),
    ],
)
def test_paths_parse_and_print_back(path: str, ref: VariableRef) -> None:
    assert VariableRef.parse(path) == ref
    assert ref.path == path


def test_actual_is_the_default_attribute() -> None:
    assert VariableRef.parse("A.B#Actual").path == "A.B"


@pytest.mark.parametrize(
    "bad", ["NoDot", ".Variable", "Component.", "A.B#Sideways", "A/1.B", "A[x.B", "A@x.B"]
)
def test_bad_paths_are_refused(bad: str) -> None:
    with pytest.raises(InvalidPath):
        VariableRef.parse(bad)


def ctrl(variable: str, value: str, instance: str | None = None) -> VariableRow:
    ref = VariableRef("DeviceDataCtrlr", variable, variable_instance=instance)
    return VariableRow("CP-1", ref, value, T0)


def test_limits_per_message_instance_then_the_bare_quirk_then_defaults() -> None:
    rows = [
        ctrl("ItemsPerMessage", "7", "SetVariables"),
        ctrl("ItemsPerMessage", "3"),
        ctrl("BytesPerMessage", "900", "GetVariables"),
        ctrl("ItemsPerMessage", "junk", "GetReport"),
    ]
    assert limits_of(rows, "SetVariables") == MessageLimits(7, None)
    assert limits_of(rows, "GetVariables") == MessageLimits(3, 900)
    assert limits_of([], "SetVariables") == MessageLimits(
        DEFAULT_ITEMS_PER_MESSAGE, None, known=False
    )


def test_chunk_by_items_and_by_bytes() -> None:
    assert chunk([1, 2, 3, 4, 5], MessageLimits(2), len_of) == [[1, 2], [3, 4], [5]]
    # each item costs 10 bytes + a comma: two fit under 120 + 25, a third does not
    sized = MessageLimits(100, MESSAGE_OVERHEAD_BYTES + 25)
    assert chunk([1, 2, 3], sized, lambda _: 10) == [[1, 2], [3]]
    too_big = MessageLimits(100, MESSAGE_OVERHEAD_BYTES + 5)
    assert chunk([1, 2], too_big, lambda _: 50) == [[1], [2]]  # alone, whatever its size
    assert chunk([], MessageLimits(2), len_of) == []


def len_of(item: int) -> int:
    return len(str(item))


def test_report_complete_needs_every_part_up_to_the_last() -> None:
    assert report_complete({0, 1, 2}, 2)
    assert not report_complete({0, 2}, 2)
    assert not report_complete({0, 1}, None)


@pytest.mark.parametrize(
    ("desired", "actual", "same"),
    [
        ("true", "True", True),
        ("60", "60.0", True),
        ("60", "61", False),
        ("abc", "ABC", False),
        ("1", None, False),
        ("nan", "nan", True),  # same text
        ("inf", "INF", False),
    ],
)
def test_same_value(desired: str, actual: str | None, same: bool) -> None:
    assert same_value(desired, actual) is same


def profile(name: str, vendor: str, model: str | None, **values: str) -> ConfigProfile:
    return ConfigProfile(name, vendor, model, DesiredSet(dict(values), {}), T0, T0)


def test_effective_order_vendor_then_model_then_station() -> None:
    profiles = [
        profile("z-model", "ACME", "Wallbox 1", A="model", B="model"),
        profile("a-vendor", "acme", None, A="vendor", B="vendor", C="vendor"),
        profile("other", "Other", None, A="other"),
        profile("wrong-model", "ACME", "Wallbox 2", D="x"),
    ]
    own = DesiredSet({"b": "station"}, {"X.Y": "1"})
    entries, matched = effective(own, profiles, "Acme", "WALLBOX 1")
    assert matched == ["a-vendor", "z-model"]
    assert [(e.kind, e.key, e.value, e.source) for e in entries] == [
        (KEY, "A", "model", "profile:z-model"),
        (KEY, "b", "station", "station"),
        (KEY, "C", "vendor", "profile:a-vendor"),
        (VARIABLE, "X.Y", "1", "station"),
    ]
    assert effective(DesiredSet(), profiles, None, None) == ([], [])


def attempt(key: str, value: str, status: str) -> ApplyResult:
    return ApplyResult("CP-1", KEY, key, value, status, "why", T0)


def test_drift_reasons() -> None:
    entries = [EffectiveEntry(KEY, k, "1", "station") for k in "ABCDEF"]
    actual = {"a": "1", "b": "0", "c": "0", "d": "0", "f": None}
    results = {
        "b": attempt("B", "1", "Rejected"),
        "c": attempt("C", "2", "Rejected"),  # refused another value: not this one's reason
        "d": attempt("D", "1", "RebootRequired"),
        "f": attempt("F", "1", "Accepted"),  # hidden value, accepted before: in sync
    }
    out = {e.key: (e.in_sync, e.reason, e.detail) for e in drift(entries, actual, results)}
    assert out == {
        "A": (True, None, None),
        "B": (False, "Rejected", "why"),
        "C": (False, "NotApplied", None),
        "D": (False, "RebootRequired", "why"),
        "E": (False, "Unknown", None),
        "F": (True, None, None),
    }


def test_settled_failures_are_not_resent() -> None:
    assert settled_failure(attempt("A", "1", "Rejected"), "1")
    assert settled_failure(attempt("A", "1", "UnknownVariable"), "1")
    assert not settled_failure(attempt("A", "1", "Rejected"), "2")  # a new value is tried
    assert not settled_failure(attempt("A", "1", "Timeout"), "1")
    assert not settled_failure(None, "1")


def test_normalize_values_and_keys() -> None:
    assert normalize(KEY, {"A": 5, "B": True, "C": 1.5}, "x") == {"A": "5", "B": "true", "C": "1.5"}
    assert normalize(VARIABLE, {" A.B#Actual ": "1"}, "x") == {"A.B": "1"}
    with pytest.raises(InvalidDesiredConfig, match="named twice"):
        normalize(KEY, {"A": "1", "a": "2"}, "x")
    with pytest.raises(InvalidDesiredConfig, match="string, number or boolean"):
        normalize(KEY, {"A": [1]}, "x")
    with pytest.raises(InvalidDesiredConfig, match="1-50 characters"):
        normalize(KEY, {"K" * 51: "1"}, "x")
    with pytest.raises(InvalidDesiredConfig, match="at most 1000"):
        normalize(VARIABLE, {"A.B": "v" * 1001}, "x")


def test_provisioning_file_carries_desired_configuration(tmp_path: Path) -> None:
    path = tmp_path / "csms.toml"
    path.write_text(
        """
[[stations]]
id = "CP-1"
configuration = { HeartbeatInterval = 300, LocalPreAuthorize = true }

[[stations]]
id = "CP-2"

[[configuration_profiles]]
name = "acme-ac"
vendor = "ACME"
model = "Wallbox 1"
variables = { "OCPPCommCtrlr.HeartbeatInterval" = "600" }
""",
        encoding="utf-8",
    )
    settings = load_settings_file(path)
    one, two = settings.stations
    assert one.configuration == {"HeartbeatInterval": "300", "LocalPreAuthorize": "true"}
    assert one.variables is None
    assert two.configuration is None
    (acme,) = settings.configuration_profiles
    assert (acme.name, acme.vendor, acme.model) == ("acme-ac", "ACME", "Wallbox 1")
    assert acme.variables == {"OCPPCommCtrlr.HeartbeatInterval": "600"}
    assert acme.configuration == {}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[configuration_profiles]]\nname = "x"\n', "needs the 'vendor'"),
        ('[[configuration_profiles]]\nvendor = "V"\n', "needs a 'name'"),
        ('[[configuration_profiles]]\nname = "x"\nvendor = "V"\ncolour = 1\n', "unknown keys"),
        ('[[stations]]\nid = "CP-1"\nvariables = { "nodot" = 1 }\n', "not a variable path"),
        ('[[stations]]\nid = "CP-1"\nconfiguration = 5\n', "must be a table"),
        ("[server]\ndesired_config_concurrency = 0\n", "at least 1"),
    ],
)
def test_provisioning_file_mistakes_stop_the_start(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings_file(path)
