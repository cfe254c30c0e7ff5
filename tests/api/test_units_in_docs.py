"""Every amount in the API document says its unit, as the pages and CSV files do (app/units.py):
grams, points, fen, yuan and tonnes are named in each amount field's description."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: An amount's name (its unit is in it, as everywhere in the platform) → the word its
#: description must contain.
UNIT_OF = (
    (re.compile(r"(^|_)g($|_)|(^|_)grams($|_)"), "gram"),
    (re.compile(r"(^|_)kg($|_)"), "kilogram"),
    (re.compile(r"points|^balance$"), "point"),
    (re.compile(r"(^|_)fen($|_)"), "fen"),
    (re.compile(r"(^|_)yuan($|_)"), "yuan"),
    (re.compile(r"(^|_)tonnes($|_)"), "tonne"),
)


def _properties(name: str, schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for prop, spec in schema.get("properties", {}).items():
        yield name, prop, spec
        yield from _properties(f"{name}.{prop}", spec)
        if isinstance(spec.get("items"), dict):
            yield from _properties(f"{name}.{prop}[]", spec["items"])


def _amounts(doc: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(where, name, description) of every documented field or parameter."""
    for name, schema in doc["components"]["schemas"].items():
        for where, prop, spec in _properties(name, schema):
            yield where, prop, spec.get("description", "")
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if "name" in parameter:
                    text = parameter.get("description") or parameter.get("schema", {}).get(
                        "description", ""
                    )
                    yield f"{method.upper()} {path}", parameter["name"], text


def unitless(doc: dict[str, Any]) -> list[str]:
    return [
        f"{where}.{name}: say '{word}'"
        for where, name, description in _amounts(doc)
        for pattern, word in UNIT_OF
        if pattern.search(name) and word not in description.lower()
    ]


def test_the_check_finds_an_amount_without_its_unit():
    doc = {
        "components": {"schemas": {"Wallet": {"properties": {
            "balance": {"type": "integer"},
            "reduction_g": {"type": "integer", "description": "Grams CO2e avoided"},
            "name": {"type": "string"},
        }}}},
        "paths": {},
    }  # fmt: skip
    assert unitless(doc) == ["Wallet.balance: say 'point'"]


def test_every_amount_in_the_api_document_names_its_unit(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    missing = unitless(doc)
    assert not missing, "\n".join(missing)
