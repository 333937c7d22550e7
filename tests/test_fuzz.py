"""Fuzzing every webhook and API endpoint with hypothesis: random fields, encodings and sizes.

Whatever arrives, the answer is never a 5xx; a refusal is a 4xx with the JSON error
shape; and every USSD answer starts with ``CON `` or ``END `` and fits 182 units.
Examples are derandomised, so a failure reproduces on every run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.medium import USSD_MAX_BODY, ussd_length
from tests.api.conftest import PROJECT, auth, new_key
from tests.gateway.payloads import REPO_ROOT, load_form
from tests.gateway.web import AT_TOKEN, at_url, close_app, gateway_app, twilio_post

DARAJA = REPO_ROOT / "tests" / "payouts" / "payloads"

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ODD = st.sampled_from(
    [
        "",
        " ",
        "1.0",
        "18342.0",
        "1e999",
        "NaN",
        "-1",
        "99999999999999999999999",
        "whatsapp:+254711000111",
        "2021",
        "+254711000111",
        "0711000111",
        "bad\x00byte",
        "٣٤",
        "💥" * 40,
        "A" * 101,
        "x" * 5000,
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "*384*12#",
        "1*2*3*4*5*6*7*8*9",
        "Aborted",
        "Teleported",
        "2026-13-45 99:99:99",
        "\ud7ff\ue000\uffff",
    ]
)
VALUE = st.one_of(ODD, st.text(max_size=40), st.text(min_size=200, max_size=3000))


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, str]) -> dict[str, str]:
    """The base form with fields dropped, replaced by odd values, and extra ones added."""
    form: dict[str, str] = {}
    for key, value in base.items():
        choice = draw(st.sampled_from(["keep", "keep", "drop", "odd"]))
        if choice == "keep":
            form[key] = value
        elif choice == "odd":
            form[key] = draw(VALUE)
    extras = draw(st.dictionaries(st.text(min_size=1, max_size=20), VALUE, max_size=3))
    return {**form, **extras}


RAW = st.tuples(
    st.binary(max_size=2000),
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "multipart/form-data; boundary=x",
            "application/json",
            "text/plain",
            "",
        ]
    ),
)


@pytest.fixture
def app(committed_url: str) -> Iterator[Flask]:
    flask_app = gateway_app(committed_url, mpesa_webhook_token="mpesa-fuzz-token-0123456789")
    yield flask_app
    close_app(flask_app)


def _sane(response: Any, *, ussd: bool = False) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if 400 <= response.status_code < 500:
        body = response.get_json(silent=True)
        # Our JSON error shapes (a 422 lists every problem), or Daraja's own
        # accept/reject shape on its callbacks.
        assert body is None or "error" in body or "ResultCode" in body or "errors" in body
        if body is not None and "errors" in body:
            assert response.status_code == 422 and body["errors"], body
            assert all({"field", "problem"} <= set(e) for e in body["errors"]), body
    if ussd and response.status_code == 200:
        text = response.get_data(as_text=True)
        assert text.startswith(("CON ", "END ")), text
        assert ussd_length(text) <= USSD_MAX_BODY, text


AT_HOOKS = {
    "ussd": "at_ussd_nested.form",
    "ussd/events": "at_ussd_end_notification.form",
    "sms": "at_sms_inbound.form",
    "sms/delivery": "at_delivery_report_success.form",
    "sms/optout": None,
}
OPTOUT = {"senderId": "KAZI", "phoneNumber": "+254711000111"}


@pytest.mark.parametrize("path", sorted(AT_HOOKS))
def test_africastalking_webhooks_survive_random_forms(app: Flask, path: str) -> None:
    name = AT_HOOKS[path]
    base = load_form(name) if name else OPTOUT

    @FUZZ
    @given(form=mutated(base))
    def run(form: dict[str, str]) -> None:
        _sane(app.test_client().post(at_url(path), data=form), ussd=path == "ussd")

    run()


@pytest.mark.parametrize("path", sorted(AT_HOOKS))
def test_africastalking_webhooks_survive_random_bodies(app: Flask, path: str) -> None:
    @FUZZ
    @given(raw=RAW)
    def run(raw: tuple[bytes, str]) -> None:
        body, kind = raw
        response = app.test_client().post(at_url(path), data=body, content_type=kind)
        _sane(response, ussd=path == "ussd")

    run()


@pytest.mark.parametrize(
    ("path", "name"),
    [("sms", "twilio_sms_inbound.form"), ("sms/status", "twilio_status_delivered.form")],
)
def test_twilio_webhooks_survive_random_signed_forms(app: Flask, path: str, name: str) -> None:
    base = load_form(name)

    @FUZZ
    @given(form=mutated(base))
    def run(form: dict[str, str]) -> None:
        _sane(twilio_post(app.test_client(), path, form))

    run()


@pytest.mark.parametrize("path", ["/webhooks/payouts/b2c/result", "/webhooks/payouts/b2c/timeout"])
def test_daraja_webhooks_survive_random_json(app: Flask, path: str) -> None:
    url = path + "?token=mpesa-fuzz-token-0123456789"
    result = json.loads((DARAJA / "daraja_b2c_result_success.json").read_text())

    @FUZZ
    @given(body=st.one_of(_json_mutation(result), RAW.map(lambda r: r[0])))
    def run(body: Any) -> None:
        if isinstance(body, bytes):
            response = app.test_client().post(url, data=body, content_type="application/json")
        else:
            response = app.test_client().post(url, json=body)
        _sane(response)

    run()


JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    VALUE,
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _json_mutation(base: Any) -> st.SearchStrategy[Any]:
    """The base JSON with any one value (at any depth) replaced by random JSON."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(base, ())

    def replace(path: tuple[Any, ...], value: Any) -> Any:
        copy = json.loads(json.dumps(base))
        if not path:
            return value
        node = copy
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
        return copy

    return st.builds(replace, st.sampled_from(paths), JSON)


