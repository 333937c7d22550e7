"""The impact surveys' settings: follow-up days and fees, read and refused by name."""

from __future__ import annotations

import pytest

from config.settings import Settings, SettingsError
from tests.config.test_settings import load


def test_follow_ups_default_to_90_and_180_days_with_a_fee_per_currency() -> None:
    settings = Settings()
    assert settings.impact_followup_days == (90, 180)
    assert dict(settings.impact_survey_fees)["KES"] == 2_000
    assert settings.operator_api_token is None  # the operators' API is shut until set


def test_the_settings_are_read_from_the_environment() -> None:
    env = {"IMPACT_FOLLOWUP_DAYS": "180, 30", "IMPACT_SURVEY_FEES": "kes:5000"}
    settings = load(env)
    assert settings.impact_followup_days == (30, 180)
    assert settings.impact_survey_fees == (("KES", 5_000),)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IMPACT_FOLLOWUP_DAYS": "90,soon"}, "IMPACT_FOLLOWUP_DAYS: expected days"),
        ({"IMPACT_FOLLOWUP_DAYS": "0"}, "IMPACT_FOLLOWUP_DAYS: expected days"),
        ({"IMPACT_SURVEY_FEES": "KES20"}, "IMPACT_SURVEY_FEES: expected e.g. KES:2000"),
    ],
)
def test_a_bad_survey_setting_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load(env)
    assert str(raised.value).startswith(message)
