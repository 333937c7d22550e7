"""API authentication: requesters by ``Authorization: Bearer <API key>`` (keys stored
hashed), and Kazi's admins by the operator API token (``OPERATOR_API_TOKEN``) on the
operators' routes (``GET /api/v1/impact``).

Requester keys are the only per-person API credential; the operators' routes read
across every requester and worker, so they take a separate token a deployer sets
(and rotates) in the environment, never a requester key.
"""

from __future__ import annotations

import hmac

from flask import Request
from sqlalchemy.orm import Session

from core.errors import Unauthorized
from tasks.models import Requester
from tasks.requesters import requester_for_key


def authenticate(session: Session, request: Request) -> Requester:
    """The requester whose API key the request carries; 401 when missing or wrong."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    requester = requester_for_key(session, key.strip())
    if requester is None:
        raise Unauthorized("unknown or revoked API key")
    return requester


def authenticate_operator(request: Request, token: str | None) -> None:
    """Refuse (401) unless the request carries the operator API token; unset, refuse all."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("send the operator API token as 'Authorization: Bearer <token>'")
    # Constant-time: the token opens every worker's figures.
    if token is None or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("unknown operator API token (OPERATOR_API_TOKEN)")
