"""Imports flow one way (docs/architecture.md); this fails the day one goes backwards.

The repository's top level is the project's packages, side by side, so that the trust
boundary between the public app (submit/) and the restricted one (review/) shows in the
tree. The public app must work where review/ is not installed at all.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> project packages it may import (besides itself)
ALLOWED = {
    "crypto": set(),
    "store": set(),
    "casework": {"crypto", "store"},
    "web": {"store", "casework"},  # settings; intake types for web.streaming
    "submit": {"casework", "store", "crypto", "web"},
    "review": {"casework", "store", "crypto", "web"},
    "cli": {"casework", "store", "crypto"},
}
# Importable from the repository root too, but never by the packages above.
NOT_FOR_PACKAGES = {"tests", "benchmarks", "scripts", "deploy"}
NO_FLASK = {"crypto", "store", "casework"}
FLASK = {"flask", "flask_wtf", "flask_babel", "flask_limiter", "werkzeug"}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_top_level_is_the_packages() -> None:
    """Every Python package at the root has its place in the rules; no wrapper remains."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "benchmarks"} == set(ALLOWED)
    assert not (ROOT / "minhbach").exists()


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str) -> None:
    project = set(ALLOWED) | NOT_FOR_PACKAGES
    wrong = []
    for path in files_of(package):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in project and top != package and top not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


@pytest.mark.parametrize("package", sorted(NO_FLASK))
def test_core_packages_do_not_import_flask(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files_of(package)
        for name in imports_of(path)
        if name.split(".")[0] in FLASK
    ]
    assert offenders == []


# Run with `python -S`: no site-packages, no .pth files, so nothing of the repository is
# importable except what the install put in PYTHONPATH's first folder.
PUBLIC_APP_CHECK = """
import importlib.util, sys
assert importlib.util.find_spec("review") is None, "review is importable"
from submit import create_app
app = create_app()
client = app.test_client()
for path in ("/", "/report", "/followup", "/api/v1/recipients"):
    status = client.get(path).status_code
    assert status == 200, (path, status)
# The report page's script is its committed build (static/js/dist), shipped as package data.
assert b'src="/static/js/dist/report.js"' in client.get("/report").data
script = client.get("/static/js/dist/report.js")
assert script.status_code == 200 and b"data-enhanced" in script.data, script.status_code
assert "review" not in sys.modules
print("public app served without review")
"""


def test_the_public_app_installs_and_runs_without_review(tmp_path: Path) -> None:
    """Build and install the distribution from a tree without review/, then serve pages.

    pip builds a real wheel here (setuptools from the dev environment, no download), so
    the package list, package data (templates, static files, translations, migrations)
    and the import graph are all what a submit-only host would get.
    """
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in sorted(set(ALLOWED) - {"review"}):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert not (target / "review").exists()
    assert (target / "submit" / "templates" / "report_form.html").is_file()
    for page in ("report", "followup"):
        assert (target / "submit" / "static" / "js" / "dist" / f"{page}.js").is_file()

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The installed packages first; the environment's third-party libraries after.
        "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_path("purelib")]),
        "MINHBACH_INSTANCE": str(tmp_path / "instance"),
        "MINHBACH_PASSPHRASE_ARGON2": "1,8",
        "MINHBACH_CODE_ARGON2": "1,8",
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-S", *args],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("-m", "cli", "init")
    run("-m", "cli", "unit", "add", "--slug", "so", "--name", "Sở")
    assert "public app served without review" in run("-c", PUBLIC_APP_CHECK)
