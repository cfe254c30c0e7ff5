"""A real server on a free port, with a migrated SQLite database and demo data, for the browser."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app.db import db
from tests.conftest import create_test_database, drop_test_database, make_app


@contextmanager
def serve(
    folder: Path, seed: Callable[[Session], Any] | None = None, **overrides: object
) -> Iterator[tuple[str, Any]]:
    """Serve the app with demo data (and what ``seed`` adds, returned beside the address)."""
    database = create_test_database("sqlite", folder)
    app = make_app(database, SERVER_NAME=None, EVIDENCE_DIR=str(folder / "evidence"), **overrides)
    seeded = None
    with app.app_context():
        from app import demo

        with db.unit_of_work() as session:
            demo.seed(session)
            if seed is not None:
                seeded = seed(session)
    # A free port, unless TANPUHUI_BROWSER_PORT names one (a machine shared by several runs).
    port = int(os.environ.get("TANPUHUI_BROWSER_PORT", "0"))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seeded
    finally:
        server.shutdown()
        thread.join()
        drop_test_database(database)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("browser")) as (url, _seeded):
        yield url


@pytest.fixture
def browser_page(chromium_path: str) -> Iterator[object]:
    """A phone-sized page (390×844) in Debian's headless chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.console_errors = errors  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()
