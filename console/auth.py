"""Console sign-in: who the operator is, what their role allows, and login throttling."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec

from flask import abort, current_app
from flask_login import UserMixin, current_user

from console import login_manager
from console.models import Operator, OperatorRole
from core.kvstore import KeyValueStore

P = ParamSpec("P")

_RANK = {OperatorRole.VIEWER: 0, OperatorRole.OPERATOR: 1, OperatorRole.ADMIN: 2}


@dataclass(frozen=True)
class ConsoleUser(UserMixin):
    """The signed-in operator, detached from any database session."""

    operator_id: int
    email: str
    role: OperatorRole
    password_hash: str
    centre_id: int | None = None  # a centre operator sees only that centre (console.scope)

    def get_id(self) -> str:
        # The id carries a digest of the password hash: changing the password signs
        # every other browser out.
        return f"{self.operator_id}:{_fingerprint(self.password_hash)}"

    def can(self, role: OperatorRole | str) -> bool:
        """True when this operator's role is ``role`` or above."""
        return _RANK[self.role] >= _RANK[OperatorRole(role)]

    @property
    def masks_phones(self) -> bool:
        """Viewers see phone numbers masked."""
        return self.role == OperatorRole.VIEWER

    @classmethod
    def of(cls, operator: Operator) -> ConsoleUser:
        """The session user for an operator row."""
        role = OperatorRole(operator.role)
        return cls(operator.id, operator.email, role, operator.password_hash, operator.centre_id)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load_user(user_id: str) -> ConsoleUser | None:
    operator_id, _, fingerprint = user_id.partition(":")
    if not operator_id.isdigit():
        return None
    with current_app.extensions["kazi"].sessions() as session:
        operator = session.get(Operator, int(operator_id))
        if operator is None or not operator.active:
            return None
        if _fingerprint(operator.password_hash) != fingerprint:
            return None
        return ConsoleUser.of(operator)


def role_required(role: OperatorRole) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Refuse the view with 403 unless the signed-in operator has ``role`` or above."""

    def decorate(view: Callable[P, Any]) -> Callable[P, Any]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(role):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


class LoginThrottle:
    """At most ``limit`` failed sign-ins per email and address, and ``ip_limit`` per address
    whatever the email (password spraying), in a window shared by processes."""

    def __init__(
        self,
        store: KeyValueStore,
        *,
        limit: int = 5,
        ip_limit: int = 20,
        window_seconds: int = 15 * 60,
    ):
        self._store = store
        self.limit = limit
        self.ip_limit = ip_limit
        self.window_seconds = window_seconds

    def _key(self, email: str, ip: str | None) -> str:
        return f"console:login-failures:{email.strip().lower()}:{ip or '-'}"

    def _ip_key(self, ip: str | None) -> str:
        return f"console:login-failures-ip:{ip or '-'}"

    def blocked(self, email: str, ip: str | None) -> bool:
        """True when this email and address, or this address alone, used up their attempts."""
        count = self._store.get(self._key(email, ip))
        if count is not None and int(count) >= self.limit:
            return True
        by_ip = self._store.get(self._ip_key(ip)) if self.ip_limit > 0 else None
        return by_ip is not None and int(by_ip) >= self.ip_limit

    def failed(self, email: str, ip: str | None) -> None:
        """Count a failed attempt; the window starts at the first failure."""
        self._store.incr(self._key(email, ip), ttl_seconds=self.window_seconds)
        if self.ip_limit > 0:
            self._store.incr(self._ip_key(ip), ttl_seconds=self.window_seconds)

    def succeeded(self, email: str, ip: str | None) -> None:
        """Forget earlier failures after a good sign-in."""
        self._store.delete(self._key(email, ip))
