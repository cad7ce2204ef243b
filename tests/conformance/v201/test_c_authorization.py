"""OCPP 2.0.1 Part 6 §3.4, C Authorization: the CSMS test cases TC_C_xx_CSMS (C01, C04, C06,
C09 group id, C11 clear cache, C12 authorization cache, C16 master pass)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conformance.octt import Station
from tests.conformance.sut import CONFIGURED, Sut, start_sut
from tests.conformance.v201.states import (
    Tx,
    authorized,
    booted,
    check,
    energy_transfer_started,
    ev_connected_post_session,
    ev_connected_pre_session,
    ev_disconnected,
    id_token,
    transaction_event,
)

VALID_ID_TOKEN2 = "OCTTVALID02"
"""<Configured valid_idtoken2_idtoken> (its type: <Configured valid_idtoken_type>)."""

MASTER_PASS_GROUP_ID = "OCTTMASTERGROUP"
"""<Configured masterPassGroupId>: the CSMS's ``master_pass_group_id`` deployment setting."""


@contextlib.asynccontextmanager
async def _connected(sut: Sut, station_id: str, *, evses: int = 1) -> AsyncIterator[Station]:
    await sut.provision(station_id)
    async with sut.station(station_id) as station:
        await booted(station, evses=evses)
        yield station
        # The OCTT fails a test case on a message its scenario does not expect.
        unexpected = [c.action for c in station.received if c.action != "ClearCache"]
        check(not unexpected, f"the CSMS sent messages the scenario does not expect: {unexpected}")


def _status(response: dict[str, Any]) -> str:
    status: str = response["idTokenInfo"]["status"]
    return status


def _group(response: dict[str, Any]) -> str | None:
    group = response["idTokenInfo"].get("groupIdToken")
    return None if group is None else str(group["idToken"])


async def _open_transactions(sut: Sut, station_id: str) -> int:
    page = await sut.api.get("/transactions", params={"station_id": station_id, "status": "Active"})
    total: int = page["total"]
    return total


