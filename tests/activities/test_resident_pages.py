"""A resident's home (CO₂ avoided, the chart, the first step), 我的, and one activity in full."""

from __future__ import annotations

import io
import re
from datetime import date

import sqlalchemy as sa

from app.activities.models import Activity
from app.wallet.daychart import day_chart, nice_top
from tests.activities.support import at, link, make_partner, post_batch, ride
from tests.factories import log_in, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _credited_ride(city, client, session):
    key = make_partner(city, session, ["bus_ride"], name="银川公交")
    resident = make_user(session, display_name="张小绿")
    link(city, session, resident.id, "transit_card", "ALICE-01")
    post_batch(client, key, [ride("a1", "ALICE-01", at(8))])  # 8.2 km → 221 g
    return resident, session.scalar(sa.select(Activity).where(Activity.external_id == "a1"))


def test_home_shows_co2_avoided_the_equivalence_and_a_labelled_chart(city, client, session):
    resident, _activity = _credited_ride(city, client, session)
    log_in(client, resident)
    home = client.get("/me").get_data(as_text=True)
    assert "0.2 kg" in home  # 221 g, one decimal, half up
    assert "本月：0.2 kg" in home
    assert "相当于私家车行驶 1 公里的排放" in home  # 221 / 271.8 = 0.81 → 1 km
    assert "北京 MaaS" in home  # the equivalence names its source
    assert "绑定卡片" not in home  # linked already: the first step is done
    assert home.count('class="chart-day"') == 28
    assert 'data-readout="11-24 · 221 g CO₂"' in home
    assert "克 CO₂ / 天" in home and "行为日期" in home  # both axes labelled
    assert "<td>2026-11-24</td><td>221 g CO₂</td>" in home  # the figures as text, too
    assert home.count("<tr><td>") == 28


def test_a_new_resident_is_asked_first_to_link_a_card(city, client, session):
    log_in(client, make_user(session))
    home = client.get("/me").get_data(as_text=True)
    assert "0.0 kg" in home and "相当于" not in home
    first_step = home.index("绑定卡片")
    assert first_step < home.index("我的积分")  # the main action comes first
    assert 'href="/me/links"' in home


def test_the_tab_bar_replaces_the_header_links_and_sign_out_is_in_me(city, client, session):
    log_in(client, make_user(session))
    home = client.get("/me").get_data(as_text=True)
    tabs = re.search(r'<nav class="tabbar".*?</nav>', home, re.S).group(0)
    assert [label for label in re.findall(r"<span>(.*?)</span>", tabs)] == [
        "首页", "积分", "权益", "我的",
    ]  # fmt: skip
    assert 'aria-current="page"' in tabs.split("积分")[0]  # 首页 is where we are
    header = home.split("</header>")[0]
    assert "退出" not in header and "我的积分" not in header
    account = client.get("/me/account").get_data(as_text=True)
    assert 'action="/sign-out"' in account and "退出" in account


def test_day_charts_scale_to_a_round_top():
    assert [nice_top(g, 100) for g in (0, 100, 101, 200, 201, 501, 1000, 1001)] == [
        100, 100, 200, 200, 500, 1000, 1000, 2000,
    ]  # fmt: skip
    assert [nice_top(points, 10) for points in (0, 10, 11, 21)] == [10, 10, 20, 50]
    day = date(2026, 12, 1)
    chart = day_chart([(day, (0,)), (day, (250,)), (day, (500,))], floor=100)
    assert [tick.value for tick in chart.y_ticks] == [0, 250, 500]
    assert chart.bars[2].segments[0].y == 26 and chart.bars[0].segments == ()  # the peak fills it


def test_a_day_stacks_its_series_and_a_date_is_written_once_a_week():
    days = [(date(2026, 12, n), (n, 1 if n == 31 else 0)) for n in range(1, 32)]
    chart = day_chart(days, floor=10)
    last = chart.bars[-1]
    assert [segment.series for segment in last.segments] == [0, 1]  # a zero part draws nothing
    issued, capped = last.segments
    assert capped.y + capped.height == issued.y  # the capped part sits on the issued part
    assert issued.y + issued.height == chart.plot_bottom
    assert [bar.day.day for bar in chart.x_labels] == [1, 8, 15, 22, 29]
    assert all(chart.plot_left < bar.centre < chart.plot_right for bar in chart.bars)


