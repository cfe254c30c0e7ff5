"""The scheduled jobs of data rights run through the job runner: closures erased when due, once;
copies of data built in the background and deleted when their link expires."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import time_machine

from app import clock
from app.audit.services import SYSTEM
from app.jobs.runner import run_job
from app.rights import closure, exports
from app.rights.models import DataExport, ExportStatus
from tests.factories import make_user
from tests.rights.support import COOLING_OFF


def test_the_erasure_job_erases_due_closures_once(city, session, frozen):
    resident = make_user(session)
    closure.request_closure(session, SYSTEM, resident, cooling_off=COOLING_OFF)
    session.commit()
    start = clock.now()
    almost = start + COOLING_OFF - timedelta(seconds=1)
    with time_machine.travel(almost, tick=False), city.app_context():
        early = run_job("erase-closed-accounts", trigger="cli")
    with time_machine.travel(start + COOLING_OFF, tick=False), city.app_context():
        due = run_job("erase-closed-accounts", trigger="cli")
        again = run_job("erase-closed-accounts", trigger="cli")
    assert (early.counts, due.counts, again.counts) == (
        {"accounts": 0}, {"accounts": 1}, {"accounts": 0},
    )  # fmt: skip
    session.expire_all()
    assert session.get(type(resident), resident.id).erased_at is not None


def test_the_export_job_builds_waiting_copies_and_deletes_expired_ones(city, session, frozen):
    resident = make_user(session)
    waiting = DataExport(user_id=resident.id)
    session.add(waiting)
    session.commit()
    export_id = waiting.id
    with city.app_context():
        built = run_job("data-exports", trigger="cli")
    assert built.counts == {"built": 1, "expired": 0}
    session.expire_all()
    export = session.get(DataExport, export_id)
    assert export.status == ExportStatus.READY
    path = f"{city.config['EXPORT_DIR']}/{export.file_name}"
    with time_machine.travel(export.expires_at, tick=False), city.app_context():
        expired = run_job("data-exports", trigger="cli")
    assert expired.counts == {"built": 0, "expired": 1}
    session.expire_all()
    assert session.get(DataExport, export_id) is None
    assert not Path(path).exists()
    assert exports.has_pending(session) is False
