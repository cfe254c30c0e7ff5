"""Each installed kind is published from its plugin: the catalogue (API and pages), the OpenAPI
document and the self-report form show its fields with units and bounds, its identifier and caps."""

from __future__ import annotations

from app import context
from tests.factories import log_in, make_user


def _kinds(app):
    return {cls.code: cls.kind for cls in context.of(app).methodologies.values()}


def test_the_catalogue_api_shows_every_kind_as_its_plugin_declares_it(app, client):
    items = {item["code"]: item for item in client.get("/api/v1/methodologies").get_json()["items"]}
    kinds = _kinds(app)
    assert set(items) == set(kinds)
    for code, kind in kinds.items():
        published = items[code]["kind"]
        assert published["code"] == kind.code
        assert published["identifier"]["code"] == kind.identifier.code
        assert published["identifier"]["name"] == kind.identifier.name.to_dict()
        fields = {f["name"]: f for f in published["fields"]}
        assert list(fields) == [f.name for f in kind.fields]
        for declared in kind.fields:
            assert fields[declared.name]["unit"] == declared.unit
            assert fields[declared.name]["required"] == declared.required
            assert fields[declared.name]["label"] == declared.label.to_dict()
        assert (published["trip"] is not None) == (kind.trip is not None)
        assert (published["self_report"] is not None) == (kind.self_report is not None)
        assert {cap["name"] for cap in items[code]["caps"]} == {"activity_cap_g", "daily_cap_g"}


def test_the_catalogue_api_gives_bounds_and_factor_sources(client):
    bus = client.get("/api/v1/methodologies/bus").get_json()
    fields = {f["name"]: f for f in bus["kind"]["fields"]}
    assert fields["duration_minutes"]["maximum"] == "1440"
    assert fields["distance_km"]["minimum"] == "0"
    assert bus["kind"]["trip"] == {
        "duration_field": "duration_minutes",
        "distance_field": "distance_km",
        "route_fields": ["from_station", "to_station"],
    }
    recycling = client.get("/api/v1/methodologies/recycling").get_json()
    material = recycling["kind"]["fields"][0]
    assert material["choices"]["glass"] == {"zh": "玻璃", "en": "glass"}
    assert {c["name"]: c["default"] for c in recycling["caps"]} == {
        "activity_cap_g": 20000,
        "daily_cap_g": 20000,
    }
    assert all(cap["source"] and cap["role"] == "cap" for cap in recycling["caps"])
    factors = [p for p in recycling["in_effect"]["parameters"]] if recycling["in_effect"] else []
    assert all(p["source"] for p in factors)


def test_the_public_pages_show_fields_units_identifier_and_caps(app, client):
    catalogue = client.get("/methodologies").text
    for kind in _kinds(app).values():
        assert kind.identifier.name.zh in catalogue
        for declared in kind.fields:
            assert f"<code>{declared.name}</code>" in catalogue
    detail = client.get("/methodologies/electricity").text
    assert "<code>baseline_kwh</code>" in detail and "千瓦时" in detail
    assert "电表" in detail and "daily_cap_g" in detail


def test_the_openapi_document_has_one_item_schema_per_kind_chosen_by_kind(app, client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    items = schemas["PartnerItem"]
    kinds = {kind.code: kind for kind in _kinds(app).values()}
    assert items["discriminator"]["propertyName"] == "kind"
    assert set(items["discriminator"]["mapping"]) == set(kinds)
    assert len(items["oneOf"]) == len(kinds)
    for code, kind in kinds.items():
        item = schemas[f"PartnerItem_{code}"]["allOf"][1]["properties"]
        assert item["kind"] == {"const": code}
        assert item["identifier"]["x-identifier-kind"] == kind.identifier.code
        quantities = item["quantities"]
        assert set(quantities["properties"]) == {f.name for f in kind.fields}
        assert quantities["required"] == [f.name for f in kind.fields if f.required]
        for declared in kind.fields:
            if declared.unit:
                assert quantities["properties"][declared.name]["x-unit"] == declared.unit
    walk = schemas["PartnerItem_walk"]["allOf"][1]["properties"]["quantities"]["properties"]
    assert walk["steps"] == {
        "description": "Steps (step)",
        "x-label": {"zh": "步数", "en": "Steps"},
        "x-unit": "step",
        "type": "integer",
        "minimum": 0,
        "maximum": 1000000,
    }


def test_the_self_report_form_asks_for_each_self_reportable_kinds_declared_fields(
    app, client, session
):
    log_in(client, make_user(session))
    session.commit()
    page = client.get("/activities/report").text
    for kind in _kinds(app).values():
        if kind.self_report is None:
            assert f'value="{kind.code}"' not in page
            continue
        assert f'value="{kind.code}"' in page
        for name in kind.self_report.fields:
            assert f'data-field="{name}"' in page
            assert f'name="{name}"' in page
    assert "重量 (千克)" in page  # the recycling weight's declared label and unit, in Chinese
