"""Offline check of a filing package from the package alone (``tanpuhui verify-filing``).

Recomputes every line with the methodology plugin and the parameters in the manifest, then the
totals, the file hashes and the root hash, and names each file or line that does not agree. No
database is used: a third-party verifier runs this on the zip they were given.
"""

from __future__ import annotations

import csv
import hashlib
import io
import lzma
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from marshmallow import ValidationError

from app.api import json_depth
from app.filings import package
from methodologies import Methodology, QuantificationError
from methodologies.registry import MethodologyLoadError, load_methodologies

_RECOMPUTED = ("baseline_g", "project_g", "reduction_g")
#: What reading a damaged zip or member raises: zipfile's own error, a broken deflate or lzma
#: stream, a truncated file, an encrypted member, an unknown compression method, bad UTF-8.
_UNREADABLE = (
    zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError, NotImplementedError,
    RuntimeError, ValueError, csv.Error,
)  # fmt: skip


#: The largest member read, uncompressed: lines.csv of several million lines fits; anything larger
#: is refused before a byte is inflated. The manifest and the summary are far smaller.
MAX_MEMBER_BYTES = {package.MANIFEST: 4 << 20, package.SUMMARY: 64 << 20}
MAX_LINES_BYTES = 4 << 30
#: A member that inflates more than this many times over (above 1 MiB) is a zip bomb, not a
#: package: CSV and JSON compress about 5 to 20 times.
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 1 << 20


@dataclass
class Report:
    """What the check found; ``ok`` when nothing."""

    discrepancies: list[str] = field(default_factory=list)
    lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def add(self, message: str) -> None:
        self.discrepancies.append(message)


def verify_package(path: Path | IO[bytes], *, expected_root: str | None = None) -> Report:
    """Check a package; ``expected_root`` is the root hash the bureau published, if known."""
    report = Report()
    try:
        archive = zipfile.ZipFile(path)
    except _UNREADABLE as exc:
        report.add(f"package: not a readable zip ({exc})")
        return report
    with archive:
        listed = Counter(archive.namelist())
        for name, count in sorted(listed.items()):
            if count > 1:
                report.add(f"{name}: {count} members of this name (a package has one of each)")
        if _refuse_members(archive, report):
            return report
        names = set(listed)
        expected = {package.MANIFEST, package.SUMMARY, package.LINES}
        for name in sorted(expected - names):
            report.add(f"{name}: missing from the package")
        for name in sorted(names - expected):
            report.add(f"{name}: not part of a filing package")
        if package.MANIFEST not in names:
            return report
        manifest = _read_manifest(archive, report)
        if manifest is None:
            return report
        stated_hashes = _stated_hashes(manifest, report)
        hashes = {}
        for name in (package.LINES, package.SUMMARY):
            if name in names:
                hashes[name] = _file_hash(archive, name, report)
                stated = stated_hashes.get(name)
                if hashes[name] is not None and hashes[name] != stated:
                    report.add(f"{name}: SHA-256 is {hashes[name]}, the manifest says {stated}")
        if stated_hashes and all(hashes.get(n) for n in hashes):
            root = package.root_hash(stated_hashes, manifest)
            if root != manifest.get("root_hash"):
                report.add(
                    f"manifest.json: root hash is {root}, the manifest says "
                    f"{manifest.get('root_hash')}"
                )
            if expected_root is not None and manifest.get("root_hash") != expected_root:
                report.add(
                    f"manifest.json: root hash {manifest.get('root_hash')} is not the published "
                    f"{expected_root}"
                )
        if package.LINES in names:
            _check_lines(archive, manifest, report)
    return report


def _refuse_members(archive: zipfile.ZipFile, report: Report) -> bool:
    """Report members too large, too highly compressed or named outside the package; True when
    the package must not be read further."""
    refused = False
    for info in archive.infolist():
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            report.add(f"{name}: a name outside the package (refused)")
        limit = MAX_MEMBER_BYTES.get(name, MAX_LINES_BYTES)
        if info.file_size > limit:
            report.add(f"{name}: {info.file_size} bytes uncompressed, over the {limit} allowed")
            refused = True
        elif info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            report.add(
                f"{name}: compressed {info.file_size // max(info.compress_size, 1)} times over "
                f"(more than {MAX_RATIO}): refused as a zip bomb"
            )
            refused = True
    return refused


def _read_manifest(archive: zipfile.ZipFile, report: Report) -> dict[str, Any] | None:
    try:
        raw = archive.read(package.MANIFEST)
        manifest = json_depth.loads(raw)
    except _UNREADABLE as exc:
        report.add(f"manifest.json: not readable JSON ({exc})")
        return None
    if not isinstance(manifest, dict):
        report.add("manifest.json: not a JSON object")
        return None
    if manifest.get("format") != package.FORMAT:
        report.add(f"manifest.json: format {manifest.get('format')!r} is not {package.FORMAT}")
    if package.canonical_json(manifest) != raw:
        report.add("manifest.json: not in canonical form (bytes were changed)")
    return manifest


def _stated_hashes(manifest: dict[str, Any], report: Report) -> dict[str, str]:
    files = manifest.get("files")
    if isinstance(files, dict) and all(isinstance(v, str) for v in files.values()):
        return files
    report.add(f"manifest.json: files is {_kind(files)}, not an object of file names and SHA-256s")
    return {}


