"""Payout providers (rails) behind one Protocol (``base.PayoutProvider``), built by ``payouts.rails``.

- ``daraja``: Safaricom M-Pesa Daraja B2C v3 (``daraja.DarajaClient``); its token
  and SecurityCredential live in ``daraja_auth``, its callback parsers (and the
  M-Pesa result codes) in ``daraja_parsing``.
- ``mtn_momo``: MTN MoMo Open API, Disbursement (``mtn_momo.MomoClient``): transfers
  under the payout's UUID, the status GET as the truth, the account-holder check.
- ``at_airtime``: Africa's Talking airtime through its SDK (``at_airtime.AirtimeClient``),
  final only by its status callback.
- ``sandbox``: the embedded default (``sandbox.SandboxProvider``), which never
  leaves the machine and answers with Daraja-shaped callbacks, in any currency.

How the money is read: ``ProviderRejected`` = not paid; ``OutcomeUnknown`` (and its
``DuplicateSubmission``, ``ProviderUnavailable``) = resolve with ``query_status``;
a callback's ``ResultStatus`` says success, failed or unknown.
"""
