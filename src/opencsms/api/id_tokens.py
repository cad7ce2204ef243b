"""``/api/v1/id-tokens``: the id tokens stations authorize against, and their CSV import/export."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from opencsms.api.responses import INVALID_BODY, ErrorOut, errors
from opencsms.domain.tokens import MAX_ID_TOKEN_LENGTH, IdToken, InvalidTokenError
from opencsms.errors import AlreadyExistsError, NotFoundError

if TYPE_CHECKING:
    from opencsms.app import Csms

TokenStatusName = Literal["Accepted", "Blocked", "Expired", "Invalid", "NoCredit"]
TokenTypeName = Literal[
    "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"
]

_LOCATIONS_HELP = (
    "Where the token may charge: station ids, or 'STATION/EVSE' for one EVSE; null = everywhere"
)


class TokenCreate(BaseModel):
    """An id token. For 1.6 stations ``group_id`` is the parentIdTag and ``type`` is ignored."""

    model_config = ConfigDict(extra="forbid")

    id_token: str = Field(min_length=1, max_length=MAX_ID_TOKEN_LENGTH)
    type: TokenTypeName | None = Field(default=None, description="2.0.1 type; null matches any")
    status: TokenStatusName = "Accepted"
    expires_at: AwareDatetime | None = None
    group_id: str | None = Field(default=None, max_length=MAX_ID_TOKEN_LENGTH)
    allowed_locations: list[str] | None = Field(default=None, description=_LOCATIONS_HELP)
    max_concurrent: int | None = Field(
        default=None, ge=1, description="Open sessions at once; null = no limit"
    )


class TokenPatch(BaseModel):
    """Fields to change; ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    type: TokenTypeName | None = None
    status: TokenStatusName | None = None
    expires_at: AwareDatetime | None = None
    group_id: str | None = Field(default=None, max_length=MAX_ID_TOKEN_LENGTH)
    allowed_locations: list[str] | None = Field(default=None, description=_LOCATIONS_HELP)
    max_concurrent: int | None = Field(default=None, ge=1)


class TokenOut(BaseModel):
    id_token: str
    type: str | None
    status: str
    expires_at: datetime | None
    group_id: str | None
    allowed_locations: list[str] | None
    max_concurrent: int | None
    created_at: datetime
    updated_at: datetime


class TokenPage(BaseModel):
    items: list[TokenOut]
    total: int
    offset: int
    limit: int


class ImportError_(BaseModel):
    line: int = Field(description="Line of the CSV text (1 is the header)")
    error: str


class ImportOut(BaseModel):
    created: int
    updated: int
    errors: list[ImportError_]


def _out(token: IdToken) -> TokenOut:
    return TokenOut(
        id_token=token.id_token,
        type=token.type,
        status=token.status.value,
        expires_at=token.expires_at,
        group_id=token.group_id,
        allowed_locations=list(token.allowed_locations)
        if token.allowed_locations is not None
        else None,
        max_concurrent=token.max_concurrent,
        created_at=token.created_at,
        updated_at=token.updated_at,
    )


def _unprocessable(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


UNKNOWN_TOKEN = errors({404: "Unknown id token"})


def id_tokens_router(csms: Csms) -> APIRouter:
    """Build the router bound to one CSMS node."""
    router = APIRouter(prefix="/id-tokens", tags=["id tokens"])

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=TokenOut,
        responses=errors({409: "A token with this id exists"}) | INVALID_BODY,
    )
    async def create_token(body: TokenCreate) -> TokenOut:
        """Create an id token."""
        try:
            token = await csms.tokens.create(body.model_dump())
        except AlreadyExistsError:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"id token {body.id_token!r} already exists"
            ) from None
        except InvalidTokenError as exc:
            raise _unprocessable(exc) from None
        return _out(token)

    @router.get("", response_model=TokenPage)
    async def list_tokens(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        group_id: Annotated[str | None, Query(description="Only this group's tokens")] = None,
    ) -> TokenPage:
        """Id tokens ordered by token (case-insensitively)."""
        tokens = await csms.storage.id_tokens.list(offset=offset, limit=limit, group_id=group_id)
        total = await csms.storage.id_tokens.count(group_id=group_id)
        return TokenPage(items=[_out(t) for t in tokens], total=total, offset=offset, limit=limit)

    @router.get(
        "/export",
        response_class=Response,
        responses={
            200: {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "every token as CSV",
            }
        },
    )
    async def export_tokens() -> Response:
        """Every id token as CSV, in the import format (see docs/id-tokens.md)."""
        text = await csms.tokens.export_csv()
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="id-tokens.csv"'},
        )

    @router.post(
        "/import",
        response_model=ImportOut,
        responses={
            422: {
                "model": ImportOut | ErrorOut,
                "description": "Nothing imported: every wrong line (ImportOut), or a body "
                "that is not UTF-8 text (detail)",
            }
        },
        openapi_extra={
            "requestBody": {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "required": True,
            }
        },
    )
    async def import_tokens(request: Request) -> Any:
        """Create or replace tokens from a CSV body (header row first). All or nothing: if any
        line is wrong, nothing is written and the answer (422) lists every wrong line."""
        body = await request.body()
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "the CSV must be UTF-8"
            ) from None
        report = await csms.tokens.import_csv(text)
        out = ImportOut(
            created=report.created,
            updated=report.updated,
            errors=[ImportError_(line=line, error=error) for line, error in report.errors],
        )
        if not report.ok:
            return JSONResponse(out.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
        return out

    @router.get("/{id_token}", response_model=TokenOut, responses=UNKNOWN_TOKEN)
    async def get_token(id_token: str) -> TokenOut:
        """One id token (matched case-insensitively)."""
        token = await csms.storage.id_tokens.get(id_token)
        if token is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"id token {id_token!r} not found")
        return _out(token)

    @router.patch("/{id_token}", response_model=TokenOut, responses=UNKNOWN_TOKEN | INVALID_BODY)
    async def patch_token(id_token: str, body: TokenPatch) -> TokenOut:
        """Change a token's status, expiry, group, type, locations or limit."""
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        if "status" in changes and changes["status"] is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "status cannot be null")
        try:
            token = await csms.tokens.update(id_token, changes)
        except NotFoundError:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"id token {id_token!r} not found"
            ) from None
        except InvalidTokenError as exc:
            raise _unprocessable(exc) from None
        return _out(token)

    @router.delete("/{id_token}", status_code=status.HTTP_204_NO_CONTENT, responses=UNKNOWN_TOKEN)
    async def delete_token(id_token: str) -> Response:
        """Remove a token: stations asking about it get Invalid from now on."""
        if not await csms.tokens.delete(id_token):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"id token {id_token!r} not found")
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router
