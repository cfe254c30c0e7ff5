"""The audit log as the bureau reads it: people by name, actions by label, details as text
(Chinese unescaped), filters by what, object, who and when, and the same entries as CSV."""

from __future__ import annotations

import ast
import csv
import io
import pathlib
from datetime import UTC, datetime

import pytest

from app.accounts.roles import Role
from app.audit.labels import ACTIONS, readable
from app.audit.services import Actor, record
from app.merchants.services import DECISIONS
from tests.factories import log_in, make_user

APP = pathlib.Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def log(session):
    admin = make_user(session, Role.BUREAU_ADMIN, display_name="王审核")
    other = make_user(session, Role.BUREAU_REVIEWER, display_name="李复核")
    record(session, Actor(admin.id, admin.role), "offer.approve", "offer", 7,
           {"title": "银川停车券", "stores": ["一号店", "二号店"], "public": True})  # fmt: skip
    record(session, Actor(other.id, other.role), "ledger.adjust", "wallet", 12,
           {"points": 500, "reason": "=HYPERLINK(\"x\")"})  # fmt: skip
    session.commit()
    return admin, other


def test_entries_read_as_names_labels_and_text(client, session, log):
    admin, _ = log
    log_in(client, admin)
    html = client.get("/bureau/audit").get_data(as_text=True)
    assert "王审核" in html and "李复核" in html
    assert "优惠已批准" in html and "钱包调整" in html  # labels, not only codes
    assert "银川停车券" in html and "一号店, 二号店" in html
    assert "\\u94f6" not in html and "&#34;title&#34;" not in html  # no JSON on the page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=offer.approve", {"offer.approve"}),
        ("object_type=wallet", {"ledger.adjust"}),
        ("object_type=offer&object_id=7", {"offer.approve"}),
        ("object_type=offer&object_id=8", set()),
    ],
)
def test_filters_by_what_and_object(client, session, log, query, expected):
    admin, _ = log
    log_in(client, admin)
    data = client.get(f"/bureau/audit.csv?{query}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(data.lstrip("\ufeff"))))
    assert {row["action_code"] for row in rows} == expected


def test_filters_by_who_by_id_or_mobile_and_by_city_dates(client, session, log):
    admin, other = log
    log_in(client, admin)

    def codes(query: str) -> set[str]:
        data = client.get(f"/bureau/audit.csv?{query}").get_data(as_text=True)
        return {row["action_code"] for row in csv.DictReader(io.StringIO(data.lstrip("\ufeff")))}

    assert codes(f"actor={other.id}") == {"ledger.adjust"}
    assert codes(f"actor={admin.mobile}") >= {"offer.approve"}
    assert "ledger.adjust" not in codes(f"actor={admin.mobile}")
    today = datetime.now(UTC).date()
    assert codes(f"since={today.replace(year=today.year + 1)}") == set()
    assert codes(f"until={today.replace(year=today.year - 1)}") == set()
    assert codes("since=not-a-date&actor=") >= {"offer.approve", "ledger.adjust"}  # ignored


def test_the_csv_is_safe_in_a_spreadsheet_and_names_people(client, session, log):
    admin, other = log
    log_in(client, admin)
    response = client.get("/bureau/audit.csv?action=ledger.adjust")
    assert response.headers["Content-Disposition"].endswith("audit-log.csv")
    (row,) = csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    assert row["actor"] == "李复核" and row["actor_id"] == str(other.id)
    assert row["details"].startswith("points: 500; reason: =HYPERLINK")
    assert row["action"] in {"Wallet adjusted", "钱包调整"}


def test_readable_values():
    assert readable(None) == "—" and readable(True) == "✓" and readable(False) == "✗"
    assert readable(["a", 1]) == "a, 1" and readable([]) == "—"
    assert readable({"from": "pending", "to": "approved"}) == "from: pending; to: approved"
    assert readable("银川") == "银川"


def _recorded_actions() -> set[str]:
    """Every action code the platform records: literal, either branch of a condition, and the
    merchant decisions' f-string."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or len(node.args) < 3:
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name != "record":
                continue
            action = node.args[2]
            branches = [action.body, action.orelse] if isinstance(action, ast.IfExp) else [action]
            for branch in branches:
                if isinstance(branch, ast.Constant):
                    found.add(branch.value)
                elif isinstance(branch, ast.JoinedStr):
                    found.update(f"merchant.{decision}" for decision in DECISIONS)
    return found


def test_every_recorded_action_has_a_label():
    recorded = _recorded_actions()
    assert len(recorded) > 40
    assert recorded - set(ACTIONS) == set()
