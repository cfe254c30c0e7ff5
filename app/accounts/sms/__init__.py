"""Texting one-time codes: sender plugins found by the entry-point group ``tanpuhui.sms``.

A sender is a class built once from the configuration (:class:`SenderSettings`) whose ``send``
texts one code or raises :class:`SendFailed` with a reason safe to log (never the number or the
code). The built-ins register through the same group a third-party package would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from plugins.loading import PluginLoadError, load_entry_points

GROUP = "tanpuhui.sms"


class SmsLoadError(PluginLoadError):
    kind = "SMS sender"
    group = GROUP


class SendFailed(Exception):
    """The code was not sent: the gateway timed out, failed (5xx) or refused the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SenderSettings:
    """What a sender needs from the configuration, as plain values."""

    gateway_url: str = ""
    gateway_key: str = ""
    templates: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 5.0
    sign_name: str = ""


class Sender(Protocol):
    name: ClassVar[str]

    def send(self, mobile: str, code: str, purpose: str) -> None: ...


def load_sender(name: str, settings: SenderSettings) -> Sender:
    """The enabled sender, built; an unknown or broken one stops start-up."""

    def check(entry: str, loaded: object) -> type:
        if not isinstance(loaded, type) or not callable(getattr(loaded, "send", None)):
            raise SmsLoadError(entry, "is not a class with a send(mobile, code, purpose) method")
        return loaded

    sender_class = load_entry_points(SmsLoadError, check, [name])[name]
    try:
        return sender_class(settings)  # type: ignore[no-any-return]
    except ValueError as exc:
        raise SmsLoadError(name, str(exc)) from exc
