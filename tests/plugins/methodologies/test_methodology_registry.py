"""Discovery through entry points: built-ins, a third-party methodology and broken plugins."""

import dataclasses
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from methodologies import (
    Methodology,
    MethodologyLoadError,
    Parameter,
    Text,
    load_methodologies,
    validate_methodology,
)
from methodologies.kinds import IdentifierKind, QuantityField, Trip
from methodologies.registry import check_together
from methodologies.transit import BusRide
from tests.plugins.methodologies.support import BUILTIN_ENTRY_POINTS, OCCURRED_AT

Install = Callable[[str], None]
InstallDistribution = Callable[[str, Mapping[str, str]], None]


def test_builtins_are_registered_under_their_codes() -> None:
    loaded = load_methodologies()
    for code, target in BUILTIN_ENTRY_POINTS.items():
        module, name = target.split(":")
        assert loaded[code].__module__ == module
        assert loaded[code].__name__ == name


def test_enabled_restricts_and_orders_what_is_loaded() -> None:
    assert list(load_methodologies(["walking", "bus", "walking"])) == ["walking", "bus"]


def test_an_enabled_code_nobody_registers_fails_loudly() -> None:
    with pytest.raises(MethodologyLoadError, match="no installed package registers it") as excinfo:
        load_methodologies(["bus", "tree_planting"])
    assert excinfo.value.entry_point == "tree_planting"


def test_a_third_party_methodology_is_discovered_and_usable(install_thirdparty: Install) -> None:
    install_thirdparty("good")
    paperless = load_methodologies()["paperless"]
    assert paperless.__module__ == "tanpuhui_paperless"
    params = paperless.load_parameters(paperless.default_parameters())
    activity = paperless.build_activity({"bills": 4}, OCCURRED_AT, self_reported=True)
    result = paperless.quantify(activity, params, explain=True)
    assert result.reduction_g == 9  # 4 × 4.5 g × 0.5
    assert result.trace is not None
    assert result.trace.en == "4 bills × 4.5 g/bill × 0.5 (self-reported) = 9.0 g → 9 g"


def test_a_broken_third_party_methodology_fails_loudly(install_thirdparty: Install) -> None:
    install_thirdparty("broken")
    with pytest.raises(MethodologyLoadError) as excinfo:
        load_methodologies(["wonky"])
    assert excinfo.value.entry_point == "wonky"
    assert str(excinfo.value) == (
        "methodology 'wonky' (tanpuhui.methodologies): "
        "version '1.0' is not semver-like MAJOR.MINOR.PATCH"
    )
    with pytest.raises(MethodologyLoadError, match=r"'ghost'.*cannot import.*NoSuchClass"):
        load_methodologies(["ghost"])
    with pytest.raises(MethodologyLoadError):
        load_methodologies()


def test_a_broken_plugin_that_is_not_enabled_is_never_imported(install_thirdparty: Install) -> None:
    install_thirdparty("broken")
    assert list(load_methodologies(["bus"])) == ["bus"]


def test_two_packages_claiming_one_code_fail_loudly(
    install_distribution: InstallDistribution,
) -> None:
    install_distribution("acme_transit", {"bus": "acme_transit:Bus"})
    with pytest.raises(MethodologyLoadError, match=r"'bus'.*registered more than once"):
        load_methodologies(["bus"])


def test_the_same_target_registered_twice_is_harmless(
    install_distribution: InstallDistribution,
) -> None:
    install_distribution("stale_copy", {"bus": BUILTIN_ENTRY_POINTS["bus"]})
    assert load_methodologies(["bus"])["bus"] is BusRide


class Incomplete(Methodology):
    """Implements the behaviour but declares none of the attributes."""

    @classmethod
    def measure(cls, activity: Any, params: Any, explain: bool) -> Any:
        raise NotImplementedError

    @classmethod
    def plausibility(cls, activity: Any, params: Any) -> Any:
        raise NotImplementedError


class Abstract(Methodology):
    code = "abstract"


class NotASchema:
    pass


def bus_variant(**attributes: Any) -> type[Methodology]:
    """BusRide with some attributes replaced, as a careless plugin author might write it."""
    return type("Variant", (BusRide,), attributes)


_LABEL = Text(zh="标签", en="label")


def _kind(**changes: Any) -> Any:
    return dataclasses.replace(BusRide.kind, **changes)


def _kind_with_fields(*more: QuantityField) -> Any:
    return _kind(fields=(*BusRide.kind.fields, *more))


without_weight = tuple(p for p in BusRide.parameters if p.name != "self_report_weight")
extra = Parameter("extra", Decimal(1), "g", "test", Text(zh="额外", en="extra"))

