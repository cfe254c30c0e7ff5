"""Bilingual text: every string a plugin shows a resident, a merchant or the bureau exists in
Simplified Chinese (the platform's first language) and in English."""

from dataclasses import dataclass

__all__ = ["Text", "is_bilingual"]


@dataclass(frozen=True, slots=True)
class Text:
    """A zh/en pair of one user-facing string."""

    zh: str
    en: str

    def in_locale(self, locale: str) -> str:
        """The string for a locale such as ``zh_CN`` or ``en``; any non-Chinese one gets English."""
        return self.zh if locale.lower().startswith("zh") else self.en

    def to_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


def is_bilingual(value: object) -> bool:
    """Whether ``value`` is a :class:`Text` with a non-blank string in both languages."""
    return isinstance(value, Text) and all(
        isinstance(text, str) and bool(text.strip()) for text in (value.zh, value.en)
    )
