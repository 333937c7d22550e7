"""The demo's impact cohort: after the seed, the report shows numbers, not empty tables."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from core.db import utcnow
from demo.seed import seed_demo
from impact.report import impact_report
from tests.conftest import make_settings


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_seeded_demo_shows_an_impact_report(session: Session) -> None:
    settings = make_settings()
    seed_demo(session, settings)
    seed_demo(session, settings)  # idempotent: the cohort is not added twice
    report = impact_report(session, settings, utcnow())
    assert report.active_workers_30d >= 10
    assert (report.baseline_answered, report.baseline_declined) == (22, 2)
    kes = next(w for w in report.wages if w.currency == "KES")
    assert kes.workers >= 12 and kes.total_minor > 0
    first = report.band_changes[0]
    assert first.wave == 90 and first.n >= 10 and not first.small_sample
    assert report.new_work.n >= 10 and 0 < (report.new_work.share or 0) < 1
