"""Bearer-token authentication of the operator API."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status


def require_token(expected: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that admits only ``Authorization: Bearer <expected>``."""

    async def check(request: Request) -> None:
        header = request.headers.get("Authorization")
        if not header:
            raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("the Authorization header must use the Bearer scheme")
        if not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise _unauthorized("invalid bearer token")

    return check


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer realm="OpenCSMS"'},
    )
