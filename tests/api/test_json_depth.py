"""JSON nested deeper than the documented limit is a 400 wherever it is sent, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from app.api.json_depth import MAX_JSON_DEPTH, TooDeep, exceeds, loads


def nested(depth: int, leaf: str = "1") -> str:
    """JSON text: ``leaf`` inside ``depth`` levels of objects and arrays, alternately (built as
    text, since the json module cannot write what nests a few thousand levels)."""
    opening = "".join('{"k": ' if level % 2 == 0 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 == 0 else "]" for level in reversed(range(depth)))
    return opening + leaf + closing


@pytest.mark.parametrize("depth", [0, 1, 2, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_json_at_or_under_the_limit_passes(depth):
    text = nested(depth)
    assert not exceeds(text)
    assert loads(text) == json.loads(text)
    assert not exceeds(text.encode("utf-16"))


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, MAX_JSON_DEPTH + 2, 100_000])
def test_json_past_the_limit_is_refused(depth):
    text = nested(depth)
    assert exceeds(text) and exceeds(text.encode()) and exceeds(text.encode("utf-16"))
    with pytest.raises(TooDeep):
        loads(text)


def test_brackets_inside_strings_do_not_nest_and_escapes_do_not_fool_it():
    inside = nested(MAX_JSON_DEPTH, leaf=json.dumps('"[[[{{' + "\\" + '"]]'))
    assert json.loads(inside) and not exceeds(inside)
    # a backslash that ends a string must not hide the brackets after it
    hidden = '["\\\\", ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "]"
    assert json.loads(hidden) and exceeds(hidden)
    assert not exceeds("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert exceeds("[" * (MAX_JSON_DEPTH + 1))  # never closed is as deep as it is long


def test_text_a_parser_refuses_early_is_not_too_deep():
    assert not exceeds("]" + "[" * 100)
    assert not exceeds(b"\xff\xfe\x00")
    assert not exceeds('{"a": 1')


def _error(response, status: int, reason: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == status and body["reason"] == reason and body["message"]


def test_an_api_body_past_the_limit_is_a_400(client):
    """webargs parses this body: at the limit it reaches validation, past it nothing parses it."""
    url, kind = "/api/v1/auth/tokens", "application/json"
    at_limit = client.post(
        url, data=f'{{"mobile": {nested(MAX_JSON_DEPTH - 1)}}}', content_type=kind
    )
    _error(at_limit, 422, "invalid_input")
    for depth in (MAX_JSON_DEPTH, 100_000):
        past = client.post(url, data=f'{{"mobile": {nested(depth)}}}', content_type=kind)
        _error(past, 400, "json_too_deep")
        assert str(MAX_JSON_DEPTH) in past.get_json()["message"]


def test_a_body_past_the_limit_is_refused_whatever_its_content_type(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/auth/tokens", data=body, content_type="text/plain")
    _error(response, 400, "json_too_deep")


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 3_000])
def test_a_deeply_nested_cursor_is_an_invalid_cursor(client, depth):
    response = client.get(f"/api/v1/offers?cursor={_cursor('[' * depth + '1' + ']' * depth)}")
    _error(response, 422, "invalid_cursor")
