"""A real server on a free port, with a migrated SQLite database and demo data, for the browser."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from app.db import db
from tests.conftest import create_test_database, drop_test_database, make_app


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = create_test_database("sqlite", tmp_path_factory.mktemp("browser"))
    app = make_app(database, SERVER_NAME=None)
    with app.app_context():
        from app import demo

        with db.unit_of_work() as session:
            demo.seed(session)
    # A free port, unless TANPUHUI_BROWSER_PORT names one (a machine shared by several runs).
    port = int(os.environ.get("TANPUHUI_BROWSER_PORT", "0"))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    drop_test_database(database)


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
