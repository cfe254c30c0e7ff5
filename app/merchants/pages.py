"""The ``merchant`` blueprint, shared by the modules that hold its pages.

The merchant's pages are split by what the merchant does: applying, stores, staff, the voucher key
and the statement in ``views``, the counter in ``counter_views``, offers in ``offer_views``. They
all register on this one blueprint, so every endpoint keeps the ``merchant.`` name templates use.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import get_locale

bp = Blueprint("merchant", __name__)


def locale() -> str:
    """The request's locale, in which plugins' bilingual text is shown."""
    return str(get_locale() or "zh")
