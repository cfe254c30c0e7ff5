"""The simulator plays every installed kind: kinds it has no own operator for are sent from the
sample activities their methodology declares, under the identifier kind it declares."""

from __future__ import annotations

import random
from datetime import date
from zoneinfo import ZoneInfo

from app import context
from app.activities import simulator


def test_kinds_without_an_own_operator_are_played_from_their_declared_samples(app):
    plugins = context.of(app).methodologies
    kinds = context.of(app).kinds.kinds
    extra = simulator.sample_kinds(kinds)
    assert "bus_ride" not in extra
    operators = simulator.operators_for(kinds)
    assert set(simulator.OPERATORS) <= set(operators)
    for code, kind in extra.items():
        assert operators[f"{kind.name.zh}（模拟）"] == (code,)
    people = [simulator.identifiers(n) for n in range(40)]
    records = simulator.day_of_records(
        random.Random(7), people, date(2026, 11, 23), ZoneInfo("Asia/Shanghai"), extra
    )
    by_kind = {cls.kind.code: cls for cls in plugins.values()}
    for code, kind in extra.items():
        assert records[code], code
        for item in records[code]:
            assert dict(item["quantities"]) in [dict(s) for s in kind.samples]
            by_kind[code].load_quantities(item["quantities"])  # valid for the plugin
            assert item["identifier"] == simulator.sample_identifier(
                kind.identifier.code, int(item["external_id"].rsplit("-", 1)[1])
            )
