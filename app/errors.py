"""Domain errors: what services raise when a business rule says no.

Plain Python (the message is a lazily translated string): services raise these without knowing
about requests. The web edge (:mod:`app.error_handlers`) turns them into the one error body of
the API (``{code, status, reason, message, errors, details}``) or a message on the page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A business rule said no.

    The edge rolls the unit of work back, unless ``keep_writes`` is set: a refusal that must
    itself be kept (an audited four-eyes refusal, a burned QR token), raised when nothing but
    what it keeps was written.
    """

    status = 422
    keep_writes = False

    def __init__(
        self,
        reason: str,
        message: Any,
        *,
        field: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        errors: dict[str, Any] | None = None,
        keep_writes: bool | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.field = field
        self.details = details or {}
        self.field_errors = errors
        if status is not None:
            self.status = status
        if keep_writes is not None:
            self.keep_writes = keep_writes

    def errors(self) -> dict[str, Any] | None:
        """Field name → messages: the invalid fields given, else the one ``field`` named."""
        if self.field_errors:
            return self.field_errors
        return {self.field: [str(self.message)]} if self.field else None


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}_not_found", _l("Not found."))


class Conflict(DomainError):
    status = 409
