"""Where a webhook may be sent: the URL rules checked at registration and again before sending.

An endpoint is a URL a partner typed, and the platform's worker fetches it, so a hostile URL
could aim the worker at the platform's own network (server-side request forgery). Outside the
embedded mode (``WEBHOOK_ALLOW_PRIVATE_URLS`` off) only ``https`` URLs whose host resolves to
public addresses are accepted, checked at registration and before every attempt (the address a
name resolves to can change).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

MAX_URL_LENGTH = 2048


def _bad_url(message: object) -> DomainError:
    return DomainError("invalid_webhook_url", message, field="url")


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL, stripped, if an endpoint may have it; else a 422 DomainError saying why."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise _bad_url(_l("Give the endpoint's URL, at most 2048 characters."))
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise _bad_url(
            _l("The URL must start with https:// and name a host.")
            if not allow_private
            else _l("The URL must start with https:// or http:// and name a host.")
        )
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise _bad_url(_l("The URL may not hold a user name, password or #fragment."))
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        raise _bad_url(_l("The URL's port is not valid.")) from None
    if not allow_private and _private_literal(parts.hostname):
        raise _bad_url(_l("The URL must name a public host."))
    return url


def _private_literal(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def resolves_to_public(url: str) -> bool:
    """Whether every address the URL's host resolves to now is a public one."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _private_literal(host):
        return False
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_global for a in addresses)
