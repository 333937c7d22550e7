"""Impact survey answers: one row per worker per survey wave, apart from task answers.

A row records the worker's consent (yes or no, when, and which version of the questions
they saw) even when they declined: a declined baseline is not asked again. Answers are
small coded values (a band index, a code word), never free text, so the report can count
them and nothing in them identifies the worker.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, created_at, intpk, str_enum


class SurveyKind(StrEnum):
    """The baseline at registration, or a follow-up some days after it."""

    BASELINE = "baseline"
    FOLLOWUP = "followup"


class SurveyResponse(Base):
    """A worker's answer to one survey wave (``wave``: days after registration, 0 = baseline)."""

    __tablename__ = "impact_responses"
    __table_args__ = (UniqueConstraint("worker_id", "kind", "wave"),)

    id: Mapped[intpk]
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    kind: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind))
    wave: Mapped[int] = mapped_column(Integer)
    survey_version: Mapped[str] = mapped_column(String(10))
    consent: Mapped[bool] = mapped_column(Boolean)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when they said yes or no
    income_source: Mapped[str | None] = mapped_column(String(20))
    income_band: Mapped[int | None] = mapped_column(Integer)  # impact.surveys.INCOME_BANDS
    income_currency: Mapped[str | None] = mapped_column(String(3))  # the bands' currency
    hours_band: Mapped[int | None] = mapped_column(Integer)  # impact.surveys.HOURS_BANDS
    household_size: Mapped[int | None] = mapped_column(Integer)
    new_work: Mapped[str | None] = mapped_column(String(10))  # follow-ups only
    fee_reference: Mapped[str | None] = mapped_column(String(80))  # its ledger transaction
    created_at: Mapped[created_at]
