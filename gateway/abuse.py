"""Flood limits per phone number on the worker channels: USSD hops and inbound SMS.

A number dialling in a loop (a stuck handset, a script, a SIM box) must not take the
database and the send rate from everyone else. The limits are settings
(``USSD_HOPS_PER_MINUTE``, ``SMS_INBOUND_PER_MINUTE``), counted in the shared store
(``core.throttle``), generous enough that a person never meets them.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.runtime import Runtime
from core.throttle import WindowLimit

_EXTRAS_KEY = "gateway:abuse-limits"


@dataclass(frozen=True)
class ChannelLimits:
    """The per-number limits of one process (built once, shared store behind them)."""

    ussd_hops: WindowLimit
    inbound_sms: WindowLimit


def limits(runtime: Runtime) -> ChannelLimits:
    """This runtime's limits, built on first use from its settings."""
    built = runtime.extras.get(_EXTRAS_KEY)
    if built is None:
        settings = runtime.settings
        built = ChannelLimits(
            WindowLimit(runtime.store, "ussd-hop", settings.ussd_hops_per_minute),
            WindowLimit(runtime.store, "sms-in", settings.sms_inbound_per_minute),
        )
        runtime.extras[_EXTRAS_KEY] = built
    return built
