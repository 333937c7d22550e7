"""The console's pages, gathered: importing each page module adds its routes to the blueprint."""

from __future__ import annotations

from console import (
    broadcast_views,
    centre_views,
    funding_views,
    impact_views,
    log_views,
    payout_views,
    project_views,
    record_views,
    scope,
    simulator_views,
    views,
)
from console.blueprint import bp

__all__ = [
    "bp",
    "broadcast_views",
    "centre_views",
    "funding_views",
    "impact_views",
    "log_views",
    "payout_views",
    "project_views",
    "record_views",
    "scope",
    "simulator_views",
    "views",
]
