"""The double-entry ledger: every movement of money is one balanced, append-only transaction.

``ledger.models`` holds the tables, ``ledger.services`` the postings (wages,
funding, payout holds and their settlement or release) and balances. Accounts are
owned by a worker, a project or Kazi itself, known here only by their ids.
"""
