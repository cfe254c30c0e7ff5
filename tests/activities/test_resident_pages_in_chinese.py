"""Every page a resident sees, rendered in Chinese, shows no English message of any catalogue:
the platform's own, WTForms' and marshmallow's field errors (also after bad input)."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import marshmallow
import sqlalchemy as sa
import wtforms
from babel.messages.pofile import read_po

from app.activities.models import Activity
from app.merchants.models import Offer
from methodologies import sources
from tests.activities.support import at, link, make_partner, post_batch, ride
from tests.factories import csrf_token_from, log_in, make_user

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def _english_messages() -> set[str]:
    """The English literal parts of every catalogue message long enough to be a phrase."""
    messages = set()
    with (ROOT / "app" / "translations" / "messages.pot").open("rb") as handle:
        messages |= {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    wtforms_pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    with wtforms_pot.open("rb") as handle:
        messages |= {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    messages |= set(sources.CHINESE)  # the built-in methodologies' published sources
    for field in vars(marshmallow.fields).values():
        if isinstance(field, type) and issubclass(field, marshmallow.fields.Field):
            messages |= {str(m) for m in field.default_error_messages.values()}
    phrases = set()
    for message in messages:
        for part in PLACEHOLDER.split(message):
            part = part.strip(" .:;,()")
            if len(part) >= 12 and " " in part and re.search(r"[a-z]{3}", part):
                phrases.add(part)
    return phrases


PHRASES = _english_messages()


def _visible_text(page: str) -> str:
    """What a reader sees: no tags, scripts, attributes, or elements marked as English."""
    page = re.sub(r"<(script|style|title)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<a [^>]*lang="en"[^>]*>.*?</a>', " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _english_on(page: str) -> list[str]:
    text = _visible_text(page)
    return sorted(phrase for phrase in PHRASES if phrase in text)


def test_the_check_finds_an_untranslated_message():
    assert _english_on("<p>Not a valid number.</p>") == ["Not a valid number"]
    assert _english_on("<p>不是有效的数字。</p>") == []


def _pages(city, client, session) -> dict[str, str]:
    key = make_partner(city, session, ["bus_ride"], name="银川公交")
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "ALICE-01")
    post_batch(client, key, [ride("a1", "ALICE-01", at(8)), ride("a2", "ALICE-01", at(8, 5))])
    log_in(client, resident)
    pages = {}
    for path in (
        "/", "/me", "/me/account", "/wallet", "/activities", "/me/links", "/activities/report",
        "/offers", "/vouchers", "/me/password", "/methodologies", "/dashboard",
    ):  # fmt: skip
        pages[path] = client.get(path).get_data(as_text=True)
    for path in set(re.findall(r'href="(/methodologies/\w+)"', pages["/methodologies"])):
        pages[path] = client.get(path).get_data(as_text=True)
    for activity in session.scalars(sa.select(Activity)):
        path = f"/activities/{activity.id}"
        pages[path] = client.get(path).get_data(as_text=True)
    for offer in session.scalars(sa.select(Offer)):
        path = f"/offers/{offer.id}"
        pages[path] = client.get(path).get_data(as_text=True)
    token = csrf_token_from(client, "/activities/report")
    for name, data in {
        "report: letters": {"kind": "bus_ride", "distance_km": "abc", "duration_minutes": "x"},
        "report: nothing": {"kind": "bus_ride"},
        "report: impossible": {
            "kind": "bike_trip", "mode": "shared", "distance_km": "30", "duration_minutes": "10",
        },
        "report: negative": {"kind": "recycling_weigh_in", "material": "mixed_paper", "kg": "-2"},
    }.items():  # fmt: skip
        data = {"csrf_token": token, "occurred_at": "2026-11-24T10:30", **data}
        data["evidence"] = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "r.png")
        sent = client.post("/activities/report", data=data, content_type="multipart/form-data")
        pages[name] = sent.get_data(as_text=True)
    token = csrf_token_from(client, "/me/links")
    sent = client.post("/me/links", data={"csrf_token": token, "kind": "transit_card"})
    pages["links: nothing typed"] = sent.get_data(as_text=True)
    return pages


def test_no_resident_page_in_chinese_shows_an_english_message(city, client, session):
    found = {
        name: english
        for name, page in _pages(city, client, session).items()
        if (english := _english_on(page))
    }
    assert not found, f"English on Chinese pages: {found}"


def test_the_catalogue_cites_its_sources_in_the_reader_language(city, client):
    chinese = client.get("/methodologies/cycling").get_data(as_text=True)
    assert "武汉“武碳江湖”公布" in chinese and "published per-action" not in chinese
    client.get("/language/en")
    english = client.get("/methodologies/cycling").get_data(as_text=True)
    assert "Wuhan 武碳江湖 published per-action" in english and "武汉“武碳江湖”公布" not in english
