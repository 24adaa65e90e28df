"""Imports flow one way (docs/architecture.md); this fails the day one goes backwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minhbach"

# package -> project packages it may import (besides itself)
ALLOWED = {
    "crypto": set(),
    "store": set(),
    "casework": {"crypto", "store"},
    "web": {"store", "config"},
    "submit": {"casework", "store", "crypto", "web", "config"},
    "review": {"casework", "store", "crypto", "web", "config"},
    "cli": {"casework", "store", "crypto", "config"},
}
NO_FLASK = {"crypto", "store", "casework"}
# Alembic's own command line (developers writing migrations) reads the database URL from
# the settings; applications hand the migration environment a connection instead.
EXCEPTIONS = {"store/migrations/env.py": {"config"}}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files_of(package: str) -> list[Path]:
    folder, module = PACKAGE / package, PACKAGE / f"{package}.py"
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    return [module] if module.exists() else []  # a package not written yet has no imports


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str) -> None:
    wrong = []
    for path in files_of(package):
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] != "minhbach" or len(parts) < 2 or parts[1] == package:
                continue
            relative = str(path.relative_to(PACKAGE))
            if parts[1] not in ALLOWED[package] | EXCEPTIONS.get(relative, set()):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []


@pytest.mark.parametrize("package", sorted(NO_FLASK))
def test_core_packages_do_not_import_flask(package: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files_of(package)
        for name in imports_of(path)
        if name.split(".")[0] in {"flask", "flask_wtf", "flask_babel", "flask_limiter", "werkzeug"}
    ]
    assert offenders == []
