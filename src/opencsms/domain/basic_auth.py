"""Basic-auth password rotation (1.6 security whitepaper A01, 2.0.1 A01; docs/security.md).

The flow, for a station on security profile 1 or 2 that is connected:

1. The new password (given by the operator, or generated: A01.FR.07 random) is hashed and stored
   as pending; from now on both the current and the new password are accepted, so that a station
   which applies the new one and reconnects at once is let in whatever the order of events.
2. It is sent through the station's version port: 1.6 ``ChangeConfiguration`` of
   ``AuthorizationKey`` (A01.FR.02), 2.0.1/2.1 ``SetVariables`` of
   ``SecurityCtrlr.BasicAuthPassword``.
3. The answer settles it:

   * ``Accepted``: the new password becomes the current one and the old one is refused from
     now on (A01.FR.03: "no longer accept the credentials previously used");
   * ``Rejected`` / ``NotSupported`` / unknown variable: the new one is dropped and the old one
     stays (A01.FR.04);
   * ``RebootRequired``: the station takes it after a reboot; both stay valid until it first
     connects with the new one;
   * no answer (timeout, CALLERROR, connection lost): unknown whether the station took it; both
     stay valid until it connects with one of them, which settles it.

Passwords are never logged, and frames and command records that carry one are redacted
(A01.FR.09: :func:`redact_frame`, :func:`redact_payload`); only salted hashes are stored
(A01.FR.08).
"""

from __future__ import annotations

import logging
import re
import secrets
import string
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from opencsms.clock import Clock
from opencsms.domain.security_profiles import RotationStatus, SecurityProfiles, StationSecurity
from opencsms.domain.stations import StationAdmin
from opencsms.errors import OpenCsmsError
from opencsms.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password

__all__ = [
    "InvalidNewPassword",
    "PasswordPort",
    "PasswordRotation",
    "RotationRefused",
    "generate_password",
    "redact_frame",
    "redact_payload",
    "validate_new_password",
]

log = logging.getLogger(__name__)

REDACTED = "********"

_PASSWORD_CHARS = re.compile(r"[A-Za-z0-9*\-_=:+|@.]+")
"""passwordString: alphanumerics and the special characters of identifierString (2.0.1 part 2
§2.1.x; part 6 TC_A_xx: "BasicAuthPassword may only contain alpha-numeric characters and the
special characters allowed by identifierString")."""


class RotationRefused(OpenCsmsError):
    """The rotation cannot start; the message says why (the API answers 409 or 400)."""


class InvalidNewPassword(RotationRefused):
    """The operator's password breaks the passwordString rules (the API answers 400)."""


class PasswordPort(Protocol):
    """Sets the Basic-auth password of one connected station, in its OCPP version."""

    @property
    def ocpp_version(self) -> str: ...

    async def send_password(self, password: str) -> str:
        """Send it; return the station's status (Accepted, Rejected, RebootRequired, ...)."""
        ...


def generate_password(ocpp_version: str) -> str:
    """A random password the station's version accepts (A01.FR.07).

    1.6: ``AuthorizationKey`` is "hexadecimal represented, 20 bytes maximum, a string of up to 40
    hexadecimal digits", at least 16 bytes (whitepaper §7.2): 20 random bytes as 40 hex digits.
    2.0.1/2.1: a 16-40 character passwordString: 40 alphanumerics (~238 bits). The special
    characters are allowed too but are left out: some firmwares mishandle them in Basic auth.
    """
    if ocpp_version == "1.6":
        return secrets.token_bytes(20).hex()
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(MAX_PASSWORD_LENGTH))


def validate_new_password(password: str, ocpp_version: str) -> None:
    """An operator's password: 16-40 characters of passwordString (2.0.1 BasicAuthPassword; the
    1.6 AuthorizationKey has the same length rule); raises :class:`ValueError`."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters")
    if _PASSWORD_CHARS.fullmatch(password) is None:
        raise ValueError("password may only contain letters, digits and * - _ = : + | @ .")


def redact_payload(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with any Basic-auth password replaced by ``********`` (for the command log)."""
    if action == "ChangeConfiguration" and payload.get("key") == "AuthorizationKey":
        return {**payload, "value": REDACTED}
    if action == "SetVariables" and isinstance(payload.get("setVariableData"), list):
        items = []
        for item in payload["setVariableData"]:
            if _is_password_variable(item):
                item = {**item, "attributeValue": REDACTED}
            items.append(item)
        return {**payload, "setVariableData": items}
    return payload


def redact_frame(action: str | None, text: str) -> str:
    """An OCPP-J frame with any Basic-auth password in a CALL replaced (for the audit log).

    Costs one substring test for the frames that could carry one and nothing for the others.
    """
    if action == "ChangeConfiguration":
        if "AuthorizationKey" not in text:
            return text
    elif action == "SetVariables":
        if "BasicAuthPassword" not in text:
            return text
    else:
        return text
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if not (isinstance(frame, list) and len(frame) == 4 and isinstance(frame[3], dict)):
        return text
    redacted = redact_payload(action, frame[3])
    if redacted is frame[3]:
        return text
    return orjson.dumps([*frame[:3], redacted]).decode()


