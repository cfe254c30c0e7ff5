"""Where a ``next`` parameter may send a visitor: only to a path on this site.

Browsers are lenient with what a ``Location`` header holds: they drop tabs and newlines anywhere,
strip leading spaces and control characters, and read a backslash as a slash, so ``/\\t/evil``
or ``/\\evil`` lands on another host. A target is therefore accepted only when it is a plain
path: it starts with one slash, has no scheme or host once parsed, and holds no character a
browser would rewrite.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def _rewritten_by_browsers(char: str) -> bool:
    return char <= " " or char in "\x7f\\"


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(_rewritten_by_browsers(char) for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
