"""A plugin whose kind declaration is incomplete, inconsistent or clashes with another plugin's
stops the platform's start-up with an error naming the plugin and the problem."""

from __future__ import annotations

import sys
import textwrap

import pytest

from methodologies import MethodologyLoadError
from tests.conftest import make_app
from tests.plugins.methodologies.support import write_distribution

CLASHING = """
    from dataclasses import replace

    from methodologies import Text
    from methodologies.kinds import IdentifierKind
    from methodologies.transit import BusRide


    class Tram(BusRide):
        code = "tram"
        kind = replace(
            BusRide.kind,
            code="tram_ride",
            identifier=IdentifierKind("transit_card", Text(zh="银行卡", en="Bank card")),
        )


    class Ferry(BusRide):
        code = "ferry"
        kind = replace(BusRide.kind, code="ferry_ride", trip=replace(BusRide.kind.trip,
                       duration_field="minutes"))
"""


@pytest.fixture
def broken_plugins(tmp_path, monkeypatch):
    (tmp_path / "acme_broken.py").write_text(textwrap.dedent(CLASHING), encoding="utf-8")
    write_distribution(
        tmp_path, "acme_broken", {"tram": "acme_broken:Tram", "ferry": "acme_broken:Ferry"}
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("acme_broken", None)


def test_an_identifier_kind_clash_stops_start_up_naming_the_plugin(database, broken_plugins):
    with pytest.raises(MethodologyLoadError) as excinfo:
        make_app(database, METHODOLOGIES=["bus", "tram"])
    assert excinfo.value.entry_point == "tram"
    assert "identifier kind 'transit_card' clashes with the one bus declares" in str(excinfo.value)


def test_a_trip_kind_without_its_time_field_stops_start_up(database, broken_plugins):
    with pytest.raises(MethodologyLoadError) as excinfo:
        make_app(database, METHODOLOGIES=["ferry"])
    assert excinfo.value.entry_point == "ferry"
    assert "trip kind has no time field: 'minutes' is not declared" in str(excinfo.value)


def test_the_platform_starts_when_the_broken_plugin_is_not_enabled(database, broken_plugins):
    app = make_app(database, METHODOLOGIES=["bus", "metro"])
    assert app.extensions["tanpuhui.kinds"].identifiers["transit_card"].name.en == "Transit card"
