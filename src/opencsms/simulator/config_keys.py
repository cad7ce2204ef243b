"""A station's configuration: 1.6 configuration keys and the 2.0.1/2.1 device model.

Both are small but real stores: values read back are the values the station runs with (the
heartbeat loop, the meter sampling and the reconnect back-off read them), read-only entries
refuse changes and unknown names are reported as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from opencsms.simulator.config import DEFAULT_MEASURANDS, StationConfig

__all__ = [
    "KNOWN_MEASURANDS",
    "ConfigKey",
    "DeviceModel",
    "KeyStore",
    "Variable",
    "is_boolean",
    "is_non_negative_int",
    "validator_like",
]

#: Measurands the simulated meter can produce (see :mod:`opencsms.simulator.messages`).
KNOWN_MEASURANDS = frozenset(DEFAULT_MEASURANDS)

Validator = Callable[[str], bool]


def is_non_negative_int(value: str) -> bool:
    """A non-negative integer setting (at most 9 digits)."""
    return value.isdigit() and len(value) <= 9


def _measurand_list(value: str) -> bool:
    items = [item.strip() for item in value.split(",")]
    return all(item in KNOWN_MEASURANDS for item in items)


def is_boolean(value: str) -> bool:
    """A boolean setting: true or false, any case."""
    return value.lower() in ("true", "false")


def validator_like(default: str) -> Validator | None:
    """The check for a setting of the default's kind: boolean, non-negative integer, or any text."""
    if default in ("true", "false"):
        return is_boolean
    if default.isdigit():
        return is_non_negative_int
    return None


@dataclass(slots=True)
class ConfigKey:
    """One 1.6 configuration key (1.6 §7.16 KeyValue)."""

    value: str
    readonly: bool = False
    validate: Validator | None = None


class KeyStore:
    """1.6 configuration keys (1.6 §9 Standard Configuration Key Names & Values).

    Answers GetConfiguration (§5.8) and ChangeConfiguration (§5.3).
    """

    def __init__(self, config: StationConfig) -> None:
        self._keys: dict[str, ConfigKey] = {
            "HeartbeatInterval": ConfigKey(
                str(config.heartbeat_interval), False, is_non_negative_int
            ),
            "MeterValueSampleInterval": ConfigKey(
                str(config.meter_sample_interval), False, is_non_negative_int
            ),
            "MeterValuesSampledData": ConfigKey(
                ",".join(config.measurands), False, _measurand_list
            ),
            "ConnectionTimeOut": ConfigKey("60", False, is_non_negative_int),
            "AuthorizationCacheEnabled": ConfigKey("true", False, is_boolean),
            "NumberOfConnectors": ConfigKey(str(len(config.evses)), readonly=True),
            "SupportedFeatureProfiles": ConfigKey("Core,RemoteTrigger", readonly=True),
            "GetConfigurationMaxKeys": ConfigKey("50", readonly=True),
        }

    def add(self, name: str, key: ConfigKey) -> None:
        """Register a key a feature module runs on (e.g. ChargeProfileMaxStackLevel).

        A feature adds its name to SupportedFeatureProfiles separately, with :meth:`add_profile`.
        """
        self._keys[name] = key

    def add_profile(self, profile: str) -> None:
        """Announce a 1.6 feature profile (§9.1.28 SupportedFeatureProfiles) this station runs."""
        profiles = self._keys["SupportedFeatureProfiles"].value.split(",")
        if profile not in profiles:
            self._keys["SupportedFeatureProfiles"].value = ",".join([*profiles, profile])

    def get(self, name: str) -> str:
        """The value of a known key (KeyError otherwise)."""
        return self._keys[name].value

    def set(self, name: str, value: str) -> None:
        """Set a key from the station's own behaviour (e.g. the boot interval), even read-only."""
        self._keys[name].value = value

    def get_configuration(
        self, names: list[str] | None
    ) -> tuple[list[dict[str, object]], list[str]]:
        """1.6 §5.8: the requested keys (all when ``names`` is empty) and the unknown names."""
        wanted = names or list(self._keys)
        known = [
            {"key": name, "readonly": self._keys[name].readonly, "value": self._keys[name].value}
            for name in wanted
            if name in self._keys
        ]
        unknown = [name for name in wanted if name not in self._keys]
        return known, unknown

    def change_configuration(self, name: str, value: str) -> str:
        """1.6 §5.3: ``Accepted``, ``Rejected`` (read-only or invalid value) or ``NotSupported``."""
        key = self._keys.get(name)
        if key is None:
            return "NotSupported"
        if key.readonly or (key.validate is not None and not key.validate(value)):
            return "Rejected"
        key.value = value
        return "Accepted"