def _is_password_variable(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    component = item.get("component")
    variable = item.get("variable")
    return (
        isinstance(component, dict)
        and isinstance(variable, dict)
        and component.get("name") == "SecurityCtrlr"
        and variable.get("name") == "BasicAuthPassword"
    )


@dataclass(frozen=True, slots=True)
class RotationOutcome:
    """How a rotation ended: the state now, and the station's answer (None: no answer)."""

    state: StationSecurity
    station_status: str | None
    error: str | None = None


class PasswordRotation:
    """Runs A01 for one station at a time and settles it when the station connects."""

    def __init__(self, profiles: SecurityProfiles, stations: StationAdmin, clock: Clock) -> None:
        self._profiles = profiles
        self._stations = stations
        self._clock = clock

    async def rotate(
        self, station_id: str, port: PasswordPort, password: str | None = None
    ) -> RotationOutcome:
        """Rotate the station's password (see the module docstring)."""
        if self._profiles.profile_of(station_id) == 3:
            raise RotationRefused(
                f"station {station_id!r} uses security profile 3 (client certificates), "
                "not a Basic-auth password (A01 prerequisite: profile 1 or 2)"
            )
        if password is None:
            password = generate_password(port.ocpp_version)
        else:
            try:
                validate_new_password(password, port.ocpp_version)
            except ValueError as exc:
                raise InvalidNewPassword(str(exc)) from None
        async with self._profiles.lock(station_id):
            state = self._profiles.get(station_id)
            if state.rotation_status is RotationStatus.PENDING:
                raise RotationRefused(
                    f"a password rotation of station {station_id!r} is already waiting for "
                    "the station's answer"
                )
            state = await self._profiles.save(
                replace(
                    state,
                    pending_password_hash=hash_password(password),
                    rotation_status=RotationStatus.PENDING,
                    rotation_requested_at=self._clock.now(),
                    rotation_finished_at=None,
                )
            )
        log.info("rotating the Basic-auth password of station %s", station_id)
        try:
            status: str | None = await port.send_password(password)
            error = None
        except OpenCsmsError as exc:
            status, error = None, str(exc)
        async with self._profiles.lock(station_id):
            state = await self._settle(station_id, status)
        log.info(
            "password rotation of station %s: %s (station answered %s)",
            station_id,
            state.rotation_status,
            status or error,
        )
        return RotationOutcome(state, status, error)

    async def _settle(self, station_id: str, status: str | None) -> StationSecurity:
        state = self._profiles.get(station_id)
        now = self._clock.now()
        if state.pending_password_hash is None:
            # The station already connected with the new password (it applied it and
            # reconnected before its answer was handled): nothing left to settle.
            return state
        if status == "Accepted":
            return await self._promote(state)
        if status == "RebootRequired":
            next_status = RotationStatus.REBOOT_REQUIRED
        elif status is None:
            next_status = RotationStatus.UNCONFIRMED
        else:  # Rejected, NotSupported, UnknownComponent, UnknownVariable (A01.FR.04)
            return await self._profiles.save(
                replace(
                    state,
                    pending_password_hash=None,
                    rotation_status=RotationStatus.REJECTED,
                    rotation_finished_at=now,
                )
            )
        return await self._profiles.save(replace(state, rotation_status=next_status))

    async def _promote(self, state: StationSecurity) -> StationSecurity:
        assert state.pending_password_hash is not None
        now = self._clock.now()
        await self._stations.replace_password_hash(state.station_id, state.pending_password_hash)
        return await self._profiles.save(
            replace(
                state,
                pending_password_hash=None,
                rotation_status=RotationStatus.ACCEPTED,
                rotation_finished_at=now,
                password_rotated_at=now,
            )
        )

    async def connected(self, station_id: str, *, used_pending_password: bool) -> None:
        """A station authenticated with its current password or the pending one: connecting with
        the new one proves it took it; connecting with the old one after an unconfirmed rotation
        proves it did not."""
        state = self._profiles.get(station_id)
        if state.pending_password_hash is None:
            return
        async with self._profiles.lock(station_id):
            state = self._profiles.get(station_id)
            if state.pending_password_hash is None:
                return
            if used_pending_password:
                log.info("station %s connected with its new password", station_id)
                await self._promote(state)
            elif state.rotation_status is RotationStatus.UNCONFIRMED:
                log.info("station %s still uses its old password: rotation dropped", station_id)
                await self._profiles.save(
                    replace(
                        state,
                        pending_password_hash=None,
                        rotation_status=RotationStatus.ABANDONED,
                        rotation_finished_at=self._clock.now(),
                    )
                )
