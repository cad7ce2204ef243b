"""OCPP 2.0.1 Part 6 §3.2, A Security: the CSMS test cases TC_A_xx_CSMS."""

from __future__ import annotations

from tests.conformance import octt
from tests.conformance.sut import Sut, new_password
from tests.conformance.v201.states import booted


async def test_TC_A_01_CSMS(sut: Sut) -> None:
    """Basic Authentication - Valid username/password combination (A00.FR.204, B01.FR.02)."""
    password = new_password()
    await sut.provision("CS-A01", password=password)
    async with sut.station("CS-A01", password=password) as station:
        await booted(station)


async def test_TC_A_02_CSMS(sut: Sut) -> None:
    """Basic Authentication - Username does not equal ChargingStationId (A00.FR.204)."""
    password = new_password()
    await sut.provision("CS-A02", password=password)
    status = await octt.refused(
        sut.ws_url, "CS-A02", "ocpp2.0.1", password=password, username="CS-A02Invalid"
    )
    assert status == 401


async def test_TC_A_03_CSMS(sut: Sut) -> None:
    """Basic Authentication - Invalid password (A00.FR.204)."""
    await sut.provision("CS-A03", password=new_password())
    status = await octt.refused(sut.ws_url, "CS-A03", "ocpp2.0.1", password=new_password())
    assert status == 401
