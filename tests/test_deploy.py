"""The gunicorn settings write no access log and trust no proxy headers."""

from __future__ import annotations

from pathlib import Path

from gunicorn.config import Config

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
