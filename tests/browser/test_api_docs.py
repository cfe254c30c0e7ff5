"""The interactive API docs render the OpenAPI 3.1 document in a real browser."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_api_docs_render_every_operation(live_server, browser_page, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/api/v1/docs")
    operations = page.locator(".opblock")
    operations.first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "api-docs.png"))
    text = page.locator("#swagger-ui").inner_text()
    assert "Unable to render" not in text
    assert "OAS 3.1" in page.locator(".info").inner_text()
    assert operations.count() > 50
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/offers/{offer_id}" in path for path in paths)
    assert page.console_errors == []  # nothing blocked by the content security policy
