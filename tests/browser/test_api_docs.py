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
    # A long document is drawn as a virtual list (only what is in view is in the page): scroll
    # through it and collect every operation drawn on the way.
    seen: set[str] = set()
    for _ in range(400):
        seen.update(
            f"{method} {path}"
            for method, path in zip(
                page.locator(".opblock-summary-method").all_inner_texts(),
                page.locator(".opblock-summary-path").all_inner_texts(),
                strict=True,
            )
        )
        at_end = page.evaluate(
            "() => window.scrollY + window.innerHeight >= document.body.scrollHeight - 2"
        )
        if at_end:
            break
        page.mouse.wheel(0, 700)
        page.wait_for_timeout(50)
    assert len(seen) > 50
    assert any("/api/v1/offers/{offer_id}" in operation for operation in seen)
    assert any("/api/v1/bureau/sales" in operation for operation in seen)  # the last tags too
    assert page.console_errors == []  # nothing blocked by the content security policy
