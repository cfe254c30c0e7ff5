"""A platform served over real HTTP on a fixed port, with demo data and a month of reductions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from werkzeug.serving import make_server

from app import clock
from app.accounts.models import User
from app.db import db
from app.methodology.models import MethodologyVersion
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.filings.support import make_reduction

DEMO_RESIDENT = "13800000001"


@contextmanager
def live_platform(tmp_path: Path, port: int) -> Iterator[str]:
    database = create_test_database("sqlite", tmp_path)
    app = make_app(database, SERVER_NAME=None)
    with app.app_context():
        from app import demo

        with db.unit_of_work() as session:
            demo.seed(session)
            resident = session.query(User).filter_by(mobile=DEMO_RESIDENT).one()
            version = session.query(MethodologyVersion).filter_by(code="bus").first()
            for days in (3, 4):
                make_reduction(session, version, resident, clock.now() - timedelta(days=days))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join()
        drop_test_database(database)