@dataclass(slots=True)
class Variable:
    """One variable's Actual attribute (2.0.1 part 2 §2.53 VariableAttributeType)."""

    value: str
    mutability: str = "ReadWrite"
    validate: Validator | None = None


class DeviceModel:
    """A minimal 2.0.1 device model (part 1 §4; part 2 appendix 3 standardized variables).

    Only top-level components (no ``evse``, no ``instance``) and the ``Actual`` attribute are
    modelled. Answers GetVariables (B06) and SetVariables (B05).
    """

    def __init__(self, config: StationConfig) -> None:
        backoff = config.backoff
        self._components: dict[str, dict[str, Variable]] = {
            "OCPPCommCtrlr": {
                "HeartbeatInterval": Variable(
                    str(config.heartbeat_interval), "ReadWrite", is_non_negative_int
                ),
                "RetryBackOffWaitMinimum": Variable(
                    str(_ceil(backoff.wait_minimum)), "ReadWrite", is_non_negative_int
                ),
                "RetryBackOffRandomRange": Variable(
                    str(_ceil(backoff.random_range)), "ReadWrite", is_non_negative_int
                ),
                "RetryBackOffRepeatTimes": Variable(
                    str(backoff.repeat_times), "ReadWrite", is_non_negative_int
                ),
                "NetworkConfigurationPriority": Variable("0", "ReadOnly"),
            },
            "SampledDataCtrlr": {
                "Enabled": Variable("true", "ReadWrite", is_boolean),
                "TxUpdatedInterval": Variable(
                    str(config.meter_sample_interval), "ReadWrite", is_non_negative_int
                ),
                "TxUpdatedMeasurands": Variable(
                    ",".join(config.measurands), "ReadWrite", _measurand_list
                ),
            },
            "AuthCacheCtrlr": {"Enabled": Variable("true", "ReadWrite", is_boolean)},
            "SecurityCtrlr": {
                "SecurityProfile": Variable("1" if config.password else "0", "ReadOnly"),
                "Identity": Variable(config.id, "ReadOnly"),
            },
            "DeviceDataCtrlr": {"ItemsPerMessage": Variable("50", "ReadOnly")},
            "ChargingStation": {"Model": Variable(config.model, "ReadOnly")},
        }

    def add(self, component: str, variable: str, value: Variable) -> None:
        """Register a variable a feature module runs on (e.g. SmartChargingCtrlr.Enabled)."""
        self._components.setdefault(component, {})[variable] = value

    def items(self) -> list[tuple[str, str, Variable]]:
        """Every (component, variable, value) in a stable order, for GetBaseReport (B07)."""
        return [
            (component, name, variable)
            for component, variables in sorted(self._components.items())
            for name, variable in sorted(variables.items())
        ]

    def get(self, component: str, variable: str) -> str:
        """A known variable's Actual value (KeyError otherwise)."""
        return self._components[component][variable].value

    def set(self, component: str, variable: str, value: str) -> None:
        """Set a variable from the station's own behaviour, bypassing mutability."""
        self._components[component][variable].value = value

    def _lookup(
        self, component: Mapping[str, object], variable: Mapping[str, object]
    ) -> Variable | str:
        """The variable, or the attributeStatus explaining why there is none."""
        if "evse" in component or "instance" in component:
            return "UnknownComponent"
        variables = self._components.get(str(component.get("name")))
        if variables is None:
            return "UnknownComponent"
        if "instance" in variable:
            return "UnknownVariable"
        found = variables.get(str(variable.get("name")))
        return found if found is not None else "UnknownVariable"

    def get_variable(
        self, component: Mapping[str, object], variable: Mapping[str, object], attribute: str
    ) -> tuple[str, str | None]:
        """B06: (attributeStatus, attributeValue or None)."""
        found = self._lookup(component, variable)
        if isinstance(found, str):
            return found, None
        if attribute != "Actual":
            return "NotSupportedAttributeType", None
        if found.mutability == "WriteOnly":  # B06: a write-only value is never revealed
            return "Rejected", None
        return "Accepted", found.value

    def set_variable(
        self,
        component: Mapping[str, object],
        variable: Mapping[str, object],
        attribute: str,
        value: str,
    ) -> str:
        """B05: the attributeStatus of setting ``value``."""
        found = self._lookup(component, variable)
        if isinstance(found, str):
            return found
        if attribute != "Actual":
            return "NotSupportedAttributeType"
        if found.mutability == "ReadOnly":  # B05: read-only → Rejected
            return "Rejected"
        if found.validate is not None and not found.validate(value):
            return "Rejected"
        found.value = value
        return "Accepted"


def _ceil(seconds: float) -> int:
    whole = int(seconds)
    return whole if whole == seconds else whole + 1
