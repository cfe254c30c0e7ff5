"""Backend differences live in the adapters (app/adapters/): no other module of app/ looks at the
database backend.

A module that needs something the backends do differently asks ``adapters.of(session)`` for it.
What counts as looking: reading an engine's or connection's ``.dialect``, ``dialect.name``,
comparing anything with "postgresql" or "sqlite", and importing ``sqlalchemy.dialects``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
ADAPTERS = APP / "adapters"
BACKENDS = {"postgresql", "sqlite"}


def dialect_checks(source: str) -> list[tuple[int, str]]:
    """Each place in ``source`` that inspects the database backend: (line, what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "dialect":
            found.append((node.lineno, "reads .dialect"))
        elif isinstance(node, ast.Attribute) and node.attr == "name":
            if isinstance(node.value, ast.Name) and "dialect" in node.value.id.lower():
                found.append((node.lineno, f"reads {node.value.id}.name"))
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_names_dialect(operand) or _is_backend(operand) for operand in operands):
                found.append((node.lineno, "compares with a backend"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in {"startswith", "endswith"} and any(map(_is_backend, node.args)):
                found.append((node.lineno, "tests a name for a backend"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sqlalchemy.dialects"
        ):
            found.append((node.lineno, f"imports {node.module}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sqlalchemy.dialects"):
                    found.append((node.lineno, f"imports {alias.name}"))
    return found


def _names_dialect(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and "dialect" in node.id.lower()


def _is_backend(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in BACKENDS


def _modules_outside_the_adapters() -> list[Path]:
    return sorted(path for path in APP.rglob("*.py") if ADAPTERS not in path.parents)


def test_no_module_outside_the_adapters_looks_at_the_backend():
    modules = _modules_outside_the_adapters()
    assert len(modules) > 50  # the scan sees the whole of app/
    violations = [
        f"{path.relative_to(APP.parent)}:{line}: {what}"
        for path in modules
        for line, what in dialect_checks(path.read_text(encoding="utf-8"))
    ]
    assert violations == [], "ask app.adapters.of(session) instead:\n" + "\n".join(violations)


@pytest.mark.parametrize(
    "source",
    [
        'if session.get_bind().dialect.name == "postgresql": pass',
        "is_pg = conn.dialect.name != 'sqlite'",
        "name = engine.dialect.name",
        'if dialect == "postgresql": pass',
        "if dialect_name in ('sqlite',): pass",
        'if url.startswith("postgresql"): pass',
        "from sqlalchemy.dialects import postgresql",
        "from sqlalchemy.dialects.postgresql import insert",
        "import sqlalchemy.dialects.sqlite",
    ],
)
def test_each_way_of_looking_at_the_backend_is_caught(source):
    assert dialect_checks(source)


def test_a_type_that_is_handed_a_dialect_or_names_a_variant_is_not_a_check():
    source = (
        "class T(TypeDecorator):\n"
        "    def process_bind_param(self, value, dialect):\n"
        "        return value\n"
        'BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")\n'
        "adapters.of(session).insert(table)\n"
    )
    assert dialect_checks(source) == []
