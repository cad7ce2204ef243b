"""Bearer-token authentication of the operator API."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status


def require_token(
    expected_token: Callable[[], str | None],
) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that admits only ``Authorization: Bearer <token>``, where the token
    is ``expected_token()`` of the node serving the request."""

    async def check(request: Request) -> None:
        header = request.headers.get("Authorization")
        if not header:
            raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("the Authorization header must use the Bearer scheme")
        expected = expected_token()
        if not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise _unauthorized("invalid bearer token")

    return check


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer realm="OpenCSMS"'},
    )
