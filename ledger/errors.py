"""Errors of the ledger: one base, ``LedgerError``, and narrow subclasses."""

from __future__ import annotations

from core.errors import KaziError


class LedgerError(KaziError):
    """A movement of money that the ledger refuses (a bug upstream, never a user error)."""

    http_status = 500
    code = "ledger_error"


class InsufficientFunds(LedgerError):
    """The wallet holds less than the amount asked for."""

    http_status = 409
    code = "insufficient_funds"


class UnbalancedTransaction(LedgerError):
    """The legs of a transaction do not add up to zero (a bug, never a user error)."""

    http_status = 500
    code = "unbalanced_transaction"


class AppendOnly(LedgerError):
    """An update or delete of a ledger entry or transaction (a bug, never a user error)."""

    http_status = 500
    code = "ledger_append_only"
