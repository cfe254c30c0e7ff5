"""The console sender, for local use: the code goes to the log and to an in-memory outbox that a
development-only page shows. Production refuses it (``app.config``)."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.accounts.sms import SenderSettings

log = logging.getLogger("tanpuhui.sms.console")

#: Messages the outbox page shows, newest last (per process).
OUTBOX_SIZE = 20


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    mobile: str
    code: str
    purpose: str
    sent_at: datetime


class ConsoleSender:
    name = "console"

    def __init__(self, settings: SenderSettings) -> None:
        self.outbox: deque[OutboxMessage] = deque(maxlen=OUTBOX_SIZE)

    def send(self, mobile: str, code: str, purpose: str) -> None:
        # The point of this sender: a developer reads the code here (never in production).
        log.info("SMS code for %s (%s): %s", mobile, purpose, code)
        self.outbox.append(OutboxMessage(mobile, code, purpose, clock.now()))

    def latest_code(self, mobile: str, purpose: str) -> str | None:
        """The newest code texted to ``mobile`` for ``purpose`` (the outbox page, tests)."""
        for message in reversed(self.outbox):
            if message.mobile == mobile and message.purpose == purpose:
                return message.code
        return None
