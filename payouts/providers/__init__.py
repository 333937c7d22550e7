"""Payout providers (rails) behind one Protocol (``base.PayoutProvider``), built by ``payouts.rails``.

- ``daraja``: Safaricom M-Pesa Daraja B2C v3 (``daraja.DarajaClient``); its token
  and SecurityCredential live in ``daraja_auth``, its callback parsers (and the
  M-Pesa result codes) in ``daraja_parsing``.
- ``sandbox``: the embedded default (``sandbox.SandboxProvider``), which never
  leaves the machine and answers with Daraja-shaped callbacks.

How the money is read: ``ProviderRejected`` = not paid; ``OutcomeUnknown`` (and its
``DuplicateSubmission``, ``ProviderUnavailable``) = resolve with ``query_status``;
a callback's ``ResultStatus`` says success, failed or unknown.
"""
