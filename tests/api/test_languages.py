"""API messages follow Accept-Language: Simplified Chinese by default, English when asked."""

from __future__ import annotations

import pytest

from app.api.ids import MAX_ID

URL = f"/api/v1/offers/{MAX_ID}"


@pytest.mark.parametrize(
    ("header", "english"),
    [
        (None, False),
        ("en", True),
        ("en-GB,en;q=0.9", True),
        ("zh-CN,zh;q=0.9,en;q=0.8", False),
        ("en;q=0.5,zh-Hans;q=0.9", False),
        ("fr,en;q=0.4", True),
        ("fr", False),
        ("en;q=0", False),
        ("*", False),
        ("garbage;;q=x", False),
    ],
)
def test_an_api_message_is_in_the_language_asked(client, header, english):
    headers = {"Accept-Language": header} if header else {}
    body = client.get(URL, headers=headers).get_json()
    assert body["reason"] == "offer_not_found"
    assert (body["message"] == "Not found.") is english, body["message"]
    assert body["message"].isascii() is english


def test_pages_keep_the_visitors_chosen_language_not_the_header(client):
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in page
