"""How the operator API answers when a command to a station cannot be carried out: one place that
maps the outcome of a CSMS → station CALL to an HTTP error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, status

from opencsms.errors import (
    CallErrorResponse,
    CallFailedError,
    CallTimeoutError,
    ConnectionClosedError,
    InvalidResponseError,
    PayloadValidationError,
)

__all__ = ["station_call_errors"]


@contextmanager
def station_call_errors(station_id: str) -> Iterator[None]:
    """409 when the station is not connected (or drops the connection meanwhile); 502 with the
    station's error when it answers a CALLERROR, an invalid CALLRESULT or nothing in time; 422
    when the operator's values make a payload the OCPP schema refuses."""
    try:
        yield
    except ConnectionClosedError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"station {station_id!r} is not connected"
        ) from None
    except CallErrorResponse as exc:
        described = f": {exc.description}" if exc.description else ""
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY,
            f"station {station_id!r} answered {exc.action} with CALLERROR "
            f"{exc.error_code}{described}",
        ) from None
    except CallTimeoutError as exc:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY,
            f"station {station_id!r} did not answer {exc.action} in time",
        ) from None
    except InvalidResponseError as exc:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY,
            f"station {station_id!r} answered {exc.action} with an invalid CALLRESULT: {exc}",
        ) from None
    except CallFailedError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"station {station_id!r}: {exc}") from None
    except PayloadValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
