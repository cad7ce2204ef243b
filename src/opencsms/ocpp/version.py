"""OCPP versions and their WebSocket subprotocol names.

OCPP-J 1.6 §3.1.2 ("ocpp1.6"), OCPP-J 2.0.1 part 4 §3.1.2 ("ocpp2.0.1") and OCPP 2.1 part 4
§3.1.2 ("ocpp2.1") name the subprotocol a station offers in ``Sec-WebSocket-Protocol``.
"""

from __future__ import annotations

import enum

__all__ = ["OcppVersion"]


class OcppVersion(enum.Enum):
    """An OCPP-J protocol version; the value is the version number as written in the specs."""

    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"

    @property
    def subprotocol(self) -> str:
        """The WebSocket subprotocol name, e.g. ``"ocpp2.0.1"``."""
        return "ocpp" + self.value

    @classmethod
    def from_subprotocol(cls, name: str) -> OcppVersion | None:
        """The version for a subprotocol name, or ``None`` when it is not one we speak.

        Matching is exact: RFC 6455 §4.1 subprotocol tokens are case-sensitive.
        """
        return _BY_SUBPROTOCOL.get(name)


_BY_SUBPROTOCOL: dict[str, OcppVersion] = {v.subprotocol: v for v in OcppVersion}