def test_an_activity_page_explains_what_when_source_calculation_and_points(city, client, session):
    resident, activity = _credited_ride(city, client, session)
    log_in(client, resident)
    listed = client.get("/activities").get_data(as_text=True)
    assert f'href="/activities/{activity.id}"' in listed
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "公交出行" in page and "已计入" in page
    assert "乘车距离" in page and "8.2 公里" in page
    assert "由银川公交上报" in page
    assert "8.2 公里 × 26.9 克/公里" in page  # the calculation trace
    assert "221 g" in page and "+221" in page
    assert "尚未申报" in page
    assert "bus_ride" not in page and "1.0.0" in page
    wallet = client.get("/wallet").get_data(as_text=True)
    assert f'href="/activities/{activity.id}"' in wallet and "方法学 bus" not in wallet
    log_in(client, make_user(session))
    assert client.get(f"/activities/{activity.id}").status_code == 404


def test_the_api_lists_and_explains_an_activity(city, client, session):
    resident, activity = _credited_ride(city, client, session)
    log_in(client, resident)
    (item,) = client.get("/api/v1/me/activities").get_json()["items"]
    assert item["detail_url"] == f"/api/v1/me/activities/{activity.id}"
    body = client.get(item["detail_url"]).get_json()
    assert body["activity"]["id"] == activity.id and body["activity"]["points"] == 221
    assert body["source_name"] == "银川公交"
    assert body["methodology_name"]["zh"] == "公交出行"
    assert "26.9" in body["trace"]["zh"] and body["filing"] is None
    log_in(client, make_user(session))
    missing = client.get(item["detail_url"])
    assert missing.status_code == 404 and missing.get_json()["reason"] == "activity_not_found"


def test_a_self_report_waiting_for_review_says_so(city, client, session):
    city.config["WTF_CSRF_ENABLED"] = False
    resident = make_user(session)
    log_in(client, resident)
    client.post(
        "/activities/report",
        data={
            "kind": "recycling_weigh_in", "occurred_at": "2026-11-24T10:30",
            "material": "mixed_paper", "kg": "2", "evidence": (io.BytesIO(PNG), "receipt.png"),
        },
        content_type="multipart/form-data",
    )  # fmt: skip
    activity = session.scalar(sa.select(Activity))
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "审核中" in page and "已转交审核员复核" in page
    assert "由您本人上报" in page and f"/activities/evidence/{activity.evidence_id}" in page
    assert "废纸" in page or "纸" in page  # the material by name, not its code
    assert "mixed_paper" not in page


def _report_ride(client, km: str, minutes: str):
    return client.post(
        "/activities/report",
        data={
            "kind": "bike_trip", "mode": "own", "occurred_at": "2026-11-24T10:30",
            "distance_km": km, "duration_minutes": minutes,
            "evidence": (io.BytesIO(PNG), "receipt.png"),
        },
        content_type="multipart/form-data",
    )  # fmt: skip


def test_the_self_report_form_starts_at_now(city, client, session):
    log_in(client, make_user(session))
    page = client.get("/activities/report").get_data(as_text=True)
    assert 'type="datetime-local" value="2026-11-24T20:00"' in page
    assert 'data-max-bytes="5242880"' in page  # the page refuses a larger file before upload


def test_an_impossible_trip_is_refused_as_typed_and_a_possible_one_kept(city, client, session):
    city.config["WTF_CSRF_ENABLED"] = False
    log_in(client, make_user(session))
    too_fast = _report_ride(client, "25.1", "60")  # the e-bike cap is 25 km/h
    page = too_fast.get_data(as_text=True)
    assert too_fast.status_code == 422
    distance = page.split('name="distance_km"')[1].split("</div>")[0]
    assert "平均速度约 25.1 公里/小时" in distance  # beside the distance, in Chinese
    assert 'value="25.1"' in page and 'value="60"' in page  # what was typed is kept
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
    at_the_limit = _report_ride(client, "25", "60")
    assert at_the_limit.status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1
