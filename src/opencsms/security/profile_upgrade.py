"""Raising a connected station's security profile over OCPP (docs/security.md).

* 2.0.1 / 2.1, A05 (part 6 TC_A_19): ``SetNetworkProfile`` of a free ``configurationSlot`` with
  the new ``securityProfile`` and the CSMS's URL for it, then ``SetVariables``
  ``OCPPCommCtrlr.NetworkConfigurationPriority`` with that slot first, then ``Reset`` (OnIdle):
  the station reconnects with the new profile.
* 1.6, security whitepaper A05: the prerequisites (the CSMS root certificate, for profile 3 the
  station's own certificate; for profile 2 an AuthorizationKey) are in place first, then
  ``ChangeConfiguration`` of the ``SecurityProfile`` key; the station checks them again
  (A05.FR.02-04), answers, disconnects and reconnects with the new profile (A05.FR.05-07).

Before the first CALL the higher profile is recorded as pending in
:class:`~opencsms.domain.security_profiles.SecurityProfiles`, so that a station which switches
before its answer is handled is let in; it becomes final at the station's first connection at it
(A05.FR.09), and is dropped again when a step fails. A profile is never lowered this way
(A00.FR.005, A05.FR.01): :class:`UpgradeRefused`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

from opencsms.domain.security_profiles import PROFILES, SecurityProfiles
from opencsms.errors import OpenCsmsError

__all__ = [
    "NetworkProfile",
    "ProfileUpgrade",
    "UpgradeOutcome",
    "UpgradePort",
    "UpgradeRefused",
    "UpgradeStep",
    "next_slot",
    "prerequisite_warnings",
]

log = logging.getLogger(__name__)

OK_STATUSES = frozenset({"Accepted", "RebootRequired", "Scheduled"})
"""Answers that let the flow go on (RebootRequired: applied at the Reset that follows;
Scheduled: a Reset OnIdle that waits for running sessions to end)."""


class UpgradeRefused(OpenCsmsError):
    """The upgrade cannot start; ``status_code`` says how the API answers (400 or 409)."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class NetworkProfile:
    """The connectionData of a 2.0.1 SetNetworkProfile (B09, NetworkConnectionProfileType)."""

    csms_url: str
    """The CSMS's URL for the new profile, without the station id (wss:// for 2 and 3)."""
    security_profile: int
    message_timeout: int = 30
    ocpp_interface: str = "Wired0"


@dataclass(frozen=True, slots=True)
class UpgradeStep:
    """One CALL of the flow and what came of it."""

    action: str
    detail: str
    status: str | None
    """The station's answer (Accepted, Rejected...); None: no answer (``error`` says why)."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


@dataclass(slots=True)
class UpgradeOutcome:
    """The whole flow: every step in order, and whether the station should now reconnect."""

    station_id: str
    from_profile: int
    to_profile: int
    steps: list[UpgradeStep] = field(default_factory=list)
    sent: bool = False
    """True: every step was accepted; the upgrade stays pending until the station connects at
    the new profile (A05.FR.09)."""


class UpgradePort(Protocol):
    """The CALLs of the flow, in the connected station's OCPP version (handlers translate)."""

    @property
    def ocpp_version(self) -> str: ...

    async def set_security_profile_key(self, profile: int) -> str:
        """1.6: ChangeConfiguration SecurityProfile; the station's status."""
        ...

    async def network_priority(self) -> list[int] | None:
        """2.0.1: the slots of OCPPCommCtrlr.NetworkConfigurationPriority (None: unreadable)."""
        ...

    async def set_network_profile(self, slot: int, profile: NetworkProfile) -> str:
        """2.0.1: SetNetworkProfile; the station's status."""
        ...

    async def set_network_priority(self, slots: list[int]) -> str:
        """2.0.1: SetVariables OCPPCommCtrlr.NetworkConfigurationPriority; the status."""
        ...

    async def reset(self) -> str:
        """2.0.1: Reset OnIdle; the station's status."""
        ...


def next_slot(priority: list[int] | None) -> int:
    """A configuration slot not in use: one above the highest in the priority list (TC_A_19:
    "<Configured configurationSlot + 1>"), 1 when the list is unknown or empty."""
    return max(priority) + 1 if priority else 1


def prerequisite_warnings(profile: int, installed: set[str]) -> list[str]:
    """What the CSMS's certificate inventory (the 2.0.1 type names the station is known to
    hold) says is missing for ``profile``: the whitepaper's order is prerequisites first, then
    the switch. Warnings only: the inventory may be incomplete (certificates installed by other
    means), and the station checks for itself (A05.FR.03/04) and answers Rejected."""
    warnings = []
    if profile >= 2 and "CSMSRootCertificate" not in installed:
        warnings.append(
            "no CSMSRootCertificate is known to be installed on the station (A05.FR.03): "
            "install the CSMS's CA first (POST .../certificates/install)"
        )
    if profile == 3 and "ChargingStationCertificate" not in installed:
        warnings.append(
            "no station certificate signed by this CSMS is known (A05.FR.04): have the station "
            "send a CSR first (POST .../certificates/renew)"
        )
    return warnings


