"""Request lines reach the logs without their query string (webhook tokens ride there)."""

from __future__ import annotations

import logging

import pytest

from core import redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "POST /webhooks/africastalking/ussd?token=abc HTTP/1.1",
            "POST /webhooks/africastalking/ussd HTTP/1.1",
        ),
        ("GET /console/timeline?phone=%2B2547 HTTP/1.1", "GET /console/timeline HTTP/1.1"),
        ("GET /healthz HTTP/1.1", "GET /healthz HTTP/1.1"),
        ("what? no path", "what? no path"),
    ],
)
def test_strip_query(line: str, expected: str) -> None:
    assert redact.strip_query(line) == expected


def test_the_filter_cleans_werkzeug_request_lines(caplog: pytest.LogCaptureFixture) -> None:
    redact.install()
    redact.install()  # idempotent
    logger = logging.getLogger("werkzeug")
    assert sum(isinstance(f, redact.QueryStringFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info(
            '%s - - "%s" %s',
            "127.0.0.1",
            "POST /webhooks/payouts/b2c/result?token=s3cret HTTP/1.1",
            200,
        )
    assert (
        caplog.records[-1].getMessage()
        == '127.0.0.1 - - "POST /webhooks/payouts/b2c/result HTTP/1.1" 200'
    )
