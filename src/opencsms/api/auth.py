"""Bearer-token authentication of the operator API, with back-off per client address after
repeated wrong tokens (HTTP 429 + Retry-After, docs/security.md)."""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status

from opencsms.auth_backoff import AuthBackoff


def require_token(
    expected_token: Callable[[], str | None],
    backoff: Callable[[], AuthBackoff | None] = lambda: None,
) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that admits only ``Authorization: Bearer <token>``, where the token
    is ``expected_token()`` of the node serving the request; ``backoff()`` (that node's) counts
    wrong tokens per client address and refuses a blocked address without checking."""

    async def check(request: Request) -> None:
        limiter = backoff()
        address = request.client.host if request.client else None
        if limiter is not None:
            wait = limiter.retry_after(None, address)
            if wait > 0:
                raise HTTPException(
                    status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                    detail="too many requests with a wrong token: retry later",
                    headers={"Retry-After": str(math.ceil(wait))},
                )
        try:
            _check(request, expected_token())
        except HTTPException:
            # Only a presented token counts: a request without one guesses nothing.
            if limiter is not None and request.headers.get("Authorization"):
                limiter.failed(None, address)
            raise
        if limiter is not None:
            limiter.succeeded(None, address)

    return check


def _check(request: Request, expected: str | None) -> None:
    header = request.headers.get("Authorization")
    if not header:
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must use the Bearer scheme")
    if not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise _unauthorized("invalid bearer token")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer realm="OpenCSMS"'},
    )