BROKEN: dict[str, tuple[object, str]] = {
    "not a class": (BusRide.default_parameters, "is not a subclass of methodologies.Methodology"),
    "not a methodology": (NotASchema, "is not a subclass of methodologies.Methodology"),
    "abstract": (Abstract, "Abstract does not implement measure, plausibility"),
    "attributes missing": (Incomplete, "class attribute 'code' is missing"),
    "code differs": (
        bus_variant(code="tram"),
        "code 'tram' differs from the entry point name 'bus'",
    ),
    "code not an identifier": (bus_variant(code="Bus Ride"), "code 'Bus Ride' is not a lowercase"),
    "version not semver": (bus_variant(version="v1"), "version 'v1' is not semver-like"),
    "version with a leading zero": (bus_variant(version="1.01.0"), "is not semver-like"),
    "kind not an identifier": (
        bus_variant(kind=dataclasses.replace(BusRide.kind, code="")),
        "kind code '' is not",
    ),
    "kind not declared": (bus_variant(kind="bus_ride"), "kind must be a methodologies.kinds"),
    "unknown unit": (
        bus_variant(kind=_kind_with_fields(QuantityField("far", "decimal", _LABEL, unit="li"))),
        "field 'far' has unknown unit 'li'",
    ),
    "field declared twice": (
        bus_variant(kind=_kind_with_fields(BusRide.kind.fields[0])),
        "field 'distance_km' is declared twice",
    ),
    "trip kind without time": (
        bus_variant(kind=_kind(trip=Trip("minutes", "distance_km"))),
        "trip kind has no time field: 'minutes' is not declared",
    ),
    "trip kind without distance": (
        bus_variant(kind=_kind(trip=Trip("duration_minutes", "from_station"))),
        "trip distance field 'from_station' must be in km",
    ),
    "identifier with an unknown normalisation": (
        bus_variant(kind=_kind(identifier=IdentifierKind("card", _LABEL, normalisation="rot13"))),
        "identifier 'card' has unknown normalisation 'rot13'",
    ),
    "choice without named choices": (
        bus_variant(kind=_kind_with_fields(QuantityField("mode", "choice", _LABEL))),
        "choice field 'mode' needs choices named in zh and en",
    ),
    "no samples": (bus_variant(kind=_kind(samples=())), "samples must be a non-empty tuple"),
    "name only in English": (bus_variant(name="Bus ride"), "name must be a Text"),
    "formula blank in Chinese": (
        bus_variant(formula=Text(zh=" ", en="km × factor")),
        "formula must be a Text",
    ),
    "parameters a list": (bus_variant(parameters=list(BusRide.parameters)), "must be a tuple"),
    "parameter declared twice": (
        bus_variant(parameters=(*BusRide.parameters, BusRide.parameters[0])),
        "parameter 'baseline_g_per_pkm' is declared twice",
    ),
    "parameter without a source": (
        bus_variant(
            parameters=(*BusRide.parameters, Parameter("x", Decimal(1), "g", "", extra.description))
        ),
        "parameter 'x' needs a unit and a source",
    ),
    "self-report weight missing": (
        bus_variant(parameters=without_weight),
        "parameter 'self_report_weight' of kind 'decimal' is required",
    ),
    "default outside its bounds": (
        bus_variant(
            parameters=(
                *BusRide.parameters,
                Parameter("extra", Decimal(-1), "g", "t", extra.description),
            )
        ),
        "default parameters do not validate",
    ),
    "sample that does not load": (
        bus_variant(kind=_kind(samples=({"distance_km": "far"},))),
        "example {'distance_km': 'far'} fails: ValidationError",
    ),
    "sample with an undeclared field": (
        bus_variant(kind=_kind(samples=({"distance_km": "1", "speed": "9"},))),
        "Unknown field",
    ),
}


@pytest.mark.parametrize(("candidate", "problem"), BROKEN.values(), ids=BROKEN.keys())
def test_a_contract_violation_names_the_entry_point_and_the_problem(
    candidate: object, problem: str
) -> None:
    with pytest.raises(MethodologyLoadError) as excinfo:
        validate_methodology("bus", candidate)
    assert excinfo.value.entry_point == "bus"
    assert str(excinfo.value).startswith("methodology 'bus' (tanpuhui.methodologies): ")
    assert problem in str(excinfo.value)


def test_every_problem_of_a_class_is_reported_at_once() -> None:
    with pytest.raises(MethodologyLoadError) as excinfo:
        validate_methodology("bus", bus_variant(version="1", name="Bus"))
    assert "version '1'" in excinfo.value.problem
    assert "name must be a Text" in excinfo.value.problem


def test_two_plugins_may_share_an_identifier_kind_declared_alike() -> None:
    loaded = load_methodologies(["bus", "metro"])
    assert loaded["bus"].kind.identifier is loaded["metro"].kind.identifier
    check_together(loaded)  # no clash


def test_an_identifier_kind_clashing_with_another_plugins_stops_start_up() -> None:
    clashing = IdentifierKind("transit_card", Text(zh="银行卡", en="Bank card"))
    tram = bus_variant(code="tram", kind=_kind(code="tram_ride", identifier=clashing))
    with pytest.raises(MethodologyLoadError) as excinfo:
        check_together({"bus": BusRide, "tram": tram})
    assert excinfo.value.entry_point == "tram"
    assert "identifier kind 'transit_card' clashes with the one bus declares" in str(excinfo.value)
    other_rule = IdentifierKind("transit_card", BusRide.kind.identifier.name, "digits")
    tram = bus_variant(code="tram", kind=_kind(code="tram_ride", identifier=other_rule))
    with pytest.raises(MethodologyLoadError, match="clashes"):
        check_together({"bus": BusRide, "tram": tram})


def test_a_successor_may_credit_one_kind_with_other_fields() -> None:
    extra = QuantityField("fare_fen", "integer", _LABEL, unit="fen", required=False)
    successor = bus_variant(code="bus2", kind=_kind_with_fields(extra))
    check_together({"bus": BusRide, "bus2": successor})


def test_one_kind_named_by_two_identifiers_or_trip_and_not_stops_start_up() -> None:
    other_card = IdentifierKind("bus_pass", Text(zh="月票", en="Bus pass"))
    renamed = bus_variant(code="bus2", kind=_kind(identifier=other_card))
    with pytest.raises(MethodologyLoadError) as excinfo:
        check_together({"bus": BusRide, "bus2": renamed})
    assert excinfo.value.entry_point == "bus2"
    assert "'bus_ride' is named by 'bus_pass', but by 'transit_card' in bus" in str(excinfo.value)
    not_a_trip = bus_variant(code="bus2", kind=_kind(trip=None))
    with pytest.raises(MethodologyLoadError, match="is a trip in one of"):
        check_together({"bus": BusRide, "bus2": not_a_trip})
