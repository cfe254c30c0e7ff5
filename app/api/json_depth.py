"""A limit on how deeply JSON may nest, checked before anything parses it.

Python's JSON parser recurses once per nested array or object, so a body of a few thousand
brackets raises RecursionError wherever it is parsed (webargs, ``request.get_json``, the partner
endpoints): a 500. No document this platform reads nests more than a handful of levels, so any
request body nested deeper than :data:`MAX_JSON_DEPTH` is refused with a 400 before a view sees
it, whatever parser the view uses. :func:`loads` applies the same limit to JSON read elsewhere
(page cursors, filing manifests).

The depth is found on the raw bytes without parsing them: everything but quotes and brackets is
dropped, then what is inside strings (a bracket there does not nest), then matched pairs of
brackets level by level, all in C-speed byte operations, so a 5,000-item partner batch costs a
few milliseconds.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l

from app.errors import DomainError

MAX_JSON_DEPTH = 32

#: Bodies of these types are never read as JSON (pages' forms, uploads).
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_OPEN = ord("[")
_ESCAPES = ((b"\\\\", b""), (b'\\"', b""))  # an escaped backslash, then an escaped quote
_MARKS_ONLY = bytes.maketrans(b"{}", b"[]"), bytes(set(range(256)) - set(b'"[]{}'))


class TooDeep(ValueError):
    """JSON nested deeper than the limit (a ValueError, as any unreadable JSON is)."""


def exceeds(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` nests arrays and objects deeper than ``limit`` (JSON need not be valid:
    what a parser would refuse before reaching that depth never counts as too deep)."""
    if isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")
    elif (encoding := json.detect_encoding(text)) != "utf-8":
        try:
            data = text.decode(encoding).encode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return False  # not text: every JSON parser refuses it as it is
    else:
        data = text
    # In UTF-8 a quote or a backslash byte is always that character.
    if b"\\" in data:
        for escape, nothing in _ESCAPES:
            data = data.replace(escape, nothing)
    marks = data.translate(*_MARKS_ONLY)  # quotes and brackets, braces as brackets
    # Quotes now alternate, opening and closing strings: two adjacent ones enclose no bracket
    # either way round, so they go first, cheaply; then what is inside strings goes.
    marks = marks.replace(b'""', b"")
    brackets = b"".join(marks.split(b'"')[::2])
    # Each pass takes away the innermost level of every group; valid JSON is gone after as
    # many passes as it is deep.
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break
        brackets = shorter
    # What is left is a group deeper than the limit (a pair that outlived every pass), closers
    # without openers (a parser stops at the first) or openers never closed (as deep as many).
    level = 0
    for index, byte in enumerate(brackets):
        if byte == _OPEN:
            level += 1
            if level > limit or brackets[index + 1 : index + 2] == b"]":
                return True
        else:
            level -= 1
            if level < 0:
                return False
    return False


def check(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> None:
    if exceeds(text, limit):
        raise TooDeep(f"JSON nested deeper than {limit} levels")


def loads(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses (:class:`TooDeep`) what nests deeper than ``limit``."""
    check(text, limit)
    return json.loads(text)


def too_deep_error() -> DomainError:
    return DomainError(
        "json_too_deep",
        _l("The JSON is nested deeper than %(limit)s levels.", limit=MAX_JSON_DEPTH),
        status=400,
    )


def init_app(app: Flask) -> None:
    """Refuse any request body nested deeper than the limit, before the view reads it."""

    @app.before_request
    def _refuse_deep_json() -> None:
        if request.method in {"GET", "HEAD", "OPTIONS"} or request.mimetype in _FORM_TYPES:
            return
        if request.content_length == 0:
            return
        try:
            check(request.get_data(cache=True))
        except TooDeep:
            raise too_deep_error() from None
