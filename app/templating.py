"""What every template may use: the app-wide Jinja filters and the visitor's language of a text."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale

from app import units
from app.activities import reasons
from app.activities.kinds import identifier_name, kind_name
from app.context import city_zone
from app.filings.package import tonnes
from app.ledger.policy import valid_until
from methodologies import sources


def register(app: Flask) -> None:
    """The filters every page's template may use, whichever blueprint renders it."""
    app.add_template_filter(city_time, "city_time")
    app.add_template_filter(city_date, "city_date")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(points_valid_until, "points_valid_until")
    app.add_template_filter(kind_name, "kind_name")
    app.add_template_filter(identifier_name, "identifier_name")
    app.add_template_filter(reasons.message, "reason_text")
    app.add_template_filter(lambda grams: str(tonnes(grams)), "tonnes")
    app.add_template_filter(units.whole, "whole_number")
    app.add_template_filter(units.whole, "points")
    app.add_template_filter(units.signed, "signed_points")
    app.add_template_filter(units.grams, "grams")
    app.add_template_filter(units.kilograms, "kg")
    app.add_template_filter(units.tonnes, "tonnes_text")
    app.add_template_filter(units.tonnes_figure, "tonnes_figure")
    app.add_template_filter(source_text, "source_text")
    app.add_template_filter(fen_as_yuan, "fen_as_yuan")


def source_text(source: str) -> str:
    """A parameter's published source in the reader's language, when the built-ins know it."""
    if str(get_locale() or "zh").startswith("zh"):
        return sources.CHINESE.get(source, source)
    return source


def fen_as_yuan(fen: int) -> str:
    """Whole fen as yuan with two decimals: 123456 → 1,234.56."""
    yuan, cents = divmod(fen, 100)
    return f"{yuan:,}.{cents:02d}"


def city_time(instant: datetime) -> str:
    """An instant as the city's clock shows it, to the minute."""
    return local_time(instant, city_zone())


def city_date(instant: datetime, end: bool = False) -> str:
    """The city's calendar date of an instant; ``end`` for an exclusive end (the day before)."""
    if end:
        instant -= timedelta(microseconds=1)
    return instant.astimezone(city_zone()).date().isoformat()


def local_time(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def points_valid_until(expires_at: datetime) -> str:
    """The last local day points expiring at ``expires_at`` can be spent, as yyyy-mm-dd."""
    return valid_until(expires_at, city_zone()).isoformat()
