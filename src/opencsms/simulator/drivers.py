"""What happens to simulated stations in a scenario: drivers, a flaky network, a timeline.

Each behaviour is a coroutine that runs until cancelled. The waits here are the scenario's own
timing (a driver arriving after three minutes), not synchronisation. Every failure of one step
(a refused token, a dropped connection) is logged and the behaviour carries on, as the people
and networks it imitates do.
"""

from __future__ import annotations

import asyncio
import logging
import random

from opencsms.errors import CallFailedError
from opencsms.simulator.ev import EvModel
from opencsms.simulator.scenario import NetworkSpec, SessionSpec, TimelineEvent
from opencsms.simulator.sessions import NotAuthorizedError
from opencsms.simulator.station import SimulatedStation

__all__ = ["drive_evse", "flap_network", "run_timeline"]

log = logging.getLogger("opencsms.simulator.scenario")


async def drive_evse(
    station: SimulatedStation, evse: int, spec: SessionSpec, rng: random.Random
) -> None:
    """Drivers at ``evse``: arrive, plug in, present a token, charge, stop, leave; repeat."""
    while True:
        await asyncio.sleep(spec.arrival.draw(rng))
        if not station.can_start(evse) or station.plugged(evse):
            continue  # out of order, reserved for someone else, or a car already there
        ev = EvModel(
            battery_wh=spec.battery_wh, soc=spec.soc.draw(rng), max_power_w=spec.ev_max_power_w
        )
        token = rng.choice(spec.tokens)
        try:
            await station.plug_in(evse, ev)
            await station.start_transaction(evse, token, spec.token_type)
        except NotAuthorizedError as refused:
            log.info("%s/%d: %s refused (%s)", station.config.id, evse, token, refused.status)
            await asyncio.sleep(min(30.0, spec.plugged.low))  # the driver tries, then leaves
            await _leave(station, evse)
            continue
        except CallFailedError as exc:  # e.g. the connection dropped while authorizing
            log.info("%s/%d: session not started: %s", station.config.id, evse, exc)
            await _leave(station, evse)
            continue
        await asyncio.sleep(spec.plugged.draw(rng))
        await _leave(station, evse)


async def _leave(station: SimulatedStation, evse: int) -> None:
    """The driver stops a running session with the card (Local) and unplugs."""
    try:
        if station.transaction(evse) is not None:
            await station.stop_transaction(evse, "Local")
    except CallFailedError as exc:  # the stop is queued and delivered later
        log.info("%s/%d: stop not acknowledged yet: %s", station.config.id, evse, exc)
    try:
        if station.plugged(evse):
            await station.unplug(evse)
    except CallFailedError as exc:
        log.info("%s/%d: unplug not reported yet: %s", station.config.id, evse, exc)


async def flap_network(station: SimulatedStation, spec: NetworkSpec, rng: random.Random) -> None:
    """A flaky link: drop every ``drop_every``, stay down for ``outage``."""
    while True:
        await asyncio.sleep(spec.drop_every.draw(rng))
        log.info("%s: network down", station.config.id)
        await station.go_offline()
        await asyncio.sleep(spec.outage.draw(rng))
        station.go_online()
        log.info("%s: network back", station.config.id)


async def run_timeline(
    stations: dict[str, SimulatedStation], events: tuple[TimelineEvent, ...]
) -> None:
    """Perform each event at its time (seconds since this coroutine started)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for event in events:
        delay = start + event.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        station = stations[event.station]
        log.info("timeline %.0fs: %s %s", event.at, event.station, event.action)
        try:
            await _perform(station, event)
        except (CallFailedError, NotAuthorizedError, ValueError) as exc:
            log.warning("timeline %s %s failed: %s", event.station, event.action, exc)


async def _perform(station: SimulatedStation, event: TimelineEvent) -> None:
    evse, action = event.evse, event.action
    if action == "fault":
        await station.set_fault(evse, event.error_code)
    elif action == "clear_fault":
        await station.clear_fault(evse)
    elif action == "power_loss":
        await station.power_loss()
    elif action == "go_offline":
        await station.go_offline()
    elif action == "go_online":
        station.go_online()
    elif action == "plug_in":
        await station.plug_in(evse)
    elif action == "start":
        await station.start_transaction(evse, event.token)
    elif action == "stop":
        await station.stop_transaction(evse, "Local")
    elif action == "unplug":
        await station.unplug(evse)
    elif action == "reboot":
        await station.reboot("LocalReset")
