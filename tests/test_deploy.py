"""The gunicorn settings write no access log, trust no proxy headers and name no server."""

from __future__ import annotations

import http.client
import re
import socket
from importlib import metadata
from pathlib import Path

import pytest
from gunicorn.config import Config

from tests import gunicorn
from tests.instances import instance

CONF = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"


def test_gunicorn_logs_no_requests() -> None:
    namespace: dict[str, object] = {}
    exec(compile(CONF.read_text(encoding="utf-8"), str(CONF), "exec"), namespace)  # noqa: S102
    config = Config()
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    assert config.accesslog is None
    assert config.forwarded_allow_ips == []
    assert config.loglevel == "warning"


# --- no Server header, under a real gunicorn ------------------------------------------------

APPS = {
    # app: requests (method, path) covering pages, redirects, static files, refusals
    "submit:create_app()": [
        ("GET", "/"),
        ("HEAD", "/"),
        ("GET", "/report"),
        ("GET", "/language/en?next=/report"),
        ("GET", "/static/css/site.css"),
        ("GET", "/api/v1/recipients"),
        ("GET", "/no-such-page"),
        ("POST", "/followup"),  # no anti-forgery token: refused
        ("DELETE", "/"),
    ],
    "review:create_app()": [
        ("GET", "/"),
        ("HEAD", "/login"),
        ("GET", "/login"),
        ("GET", "/language/en?next=/login"),
        ("GET", "/static/css/review.css"),
        ("GET", "/no-such-page"),
        ("POST", "/login"),  # no anti-forgery token: refused
    ],
}


def _answers(port: int, method: str, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(gunicorn.HOST, port, timeout=30)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def _raw_answer(port: int, data: bytes) -> bytes:
    """What gunicorn itself answers to a request it cannot parse (the app never sees it)."""
    with socket.create_connection((gunicorn.HOST, port), timeout=30) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("app", sorted(APPS))
def test_no_response_names_the_server(app: str, tmp_path: Path) -> None:
    with (
        instance("sqlite", tmp_path) as ready,
        gunicorn.running(app, ready.env, tmp_path / "gunicorn.log", workers=1, threads=2) as server,
    ):
        for method, path in APPS[app]:
            response = _answers(server.port, method, path)
            assert response.status < 500, (method, path, response.status)
            assert response.getheader("Server") is None, (method, path, response.getheaders())
        refused = _raw_answer(server.port, b"NOT A REQUEST\r\n\r\n")
        head = refused.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 400")
        assert b"\r\nserver:" not in head


# --- the production install -----------------------------------------------------------------


def test_the_production_install_brings_the_drivers_of_its_services() -> None:
    """docs/operations.md installs without the dev extras: PostgreSQL's and Redis's client
    libraries must be plain dependencies, not test tools."""
    plain = {
        re.split(r"[\[<>=; ]", requirement, maxsplit=1)[0].lower()
        for requirement in metadata.requires("minhbach") or []
        if "extra ==" not in requirement
    }
    assert {"psycopg", "redis", "gunicorn"} <= plain
