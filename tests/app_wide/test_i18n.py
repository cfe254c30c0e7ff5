"""Simplified Chinese is the default UI language: every UI string in the code has a translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
METHODS = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]


def _ui_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        METHODS,
        keywords={
            "_": None,
            "_l": None,
            "gettext": None,
            "lazy_gettext": None,
            "ngettext": (1, 2),
            "pgettext": ((1, "c"), 2),
        },
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_ui_string_has_a_chinese_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="zh_Hans_CN")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue
        if m.id
        and (m.string if isinstance(m.string, str) else all(m.string))
        and "fuzzy" not in m.flags
    }
    missing = sorted(_ui_strings() - translated)
    assert not missing, (
        f"{len(missing)} strings lack a zh translation (make extract-messages): {missing[:20]}"
    )


def test_the_brand_reads_as_one_name_in_each_language(client):
    client.get("/language/en")
    english = client.get("/").get_data(as_text=True)
    assert "Yinchuan Carbon Inclusion" in english and "YinchuanCarbon" not in english
    client.get("/language/zh_Hans_CN")
    assert "银川碳普惠" in client.get("/").get_data(as_text=True)
