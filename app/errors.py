"""Domain errors: what services raise when a business rule says no.

Plain Python (the message is a lazily translated string): services raise these without knowing
about requests. The web edge (:mod:`app.error_handlers`) turns them into the one error body of
the API (``{code, status, reason, message, errors, details}``) or a message on the page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


class Refusals(DomainError):
    """Several rules said no at once: a form shows every message beside its field together,
    rather than one per attempt. The API answers them as one error body (``invalid_fields``)."""

    def __init__(self, refusals: Sequence[DomainError]) -> None:
        errors: dict[str, Any] = {}
        for refusal in refusals:
            for name, messages in (refusal.errors() or {"_": [str(refusal.message)]}).items():
                if isinstance(messages, list) and isinstance(errors.get(name, []), list):
                    errors[name] = [*errors.get(name, []), *messages]
                else:
                    errors[name] = messages
        super().__init__(
            "invalid_fields",
            _l("Some fields need correcting: %(names)s.", names=", ".join(errors)),
            status=422,
            errors=errors,
            details={key: value for refusal in refusals for key, value in refusal.details.items()},
        )
        self.refusals = list(refusals)


class Checks:
    """Runs independent checks and keeps what each refuses, to refuse them all together:

    ``with checks.check(): normalise_mobile(raw)`` … ``checks.refuse()``.
    """

    def __init__(self) -> None:
        self.found: list[DomainError] = []

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except DomainError as refusal:
            self.found.append(refusal)

    def refuse(self) -> None:
        """Raise the one refusal as it is, several as :class:`Refusals`; nothing when all passed."""
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise Refusals(self.found)
