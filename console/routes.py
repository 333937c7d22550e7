"""The console's pages, gathered: importing each page module adds its routes to the blueprint."""

from __future__ import annotations

from console import (
    funding_views,
    impact_views,
    payout_views,
    project_views,
    record_views,
    simulator_views,
    views,
)
from console.blueprint import bp

__all__ = [
    "bp",
    "funding_views",
    "impact_views",
    "payout_views",
    "project_views",
    "record_views",
    "simulator_views",
    "views",
]
