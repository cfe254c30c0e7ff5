"""The landing page names who runs the programme and shows the city's totals as they stand; the
web app manifest makes the wallet installable, in the visitor's language."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.dashboard.models import DailyActivityStatistic


def test_the_landing_page_shows_live_totals_and_the_operator(app, client, session):
    app.config.update(OPERATOR_CONTACT="0951-5012345", OPERATOR_FILING_NUMBER="宁ICP备2026000001号")
    empty = client.get("/").get_data(as_text=True)
    assert "<strong>0.000</strong><span>吨二氧化碳当量减排</span>" in empty
    session.add(DailyActivityStatistic(
        day=date(2026, 5, 4), activity_kind="bus_ride", activities=1200, participants=300,
        reduction_g=2_500_000,
        computed_at=datetime(2026, 5, 5, tzinfo=UTC),
    ))  # fmt: skip
    session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "<strong>2.500</strong><span>吨二氧化碳当量减排</span>" in html
    assert "<strong>1,200</strong><span>项低碳行为</span>" in html
    assert "本项目由银川市生态环境局运营" in html
    assert "<dd>0951-5012345</dd>" in html and "<dd>宁ICP备2026000001号</dd>" in html
    assert "银川市生态环境局 · 碳普惠项目 · 0951-5012345 · 宁ICP备2026000001号" in html  # footer


def test_without_a_contact_or_filing_number_none_is_shown(client):
    html = client.get("/").get_data(as_text=True)
    assert "本项目由银川市生态环境局运营" in html
    assert "联系方式" not in html and "备案号" not in html


def test_the_manifest_makes_the_wallet_installable_in_the_visitors_language(client):
    assert '<link rel="manifest" href="/manifest.webmanifest">' in client.get("/").get_data(
        as_text=True
    )
    chinese = client.get("/manifest.webmanifest")
    assert chinese.mimetype == "application/manifest+json"
    body = chinese.get_json(force=True)
    assert body["name"] == "银川碳普惠" and body["lang"] == "zh-CN"
    assert body["start_url"] == "/home" and body["display"] == "standalone"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        with client.get(icon["src"]) as served:
            assert served.status_code == 200 and served.mimetype == icon["type"]
    client.get("/language/en")
    english = client.get("/manifest.webmanifest").get_json(force=True)
    assert english["name"] == "Yinchuan Carbon Inclusion" and english["lang"] == "en"