def _kind(value: object) -> str:
    """What a JSON value is, in words, for a message."""
    if value is None:
        return "missing"
    names = {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), "a number")


def _file_hash(archive: zipfile.ZipFile, name: str, report: Report) -> str | None:
    digest = hashlib.sha256()
    try:
        with archive.open(name) as member:
            while chunk := member.read(1 << 16):
                digest.update(chunk)
    except _UNREADABLE as exc:
        report.add(f"{name}: cannot be read ({exc})")
        return None
    return digest.hexdigest()


def _methodology(manifest: dict[str, Any], report: Report) -> tuple[type[Methodology], Any] | None:
    described = manifest.get("methodology")
    if not isinstance(described, dict):
        report.add(f"manifest.json: methodology is {_kind(described)}, not an object")
        return None
    parameters = described.get("parameters") or {}
    if not isinstance(parameters, dict):
        report.add(f"manifest.json: methodology parameters are {_kind(parameters)}, not an object")
        return None
    code, version = described.get("code"), described.get("plugin_version")
    try:
        plugin = load_methodologies([str(code)])[str(code)]
    except MethodologyLoadError as exc:
        report.add(f"manifest.json: methodology {code!r} cannot be loaded ({exc.problem})")
        return None
    if plugin.version != version:
        report.add(
            f"manifest.json: plugin {code} {version} is needed, {plugin.version} is installed; "
            "lines cannot be recomputed"
        )
        return None
    try:
        params = plugin.load_parameters(parameters)
    except ValidationError as exc:
        report.add(f"manifest.json: methodology parameters are not valid ({exc.messages})")
        return None
    return plugin, params


def _rows(archive: zipfile.ZipFile) -> Iterator[list[str]]:
    with archive.open(package.LINES) as member:
        yield from csv.reader(io.TextIOWrapper(member, encoding="utf-8", newline=""))


def _check_lines(archive: zipfile.ZipFile, manifest: dict[str, Any], report: Report) -> None:
    loaded = _methodology(manifest, report)
    rows = _rows(archive)
    try:
        header = next(rows, None)
    except _UNREADABLE as exc:
        report.add(f"lines.csv: cannot be read ({exc})")
        return
    if header != list(package.COLUMNS):
        report.add(f"lines.csv: header is {header}, expected {list(package.COLUMNS)}")
        return
    total_g = 0
    participants: set[str] = set()
    number = 0
    try:
        for number, row in enumerate(rows, start=1):
            where = f"lines.csv row {number}"
            if len(row) != len(package.COLUMNS):
                report.add(f"{where}: {len(row)} fields, expected {len(package.COLUMNS)}")
                continue
            values = dict(zip(package.COLUMNS, row, strict=True))
            where += f" (reduction {values['reduction_ref']})"
            participants.add(values["participant"])
            stated = _stated(values, where, report)
            if stated is None:
                continue
            total_g += stated["reduction_g"]
            if loaded is not None:
                _recompute(loaded, values, stated, where, report)
    except _UNREADABLE as exc:
        report.add(f"lines.csv row {number + 1}: cannot be read ({exc})")
        return
    report.lines = number
    _check_totals(manifest, number, len(participants), total_g, report)


def _stated(values: dict[str, str], where: str, report: Report) -> dict[str, Any] | None:
    try:
        stated: dict[str, Any] = {name: int(values[name]) for name in _RECOMPUTED}
        stated["capped"] = _flag(values["capped"])
        stated["self_reported"] = _flag(values["self_reported"])
        stated["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
        stated["quantities"] = json_depth.loads(values["quantities"])
    except (ValueError, TypeError) as exc:
        report.add(f"{where}: unreadable value ({exc})")
        return None
    if not isinstance(stated["quantities"], dict):
        report.add(f"{where}: quantities are {_kind(stated['quantities'])}, not an object")
        return None
    if stated["occurred_at"].utcoffset() is None:
        report.add(f"{where}: occurred_at has no time zone")
        return None
    return stated


def _flag(text: str) -> bool:
    if text not in {"true", "false"}:
        raise ValueError(f"{text!r} is not true or false")
    return text == "true"


def _recompute(
    loaded: tuple[type[Methodology], Any],
    values: dict[str, str],
    stated: dict[str, Any],
    where: str,
    report: Report,
) -> None:
    plugin, params = loaded
    if values["activity_kind"] != plugin.activity_kind:
        report.add(f"{where}: activity kind {values['activity_kind']!r} is not {plugin.code}'s")
        return
    try:
        activity = plugin.build_activity(
            stated["quantities"], stated["occurred_at"], self_reported=stated["self_reported"]
        )
        result = plugin.quantify(activity, params)
    except (ValidationError, QuantificationError, ValueError, TypeError) as exc:
        report.add(f"{where}: cannot be recomputed ({exc})")
        return
    for name in (*_RECOMPUTED, "capped"):
        if getattr(result, name) != stated[name]:
            report.add(f"{where}: {name} is {stated[name]}, recomputed {getattr(result, name)}")


def _check_totals(
    manifest: dict[str, Any], lines: int, participants: int, total_g: int, report: Report
) -> None:
    found = {
        "activities": lines,
        "participants": participants,
        "total_g": total_g,
        "total_tonnes": str(package.tonnes(total_g)),
    }
    for name, value in found.items():
        if manifest.get(name) != value:
            report.add(f"manifest.json: {name} is {manifest.get(name)!r}, the lines give {value!r}")