class ProfileUpgrade:
    """Runs the upgrade flow for one station at a time."""

    def __init__(self, profiles: SecurityProfiles) -> None:
        self._profiles = profiles

    def check(self, station_id: str, profile: int) -> int:
        """The station's current profile, when ``profile`` is a raise; else UpgradeRefused 400."""
        if profile not in PROFILES:
            raise UpgradeRefused("profile must be 1, 2 or 3", 400)
        current = self._profiles.profile_of(station_id)
        if profile < current:
            raise UpgradeRefused(
                f"station {station_id!r} uses security profile {current}: OCPP never lowers a "
                f"profile (A00.FR.005, A05.FR.01); lower it with PUT .../security-profile and "
                "allow_downgrade",
                400,
            )
        if profile == current:
            raise UpgradeRefused(f"station {station_id!r} already uses security profile {profile}")
        return current

    async def run(
        self,
        station_id: str,
        profile: int,
        port: UpgradePort,
        network: NetworkProfile | None = None,
        slot: int | None = None,
        *,
        known_priority: list[int] | None = None,
    ) -> UpgradeOutcome:
        """Send the flow of the station's version; ``network`` is required for 2.0.1 / 2.1.

        ``known_priority``: the station's NetworkConfigurationPriority as the operator knows it;
        given, it is not read from the station first (the flow is then exactly A05's three
        messages: SetNetworkProfile, SetVariables, Reset)."""
        current = self.check(station_id, profile)
        if port.ocpp_version != "1.6" and network is None:
            raise UpgradeRefused("ocpp_csms_url is required for OCPP 2.0.1 / 2.1 stations", 400)
        outcome = UpgradeOutcome(station_id, current, profile)
        # Pending first: a station may switch before its answer reaches us (A05.FR.08 keeps
        # the current profile admitted until it has connected at the new one).
        await self._profiles.set_profile(station_id, profile)
        log.info(
            "upgrading station %s from security profile %d to %d", station_id, current, profile
        )
        if port.ocpp_version == "1.6":
            ok = await self._step(
                outcome,
                "ChangeConfiguration",
                f"SecurityProfile = {profile}",
                port.set_security_profile_key(profile),
            )
        else:
            assert network is not None
            ok = await self._run_201(outcome, port, network, slot, known_priority)
        outcome.sent = ok
        last = outcome.steps[-1]
        if not ok and last.status is not None:
            # The station said no (A05.FR.01-04, B09.FR.02/04): it keeps its profile. Without
            # an answer (connection lost, timeout) it may have switched: the pending profile
            # stays admitted, like an unconfirmed password rotation.
            await self._profiles.cancel_pending(station_id, profile)
        log.info(
            "security profile upgrade of station %s: %s",
            station_id,
            "sent, waiting for the reconnect" if ok else f"{last.action} failed",
        )
        return outcome

    async def _run_201(
        self,
        outcome: UpgradeOutcome,
        port: UpgradePort,
        network: NetworkProfile,
        slot: int | None,
        known_priority: list[int] | None,
    ) -> bool:
        priority = known_priority
        if priority is None:
            priority = await self._read_priority(outcome, port)
        if slot is None:
            slot = next_slot(priority)
        if not await self._step(
            outcome,
            "SetNetworkProfile",
            f"configurationSlot {slot}, securityProfile {network.security_profile}, "
            f"{network.csms_url}",
            port.set_network_profile(slot, network),
        ):
            return False
        # The new slot first, the others after it as fallback (A05.FR.08, B10).
        order = [slot, *(s for s in (priority or []) if s != slot)]
        if not await self._step(
            outcome,
            "SetVariables",
            "NetworkConfigurationPriority = " + ",".join(map(str, order)),
            port.set_network_priority(order),
        ):
            return False
        return await self._step(outcome, "Reset", "OnIdle", port.reset())

    @staticmethod
    async def _read_priority(outcome: UpgradeOutcome, port: UpgradePort) -> list[int] | None:
        """The slots in use, read with GetVariables (None when the station cannot say)."""
        try:
            priority = await port.network_priority()
        except OpenCsmsError as exc:
            outcome.steps.append(
                UpgradeStep("GetVariables", "NetworkConfigurationPriority", None, str(exc))
            )
            return None
        read = ",".join(map(str, priority)) if priority is not None else "unreadable"
        outcome.steps.append(
            UpgradeStep("GetVariables", f"NetworkConfigurationPriority = {read}", "Accepted")
        )
        return priority

    @staticmethod
    async def _step(
        outcome: UpgradeOutcome, action: str, detail: str, call: Awaitable[str]
    ) -> bool:
        try:
            status: str | None = await call
            error = None
        except OpenCsmsError as exc:
            status, error = None, str(exc)
        step = UpgradeStep(action, detail, status, error)
        outcome.steps.append(step)
        return step.ok
