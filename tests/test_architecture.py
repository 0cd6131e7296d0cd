"""The architecture's two rules, and the public API."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import curbside

SRC = Path(curbside.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_imports_nothing_else_from_curbside() -> None:
    offenders = {}
    for path in (SRC / "engine").rglob("*.py"):
        bad = {m for m in imported_modules(path)
               if m.startswith("curbside") and not m.startswith("curbside.engine")}
        if bad:
            offenders[str(path.relative_to(SRC))] = bad
    assert offenders == {}


def test_engine_does_not_import_web_or_database_libraries() -> None:
    banned = ("fastapi", "starlette", "sqlalchemy", "alembic", "httpx", "typer", "rich", "jinja2")
    for path in (SRC / "engine").rglob("*.py"):
        assert not {m for m in imported_modules(path) if m.split(".")[0] in banned}, path


def test_public_api_is_exactly_all() -> None:
    public = {name for name in dir(curbside) if not name.startswith("_")}
    modules = {m.name for m in pkgutil.iter_modules(curbside.__path__)}
    assert public - modules == set(curbside.__all__)
    for name in curbside.__all__:
        assert getattr(curbside, name) is not None
