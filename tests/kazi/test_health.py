"""/healthz says the process lives; /readyz names what is down."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from kazi.app import create_app
from tests.conftest import make_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of our own, so the test can stop it."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run the tests through bin/test")
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30  # an upper bound: a loaded machine starts it slowly
    while True:
        try:
            if Redis.from_url(url).ping():
                break
        except Exception:
            assert process.poll() is None, "redis-server exited (port taken?)"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield url, process
    process.kill()
    process.wait()


def test_healthz_answers_without_touching_anything(tmp_path) -> None:
    app = create_app(make_settings(database_url=f"sqlite:///{tmp_path}/missing/dir/kazi.db"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ok_on_the_embedded_default(app) -> None:
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": True}


@pytest.mark.redis
def test_readyz_reports_a_stopped_redis(committed_url, private_redis) -> None:
    url, process = private_redis
    app = create_app(make_settings(database_url=committed_url, redis_url=url))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    process.terminate()
    process.wait()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json is not None
    assert response.json["down"] == ["redis"]
    assert response.json["checks"]["database"] is True


@pytest.mark.postgres
def test_readyz_reports_an_unreachable_database() -> None:
    url = f"postgresql+psycopg://root@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"
    app = create_app(make_settings(database_url=url))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json is not None
    assert response.json["down"] == ["database"]


def test_unknown_urls_get_the_json_error_shape(app) -> None:
    response = app.test_client().get("/no/such/page")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