def test_the_api_survives_random_json(app: Flask) -> None:
    key = new_key(app)
    client = app.test_client()
    created = client.post("/api/v1/projects", json=PROJECT, headers=auth(key))
    assert created.status_code == 201
    project = created.get_json()["id"]
    endpoints = [
        ("/api/v1/projects", PROJECT),
        (f"/api/v1/projects/{project}/budget", {"amount": {"amount": 100, "currency": "KES"}}),
        (f"/api/v1/projects/{project}/tasks", [{"text": "Is this a cow?"}]),
    ]

    @FUZZ
    @given(which=st.sampled_from(endpoints), data=st.data())
    def run(which: tuple[str, Any], data: st.DataObject) -> None:
        path, base = which
        body = data.draw(st.one_of(_json_mutation(base), JSON))
        _sane(client.post(path, json=body, headers=auth(key)))

    run()


def test_the_api_survives_random_bodies_queries_and_ids(app: Flask) -> None:
    key = new_key(app)
    client = app.test_client()

    @FUZZ
    @given(
        raw=RAW,
        project=st.one_of(st.integers(min_value=-5, max_value=2**64), VALUE),
        query=st.dictionaries(st.sampled_from(["include", "page", "q", "x"]), VALUE, max_size=3),
    )
    def run(raw: tuple[bytes, str], project: object, query: dict[str, str]) -> None:
        body, kind = raw
        project = quote(str(project), safe="")
        headers = {**auth(key), "Idempotency-Key": "k" + str(len(body))}
        for method, path in (
            ("POST", "/api/v1/projects"),
            ("POST", f"/api/v1/projects/{project}/tasks"),
            ("POST", f"/api/v1/projects/{project}/budget"),
            ("GET", f"/api/v1/projects/{project}"),
            ("GET", f"/api/v1/projects/{project}/results"),
        ):
            response = client.open(
                path,
                method=method,
                data=body,
                content_type=kind,
                headers=headers,
                query_string=query,
            )
            _sane(response)

    run()


def test_at_token_variants_never_error(app: Flask) -> None:
    @FUZZ
    @given(token=VALUE)
    def run(token: str) -> None:
        response = app.test_client().post(
            "/webhooks/africastalking/ussd",
            query_string={"token": token},
            data=load_form("at_ussd_nested.form"),
        )
        assert response.status_code == (200 if token == AT_TOKEN else 403)

    run()
