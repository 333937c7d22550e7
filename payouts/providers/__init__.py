"""Payout providers behind one Protocol (``base.PayoutProvider``), chosen by PAYOUT_PROVIDER.

- ``daraja``: Safaricom M-Pesa Daraja B2C v3 (``daraja.DarajaClient``); its token
  and SecurityCredential live in ``daraja_auth``, its callback parsers in
  ``daraja_callbacks``.
- ``sandbox``: the embedded default (``sandbox.SandboxProvider``), which never
  leaves the machine and answers with Daraja-shaped callbacks.

How the money is read: ``ProviderRejected`` = not paid; ``OutcomeUnknown`` (and its
``DuplicateSubmission``, ``ProviderUnavailable``) = resolve with ``query_status``;
a callback's ``ResultStatus`` says success, failed or unknown.
"""
