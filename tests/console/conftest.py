"""Console fixtures: operators of each role and a way to sign in like a browser does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console.models import OperatorRole
from console.services import create_operator

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/console/login") -> str:
    """The CSRF token of the form on ``path``, read from the page as a browser would."""
    page = client.get(path)
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str, **kwargs: Any) -> Any:
    """Post the sign-in form with its token."""
    token = csrf_token(client)
    data = {"email": email, "password": password, "csrf_token": token}
    return client.post("/console/login", data=data, **kwargs)


@pytest.fixture
def make_operator(app: Flask) -> Callable[[str], tuple[str, str]]:
    """Create an operator of a role; returns (email, password)."""

    def make(role: str, email: str | None = None) -> tuple[str, str]:
        with app.extensions["kazi"].sessions.begin() as session:
            operator, password = create_operator(
                session, email or f"{role}@example.org", OperatorRole(role)
            )
            return operator.email, password

    return make


@pytest.fixture
def signed_in(
    app: Flask, make_operator: Callable[[str], tuple[str, str]]
) -> Callable[[str], FlaskClient]:
    """A test client signed in with a new operator of the given role."""

    def client_for(role: str) -> FlaskClient:
        client = app.test_client()
        email, password = make_operator(role)
        response = sign_in(client, email, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return client_for
