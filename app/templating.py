"""What every template may use: the app-wide Jinja filters and the visitor's language of a text."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale


def localized(text: Any) -> str:
    """The visitor's language of a zh/en pair (a plugin's Text or a {zh, en} dict)."""
    chinese = str(get_locale() or "zh").startswith("zh")
    if isinstance(text, dict):
        return str(text["zh" if chinese else "en"])
    return str(text.zh if chinese else text.en)
