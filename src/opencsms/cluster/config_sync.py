"""What operators change through one node, the others learn: each node keeps some of it in
memory (station access data for admission, security state, webhook subscriptions, token
caches, desired configuration, load groups), and a change made through another node's API would
otherwise stay invisible to it until a restart.

The node where the change was made publishes a :class:`ConfigChanged` after storing it; the
cluster fans it out; every other node drops or reloads its copy from the shared database.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from opencsms.clock import Clock
from opencsms.domain.fleet_events import ConfigChanged, FleetEvents
from opencsms.domain.security_profiles import SecurityProfiles
from opencsms.domain.stations import StationAdmin
from opencsms.domain.webhooks import WebhookService

__all__ = ["ConfigSync"]

log = logging.getLogger(__name__)


class ConfigSync:
    """Publishes this node's configuration changes and applies the other nodes'."""

    def __init__(
        self,
        events: FleetEvents,
        clock: Clock,
        *,
        stations: StationAdmin,
        security: SecurityProfiles,
        webhooks: WebhookService,
        tokens_changed: Callable[[], None],
        station_changed: Callable[[str], Awaitable[None]],
        desired_changed: Callable[[str], None],
        load_changed: Callable[[], Awaitable[None]],
    ) -> None:
        self._events = events
        self._clock = clock
        self._stations = stations
        self._security = security
        self._webhooks = webhooks
        self._tokens_changed = tokens_changed
        self._station_changed = station_changed
        self._desired_changed = desired_changed
        self._load_changed = load_changed

    def attach(self) -> None:
        """Publish every local change from now on."""
        self._stations.on_change = lambda station_id: self.changed("station", station_id)
        self._security.on_change = lambda station_id: self.changed("station", station_id)
        self._webhooks.on_change = lambda: self.changed("webhooks")

    def changed(self, kind: str, key: str | None = None) -> None:
        self._events.publish(ConfigChanged(kind, key, self._clock.now()))

    async def run(self) -> None:
        """Apply the other nodes' changes (owned by the node's task group)."""
        subscription = self._events.subscribe(types=(ConfigChanged,), scope="remote")
        try:
            async for event in subscription:
                assert isinstance(event, ConfigChanged)
                try:
                    await self.apply(event)
                except Exception:
                    log.exception("could not apply another node's change %s", event)
        finally:
            subscription.close()

    async def apply(self, event: ConfigChanged) -> None:
        if event.kind == "station" and event.key is not None:
            self._stations.forget(event.key)
            await self._security.reload(event.key)
            # A live connection here follows a registration change made through another node.
            await self._station_changed(event.key)
        elif event.kind == "tokens":
            self._tokens_changed()
        elif event.kind == "webhooks":
            await self._webhooks.reload_hooks()
        elif event.kind == "desired" and event.key is not None:
            self._desired_changed(event.key)
        elif event.kind == "load":
            await self._load_changed()
