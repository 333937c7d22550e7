"""Keeping secrets out of log lines: request lines are logged without their query string.

Africa's Talking and Daraja call our webhooks on URLs carrying ``?token=<secret>``
(they sign nothing), so a request line with its query string is a secret in a log.
gunicorn's access log is configured without it (``gunicorn.conf.py``); this filter
does the same for werkzeug's development server, whose request lines go through the
``werkzeug`` logger (``WSGIRequestHandler.log_request``), and for urllib3's debug line
of every outbound request (``urllib3.connectionpool``), which logs the URL whole.
"""

from __future__ import annotations

import logging


def strip_query(text: str) -> str:
    """``"GET /path?token=x HTTP/1.1"`` without the query: ``"GET /path HTTP/1.1"``."""
    words = text.split(" ")
    return " ".join(word.partition("?")[0] if word.startswith("/") else word for word in words)


class QueryStringFilter(logging.Filter):
    """Drops the query string of every URL path in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = strip_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(strip_query(a) if isinstance(a, str) else a for a in record.args)
        return True


#: The loggers that write request lines.
REQUEST_LOGGERS = ("werkzeug", "urllib3.connectionpool")


def install(names: tuple[str, ...] = REQUEST_LOGGERS) -> None:
    """Put the filter on each logger once (idempotent, so app factories may call it freely)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryStringFilter) for f in logger.filters):
            logger.addFilter(QueryStringFilter())
