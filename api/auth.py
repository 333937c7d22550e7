"""Requester authentication: ``Authorization: Bearer <API key>``, keys stored hashed."""

from __future__ import annotations

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
