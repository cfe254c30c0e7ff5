"""After a resident closes their account and it is erased, none of their mobile number, name or
linked identifier is left in the database or the instance folder, while the ledger reconciles,
every reduction recomputes, and the filing that holds their reductions still verifies (#20)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from app.accounts.models import User
from app.activities.models import Activity
from app.cli import main
from app.filings import bundling
from app.ledger.models import Transaction, TransactionKind
from app.ledger.services import balance
from app.reductions.models import Reduction
from app.rights.closure import FORFEIT_REASON
from tests.activities.support import at, link, make_partner, post_batch, ride
from tests.factories import PASSWORD, credentials, log_in, make_user, texted_code_by_api
from tests.filings.support import SETTINGS
from tests.rights.support import COOLING_OFF, dump_database, post_form, run_erasure

MOBILE = "13912345678"
NAME = "王小明"
CARD = "3100-4455-6677"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SELF_REPORT = {
    "kind": "recycling_weigh_in",
    "occurred_at": "2026-11-24T10:30:00+08:00",
    "material": "mixed_paper",
    "kg": "2",
}


def _package(session, batch) -> bytes:
    buffer = io.BytesIO()
    bundling.write_package(session, batch, buffer)
    return buffer.getvalue()


def _instance_bytes(root: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def test_closure_erases_the_person_and_keeps_the_record(city, client, session, frozen, tmp_path):
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session, mobile=MOBILE, display_name=NAME)
    link(city, session, resident.id, "transit_card", CARD)
    results = post_batch(client, key, [ride("r1", CARD, at(8)), ride("r2", CARD, at(18))])
    assert [r["status"] for r in results.get_json()["results"]] == ["verified", "verified"]
    token = client.post("/api/v1/auth/tokens", json=credentials(resident)).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    data = dict(SELF_REPORT, evidence=(io.BytesIO(PNG), "receipt.png"))
    reported = client.post(
        "/api/v1/me/activities", data=data, content_type="multipart/form-data", headers=headers
    )
    assert reported.status_code == 201
    assert client.post("/api/v1/me/data-exports", headers=headers).status_code == 202
    exports = tmp_path / "instance" / "exports"
    assert len(list(exports.iterdir())) == 1  # a copy of their data, waiting for download
    points = balance(session, resident.id)
    assert points > 0

    reductions = session.scalars(
        sa.select(Reduction).where(Reduction.participant_id == resident.id)
    ).all()
    batch = bundling.bundle_month(
        session, SETTINGS, reductions[0].methodology_version_id, at(0).date().replace(day=1)
    )
    session.commit()
    assert batch is not None
    before = _package(session, batch)

    browser = client.application.test_client()
    log_in(browser, resident)
    assert post_form(browser, "/me/privacy", "/me/privacy/close").status_code == 302
    frozen.shift(COOLING_OFF - timedelta(seconds=1))
    assert run_erasure(city, session) == 0  # one second before the end of cooling-off
    frozen.shift(timedelta(seconds=1))
    assert run_erasure(city, session) == 1
    assert run_erasure(city, session) == 0  # done once

    session.expire_all()
    erased = session.get(User, resident.id)
    assert erased.erased_at is not None and not erased.is_active
    assert balance(session, resident.id) == 0
    forfeit = session.scalars(
        sa.select(Transaction).where(Transaction.memo == FORFEIT_REASON)
    ).one()
    assert forfeit.kind == TransactionKind.ADJUST
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Activity)
            .where(Activity.participant_id == resident.id)
        )
        == 3
    )  # the record stays, under the pseudonym

    dump = dump_database(session)
    files = _instance_bytes(tmp_path / "instance")
    for secret in (MOBILE, NAME, CARD, CARD.replace("-", "")):
        assert secret not in dump, secret
        assert secret.encode() not in files, secret
    assert PNG not in files  # the evidence file itself is gone
    assert list(exports.iterdir()) == []  # and the copy of their data

    package = _package(session, batch)
    assert package == before  # the filing does not change
    path = tmp_path / "package.zip"
    path.write_bytes(package)
    runner = client.application.test_cli_runner()
    reconcile = runner.invoke(args=["reconcile"])
    assert reconcile.exit_code == 0 and "the ledger reconciles" in reconcile.output
    recompute = runner.invoke(args=["recompute"])
    assert recompute.exit_code == 0 and ", 0 mismatches" in recompute.output, recompute.output
    verified = CliRunner().invoke(
        main, ["verify-filing", str(path), "--root", batch.root_hash],
        env={"FLASK_RUN_FROM_CLI": None},
    )  # fmt: skip
    assert verified.exit_code == 0 and verified.output.startswith("OK"), verified.output

    # The number is free: signing up with it is a new person with nothing of the old one.
    code = texted_code_by_api(client, MOBILE)
    again = client.post(
        "/api/v1/residents",
        json={
            "mobile": MOBILE,
            "password": PASSWORD,
            "display_name": "新人",
            "code": code,
            "accept_privacy_notice": True,
        },
    )
    assert again.status_code == 201 and again.get_json()["id"] != resident.id
    assert balance(session, again.get_json()["id"]) == 0
    old = client.post("/api/v1/auth/tokens", json={"mobile": erased.mobile, "password": PASSWORD})
    assert old.status_code == 401
