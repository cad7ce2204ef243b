"""``opencsms load``: thousands of lightweight OCPP-J stations against a CSMS, measured.

It ramps connections, drives a weighted message mix and reports throughput, latency percentiles,
errors and reconnects (docs/load.md). The Python API::

    from opencsms.load import LoadOptions, LoadRun, parse_mix

    report = await LoadRun(LoadOptions(url="ws://127.0.0.1:9000/ocpp", stations=1000,
                                       mix=parse_mix("meter_values=8,heartbeat=1"))).run()
"""

from opencsms.load.options import (
    DEFAULT_MIX,
    KINDS,
    LoadOptions,
    Mix,
    OptionError,
    parse_duration,
    parse_mix,
    parse_ramp,
    parse_rate,
)
from opencsms.load.runner import LoadRun

__all__ = [
    "DEFAULT_MIX",
    "KINDS",
    "LoadOptions",
    "LoadRun",
    "Mix",
    "OptionError",
    "parse_duration",
    "parse_mix",
    "parse_ramp",
    "parse_rate",
]
