"""The demo users that `minhbach demo` writes into instance/demo.json can sign in, with the
code `minhbach demo totp` prints; the demo's administrator reaches the admin pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from casework.settings import Settings
from cli import cli
from review import create_app
from store.fs import create_private_dirs
from tests.review.conftest import TEST_ENV, csrf_token


def test_every_demo_user_signs_in_with_the_credentials_in_demo_json(
    tmp_path: Path, migrated_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    create_private_dirs(instance)
    shutil.copyfile(migrated_template, instance / "minhbach.sqlite3")
    env = {**TEST_ENV, "MINHBACH_INSTANCE": str(instance), "MINHBACH_DEMO": "1"}
    for name in ("MINHBACH_DATABASE_URL", "MINHBACH_BLOB_DIR", "MINHBACH_UNIT"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    document = json.loads((instance / "demo.json").read_text(encoding="utf-8"))
    assert document["review_url"] == "http://127.0.0.1:5001"

    app = create_app(Settings.from_env(env))
    for user in document["users"]:
        printed = CliRunner().invoke(cli, ["demo", "totp", user["username"]], env=env)
        assert printed.exit_code == 0, printed.output
        client = app.test_client()
        response = client.post(
            "/login",
            data={
                "csrf_token": csrf_token(client),
                "username": user["username"],
                "passphrase": user["passphrase"],
                "code": printed.output.split()[0],
            },
        )
        assert response.status_code == 303, user["username"]
        page = client.get("/").get_data(as_text=True)
        assert user["display_name"] in page
        assert user["username"] in page
        if user["role"] == "admin":
            assert client.get("/admin/people").status_code == 200
    assert "admin" in {user["role"] for user in document["users"]}
