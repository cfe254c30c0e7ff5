"""Concurrent sales and retirements of the same units on PostgreSQL: exactly one wins."""

from __future__ import annotations

import threading
from datetime import date

import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.services import Actor
from app.db import db
from app.errors import DomainError
from app.filings import claims, sales, units
from app.filings.models import UnitRange, UnitState
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.filings.support import (
    SHANGHAI,
    accept_month,
    make_version,
    raw_reduction,
    shanghai,
    verified_organisation,
)

INDEPENDENT = sales.Independence(days=0)


def _race(app, *steps) -> list[str]:
    barrier = threading.Barrier(len(steps))
    outcomes: list[str] = []

    def run(step) -> None:
        with app.app_context():
            try:
                with db.unit_of_work() as session:
                    barrier.wait()
                    step(session)
                outcomes.append("won")
            except DomainError as error:
                outcomes.append(error.reason)

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


def test_a_sale_and_a_retirement_of_the_same_units_at_once_one_wins(database, tmp_path):
    own = create_test_database("postgresql", tmp_path)
    try:
        app = make_app(own)
        with app.app_context(), db.unit_of_work() as session:
            version = make_version(session)
            raw_reduction(session, version, make_user(session), shanghai(2026, 5, 2), 4_000_000)
            batch = accept_month(session, version, shanghai(2026, 5, 1))
            prefix = f"YC-BUS-202605-B{batch.id:06d}"
            bureau = [Actor(make_user(session, Role.BUREAU_ADMIN).id, Role.BUREAU_ADMIN)
                      for _ in range(2)]  # fmt: skip
            sale_ids = [
                sales.request_sale(
                    session, bureau[0], buyer=f"buyer {n}", price_fen_per_tonne=8_000,
                    sold_on=date(2026, 9, 1), exchange_reference=f"R-{n}",
                    serials=[units.serial(prefix, 1 + n, 4)],
                ).id
                for n in range(2)
            ]  # fmt: skip
            org = verified_organisation(session)
            claim_id = claims.request_claim(
                session, Actor(org.account_id, Role.ORGANISATION),
                claims.ClaimRules(yearly_cap_g=10**9, tz=SHANGHAI), organisation_id=org.id,
                event_name="马拉松", event_date=date(2026, 9, 20), grams=4_000_000,
                beneficiary="马拉松",
            ).id  # fmt: skip

        def sell(sale_id):
            return lambda session: sales.decide_sale(
                session, bureau[1], sale_id, approve=True, independence=INDEPENDENT
            )

        outcomes = _race(
            app, sell(sale_ids[0]), sell(sale_ids[1]),
            lambda session: claims.approve_claim(session, bureau[1], claim_id),
        )  # fmt: skip
        assert outcomes.count("won") == 1, outcomes
        assert set(outcomes) - {"won"} <= {"units_not_active", "exceeds_remaining"}
        with own.engine.connect() as connection:
            rows = connection.execute(
                sa.select(UnitRange.first_unit, UnitRange.last_unit, UnitRange.state).order_by(
                    UnitRange.first_unit
                )
            ).all()
        taken = [row for row in rows if row.state != UnitState.ACTIVE]
        assert len(taken) == 1  # one sale or the retirement, never two of them
        covered = [n for row in rows for n in range(row.first_unit, row.last_unit + 1)]
        assert covered == [1, 2, 3, 4]
    finally:
        drop_test_database(own)