async def _operator(
    request: Coroutine[Any, Any, Any], station: Station, action: str, answer: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """A Manual Action: the operator's API request runs while the tool answers the CALL it
    makes the CSMS send. Returns the CALL's payload and the API's answer."""
    async with asyncio.TaskGroup() as group:
        api = group.create_task(request)
        call = await station.expect(action)
        await station.respond(call, answer)
    return call.payload, api.result()


async def test_TC_C_02_CSMS(sut: Sut) -> None:
    """Local start transaction - Authorization Invalid/Unknown (C01.FR.07 / C04.FR.01 /
    C06.FR.04). The configured invalid idToken is not known to the CSMS."""
    async with _connected(sut, "CS-C02") as station:
        # 1. AuthorizeRequest with <Configured invalid_idtoken>
        response = await station.send(
            "Authorize", {"idToken": id_token(CONFIGURED.invalid_id_token)}
        )
        # Step 2: idTokenInfo.status Invalid or Unknown
        check(
            _status(response) in ("Invalid", "Unknown"),
            f"AuthorizeResponse idTokenInfo.status {_status(response)}, want Invalid or Unknown",
        )


async def test_TC_C_06_CSMS(sut: Sut) -> None:
    """Local start transaction - Authorization Blocked (C01.FR.07)."""
    # Before: the blocked idToken is set as Blocked at the CSMS.
    await sut.add_token(CONFIGURED.blocked_id_token, status="Blocked")
    async with _connected(sut, "CS-C06") as station:
        # 1. AuthorizeRequest with <Configured blocked_idtoken>
        response = await station.send(
            "Authorize", {"idToken": id_token(CONFIGURED.blocked_id_token)}
        )
        # Step 2: idTokenInfo.status Blocked or Invalid
        check(
            _status(response) in ("Blocked", "Invalid"),
            f"AuthorizeResponse idTokenInfo.status {_status(response)}, want Blocked or Invalid",
        )


async def test_TC_C_07_CSMS(sut: Sut) -> None:
    """Local start transaction - Authorization Expired (C01.FR.07)."""
    # Before: the expired idToken is set as Expired at the CSMS: its expiry date has passed.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    await sut.add_token(CONFIGURED.expired_id_token, expires_at=yesterday)
    async with _connected(sut, "CS-C07") as station:
        # 1. AuthorizeRequest with <Configured expired_idtoken>
        response = await station.send(
            "Authorize", {"idToken": id_token(CONFIGURED.expired_id_token)}
        )
        # Step 2: idTokenInfo.status Expired or Invalid
        check(
            _status(response) in ("Expired", "Invalid"),
            f"AuthorizeResponse idTokenInfo.status {_status(response)}, want Expired or Invalid",
        )


async def test_TC_C_08_CSMS(sut: Sut) -> None:
    """Authorization through authorization cache - Accepted (C12.FR.03): the station authorized
    the token from its cache, without an AuthorizeRequest."""
    await sut.add_token(CONFIGURED.valid_id_token)
    async with _connected(sut, "CS-C08") as station:
        tx = Tx()
        await ev_connected_pre_session(station, tx)  # State is EVConnectedPreSession
        # 1. TransactionEventRequest Updated, triggerReason Authorized, the cached valid idToken
        tx.id_token = id_token()
        response = await transaction_event(station, tx, "Updated", "Authorized", with_token=True)
        # Step 2: idTokenInfo.status Accepted
        check("idTokenInfo" in response, "TransactionEventResponse without idTokenInfo")
        check(
            _status(response) == "Accepted",
            f"TransactionEventResponse idTokenInfo.status {_status(response)}, want Accepted",
        )


async def test_TC_C_20_CSMS(sut: Sut) -> None:
    """Authorization through authorization cache - Invalid (C12.FR.03): the station's cache
    accepted a token the CSMS does not know."""
    async with _connected(sut, "CS-C20") as station:
        tx = Tx()
        await ev_connected_pre_session(station, tx)  # State is EVConnectedPreSession
        # 1. TransactionEventRequest Updated, triggerReason Authorized, <Configured invalid_idtoken>
        tx.id_token = id_token(CONFIGURED.invalid_id_token)
        response = await transaction_event(station, tx, "Updated", "Authorized", with_token=True)
        # Step 2: idTokenInfo.status Invalid or Unknown
        check("idTokenInfo" in response, "TransactionEventResponse without idTokenInfo")
        check(
            _status(response) in ("Invalid", "Unknown"),
            f"TransactionEventResponse idTokenInfo.status {_status(response)}, "
            "want Invalid or Unknown",
        )


async def _clear_cache(sut: Sut, station_id: str, answer: str) -> None:
    async with _connected(sut, station_id) as station:
        # Manual Action (POST .../clear-cache) → 1. the CSMS sends ClearCacheRequest
        # 2. the OCTT responds with ClearCacheResponse status <answer>
        payload, result = await _operator(
            sut.api.post(f"/stations/{station_id}/clear-cache"),
            station,
            "ClearCache",
            {"status": answer},
        )
        check(payload == {}, f"ClearCacheRequest carries unexpected fields: {payload}")
        assert result["status"] == answer, f"the API reported {result}, want status {answer}"


async def test_TC_C_37_CSMS(sut: Sut) -> None:
    """Clear Authorization Data in Authorization Cache - Accepted (C11)."""
    await _clear_cache(sut, "CS-C37", "Accepted")


async def test_TC_C_38_CSMS(sut: Sut) -> None:
    """Clear Authorization Data in Authorization Cache - Rejected (C11)."""
    await _clear_cache(sut, "CS-C38", "Rejected")


async def test_TC_C_39_CSMS(sut: Sut) -> None:
    """Authorization by GroupId - Success (C09.FR.02, C09.FR.03): a token of the same group may
    stop the session another one started."""
    group = CONFIGURED.group_id_token
    # Memory State: two valid idTokens with the same GroupId are configured.
    await sut.add_token(CONFIGURED.valid_id_token, group_id=group)
    await sut.add_token(VALID_ID_TOKEN2, group_id=group)

    def grouped(step: int, message: str, response: dict[str, Any]) -> None:
        check(
            _status(response) == "Accepted",
            f"step {step}: {message} idTokenInfo.status {_status(response)}, want Accepted",
        )
        check(
            _group(response) == group,
            f"step {step}: {message} groupIdToken {_group(response)}, want {group}",
        )

    async with _connected(sut, "CS-C39") as station:
        tx = Tx()
        await ev_connected_pre_session(station, tx)  # state is EVConnectedPreSession
        # 1./2. AuthorizeRequest with valid_idtoken2
        response = await station.send("Authorize", {"idToken": id_token(VALID_ID_TOKEN2)})
        grouped(2, "AuthorizeResponse", response)
        # 3./4. TransactionEvent Authorized with valid_idtoken (the transaction already started:
        # Updated)
        tx.id_token = id_token()
        response = await transaction_event(station, tx, "Updated", "Authorized", with_token=True)
        grouped(4, "TransactionEventResponse", response)
        tx.authorized = True
        # 5. Reusable State EnergyTransferStarted
        await energy_transfer_started(station, tx)
        # 6./7. AuthorizeRequest with valid_idtoken2
        response = await station.send("Authorize", {"idToken": id_token(VALID_ID_TOKEN2)})
        grouped(7, "AuthorizeResponse", response)
        # 8./9. TransactionEvent Updated, StopAuthorized, with valid_idtoken2
        tx.id_token = id_token(VALID_ID_TOKEN2)
        response = await transaction_event(
            station, tx, "Updated", "StopAuthorized", with_token=True, meter=True
        )
        grouped(9, "TransactionEventResponse", response)
        # 10. EVConnectedPostSession, 11. EVDisconnected
        await ev_connected_post_session(station, tx)
        await ev_disconnected(station, tx)
        assert await _open_transactions(sut, "CS-C39") == 0, "the session is still open"


@contextlib.asynccontextmanager
async def _master_pass_sut(tmp_path: Path) -> AsyncIterator[Sut]:
    """The CSMS with a master pass group, and its tokens (Memory State: an idToken with the
    MasterPass as GroupId is configured)."""
    async with start_sut(tmp_path, master_pass_group_id=MASTER_PASS_GROUP_ID) as sut:
        await sut.add_token(CONFIGURED.valid_id_token)
        await sut.add_token(VALID_ID_TOKEN2)
        await sut.add_token(CONFIGURED.master_pass_id_token, group_id=MASTER_PASS_GROUP_ID)
        yield sut


async def _two_sessions(station: Station) -> list[Tx]:
    """State is EnergyTransferStarted for EVSE 1 with valid idToken and for EVSE 2 with valid
    idToken2."""
    sessions = []
    for evse, token in ((1, CONFIGURED.valid_id_token), (2, VALID_ID_TOKEN2)):
        tx = Tx(evse_id=evse)
        await authorized(station, tx, id_token(token))
        await energy_transfer_started(station, tx)
        sessions.append(tx)
    return sessions


async def _master_pass_authorize(station: Station) -> None:
    """Steps 1/2: AuthorizeRequest with the master pass; Accepted, with the master pass group
    (TC_C_48's tool validation; the tables of TC_C_47 and TC_C_49 list none, and the same
    mechanism is checked there)."""
    response = await station.send(
        "Authorize", {"idToken": id_token(CONFIGURED.master_pass_id_token)}
    )
    check(
        _status(response) == "Accepted",
        f"step 2: AuthorizeResponse idTokenInfo.status {_status(response)}, want Accepted",
    )
    check(
        _group(response) == MASTER_PASS_GROUP_ID,
        f"step 2: AuthorizeResponse groupIdToken {_group(response)}, want {MASTER_PASS_GROUP_ID}",
    )


async def _ended_by_master_pass(station: Station, tx: Tx, token: str) -> dict[str, Any]:
    """Step 3: TransactionEventRequest Ended, stoppedReason MasterPass, with ``token``."""
    tx.id_token = id_token(token)
    return await transaction_event(
        station,
        tx,
        "Ended",
        "StopAuthorized",
        stopped_reason="MasterPass",
        with_token=True,
        meter=True,
    )


async def test_TC_C_47_CSMS(tmp_path: Path) -> None:
    """Stop Transaction with a Master Pass - With UI - All transactions (C16.FR.01)."""
    async with _master_pass_sut(tmp_path) as sut, _connected(sut, "CS-C47", evses=2) as station:
        sessions = await _two_sessions(station)
        await _master_pass_authorize(station)  # 1./2.
        # 3./4. Ended with the master pass for both EVSE; the CSMS accepts the master pass.
        for tx in sessions:
            response = await _ended_by_master_pass(station, tx, CONFIGURED.master_pass_id_token)
            check(
                _status(response) == "Accepted",
                f"step 4 (EVSE {tx.evse_id}): idTokenInfo.status {_status(response)}, "
                "want Accepted",
            )
            check(
                _group(response) == MASTER_PASS_GROUP_ID,
                f"step 4 (EVSE {tx.evse_id}): groupIdToken {_group(response)}, "
                f"want {MASTER_PASS_GROUP_ID}",
            )
        assert await _open_transactions(sut, "CS-C47") == 0, "a session is still open"


async def test_TC_C_48_CSMS(tmp_path: Path) -> None:
    """Stop Transaction with a Master Pass - With UI - Specific transactions (C16.FR.01).

    Step 1 of the table names <Configured valid_idtoken>, but its tool validation wants the
    masterPassGroupId as groupIdToken, which only the master pass has (a valid idToken in the
    master group could not have started the session of the Reusable State): the tool presents
    the master pass, as in TC_C_47 and TC_C_49."""
    async with _master_pass_sut(tmp_path) as sut, _connected(sut, "CS-C48", evses=2) as station:
        # State is EnergyTransferStarted for all EVSE
        sessions = await _two_sessions(station)
        await _master_pass_authorize(station)  # 1./2.
        # 3./4. The user selected one transaction: Ended with the master pass for EVSE 1.
        response = await _ended_by_master_pass(
            station, sessions[0], CONFIGURED.master_pass_id_token
        )
        check(
            _status(response) == "Accepted",
            f"step 4: TransactionEventResponse idTokenInfo.status {_status(response)}, "
            "want Accepted",
        )
        check(
            _group(response) == MASTER_PASS_GROUP_ID,
            f"step 4: TransactionEventResponse groupIdToken {_group(response)}, "
            f"want {MASTER_PASS_GROUP_ID}",
        )
        # Only the selected session ended.
        assert await _open_transactions(sut, "CS-C48") == 1, "want EVSE 2's session open"


async def test_TC_C_49_CSMS(tmp_path: Path) -> None:
    """Stop Transaction with a Master Pass - Without UI (C16.FR.02): the station stops every
    transaction; the Ended events carry <Configured valid_idtoken>."""
    async with _master_pass_sut(tmp_path) as sut, _connected(sut, "CS-C49", evses=2) as station:
        sessions = await _two_sessions(station)
        await _master_pass_authorize(station)  # 1./2.
        # 3./4. Ended, stoppedReason MasterPass, valid idToken, for both EVSE: answered.
        for tx in sessions:
            response = await _ended_by_master_pass(station, tx, CONFIGURED.valid_id_token)
            check(
                "idTokenInfo" in response,
                f"step 4 (EVSE {tx.evse_id}): TransactionEventResponse without idTokenInfo",
            )
        assert await _open_transactions(sut, "CS-C49") == 0, "a session is still open"
