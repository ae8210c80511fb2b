"""The tree's layering rules, checked on every import statement (including those inside
functions): efir/ is the shared domain and imports neither api/, worker/ nor cli/; api/ and
worker/ do not import each other; only cli/ composes all three."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "efir": {"api", "worker", "cli"},
    "api": {"worker", "cli"},
    "worker": {"api", "cli"},
}


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def layering_violations(package: str) -> list[str]:
    return [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {imported}"
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        for line, imported in imported_packages(path.read_text(encoding="utf-8"))
        if imported in FORBIDDEN[package]
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_keeps_to_its_layer(package: str) -> None:
    assert layering_violations(package) == []


def test_imports_inside_functions_are_seen() -> None:
    source = "def serve():\n    from api.main import create_app\n    import worker.tasks\n"
    assert imported_packages(source) == [(2, "api"), (3, "worker")]
