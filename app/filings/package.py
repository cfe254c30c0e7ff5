"""The filing package: lines.csv, summary.html and manifest.json in one zip.

Format ``tanpuhui-filing/1``:

- ``lines.csv``: one row per reduction, in reduction order, with a pseudonymous participant (an
  HMAC of the participant id, kept in ``participant_pseudonyms``) and everything the methodology
  needs to recompute the row (kind, instant, self-reported flag, quantities as stored) beside the
  grams it produced.
- ``summary.html``: the readable page in Chinese.
- ``manifest.json``: batch fields, the methodology's frozen parameters, totals, the rounding rule,
  the SHA-256 of ``lines.csv`` and ``summary.html``, and the root hash: the SHA-256 of the sorted
  ``name:sha256`` lines of the three files, where the manifest's own hash is taken over its
  canonical form without ``root_hash``. The manifest is written in canonical form (sorted keys,
  two-space indent, UTF-8, final newline), so a changed byte anywhere shows as a hash, a root or a
  form mismatch.

Everything here streams: the CSV is written in chunks straight into a hash or a zip member, so
memory stays flat however many lines a batch has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import IO, Any, NamedTuple

FORMAT = "tanpuhui-filing/1"
LINES = "lines.csv"
SUMMARY = "summary.html"
MANIFEST = "manifest.json"
COLUMNS = (
    "reduction_ref",
    "activity_ref",
    "participant",
    "activity_kind",
    "occurred_at",
    "self_reported",
    "quantities",
    "baseline_g",
    "project_g",
    "reduction_g",
    "capped",
)
ROUNDING_RULE = (
    "total_tonnes = sum of reduction_g / 1,000,000, rounded half up to 6 decimal places "
    "(exact: lines are whole grams, 1 g = 0.000001 t)"
)
_CHUNK = 1 << 16
GRAMS_PER_TONNE = Decimal(1_000_000)


class LineRow(NamedTuple):
    """One reduction as the package shows it: instant and quantities already as text."""

    reduction_id: int
    activity_id: int | None
    participant: str
    activity_kind: str
    occurred_at: str  # ISO 8601, UTC, microseconds: 2026-11-30T15:59:00.000000+00:00
    self_reported: bool
    quantities: str  # JSON as stored with the reduction
    baseline_g: int
    project_g: int
    reduction_g: int
    capped: bool


def tonnes(grams: int) -> Decimal:
    """Grams CO2e as tonnes, 6 decimals, half up (the package's one rounding rule)."""
    return (Decimal(grams) / GRAMS_PER_TONNE).quantize(Decimal("0.000001"), ROUND_HALF_UP)


def pseudonym(key: bytes, participant_id: int) -> str:
    """A participant's pseudonym: 128 bits of HMAC-SHA-256, unlinkable without the key."""
    return hmac.new(key, str(participant_id).encode(), hashlib.sha256).hexdigest()[:32]


def _quoted(text: str) -> str:
    """A CSV field as csv.writer would quote it (QUOTE_MINIMAL, RFC 4180)."""
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def lines_csv(rows: Iterable[LineRow]) -> Iterator[bytes]:
    """lines.csv in chunks of about 64 KiB.

    Written by hand rather than with csv.writer (twice as fast for a million rows); only the
    kind and the quantities can need quoting, and they are quoted exactly as csv.writer would.
    """
    parts = [",".join(COLUMNS) + "\n"]
    size = 0
    kinds: dict[str, str] = {}
    for row in rows:
        kind = kinds.get(row.activity_kind)
        if kind is None:
            kind = kinds[row.activity_kind] = _quoted(row.activity_kind)
        line = (
            f"{row.reduction_id},{'' if row.activity_id is None else row.activity_id},"
            f"{row.participant},{kind},{row.occurred_at},"
            f"{'true' if row.self_reported else 'false'},{_quoted(row.quantities)},"
            f"{row.baseline_g},{row.project_g},{row.reduction_g},"
            f"{'true' if row.capped else 'false'}\n"
        )
        parts.append(line)
        size += len(line)
        if size >= _CHUNK:
            yield "".join(parts).encode()
            parts.clear()
            size = 0
    if parts:
        yield "".join(parts).encode()


def sha256_of(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def canonical_json(value: Mapping[str, Any]) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def root_hash(file_hashes: Mapping[str, str], manifest_body: Mapping[str, Any]) -> str:
    """SHA-256 of the sorted "name:sha256" lines, the manifest hashed without its root hash."""
    body = {key: value for key, value in manifest_body.items() if key != "root_hash"}
    entries = {**file_hashes, MANIFEST: hashlib.sha256(canonical_json(body)).hexdigest()}
    listing = "".join(f"{name}:{entries[name]}\n" for name in sorted(entries))
    return hashlib.sha256(listing.encode()).hexdigest()


def finish_manifest(body: dict[str, Any], file_hashes: Mapping[str, str]) -> bytes:
    """The manifest's bytes: ``body`` with the file hashes and the root hash added."""
    manifest = {**body, "format": FORMAT, "rounding": ROUNDING_RULE, "files": dict(file_hashes)}
    manifest["root_hash"] = root_hash(file_hashes, manifest)
    return canonical_json(manifest)


def write_zip(
    target: IO[bytes], *, manifest: bytes, summary: bytes, lines: Iterable[bytes], stamp: datetime
) -> None:
    """The package as a zip, entries dated ``stamp`` so the same batch gives the same bytes."""
    date_time = stamp.timetuple()[:6]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in ((MANIFEST, manifest), (SUMMARY, summary)):
            archive.writestr(_entry(name, date_time), content)
        with archive.open(_entry(LINES, date_time), "w", force_zip64=True) as member:
            for chunk in lines:
                member.write(chunk)


def _entry(name: str, date_time: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


_ROUNDING_ZH = "吨 = 各行克数之和 ÷ 1,000,000，保留 6 位小数，四舍五入（逐行为整克，故为精确值）"


def _json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def summary_html(manifest_body: Mapping[str, Any], lines_sha256: str) -> bytes:
    """The readable page in Chinese, made from the manifest's fields.

    A filed document is written in the filing language once and kept as bytes: it must not change
    with a viewer's language or a later edit of the UI catalogue, so its labels are fixed here.
    """
    methodology = manifest_body["methodology"]
    period = manifest_body["period"]
    rows = [
        ("批次编号", manifest_body["serial"]),
        ("城市", manifest_body["city"]),
        ("申报期", f"{period['start']} 至 {period['end']}（不含），时区 {period['timezone']}"),
        ("方法学", f"{methodology['code']} {methodology['version']}"),
        ("计算插件版本", methodology["plugin_version"]),
        ("低碳行为数", f"{manifest_body['activities']:,}"),
        ("参与者数", f"{manifest_body['participants']:,}"),
        ("减排量合计", f"{manifest_body['total_tonnes']} 吨二氧化碳当量"),
        ("减排量合计（克）", f"{manifest_body['total_g']:,} 克"),
        ("取整规则", _ROUNDING_ZH),
        ("生成时间（UTC）", manifest_body["created_at"]),
        ("lines.csv 的 SHA-256", lines_sha256),
    ]
    parameters = methodology["parameters"]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    params = "".join(
        f"<tr><th>{escape(name)}</th><td><code>{escape(_json_value(parameters[name]))}</code></td></tr>"
        for name in sorted(parameters)
    )
    page = (
        '<!doctype html>\n<html lang="zh-CN">\n<head><meta charset="utf-8">'
        f"<title>碳普惠减排量申报批次 {escape(manifest_body['serial'])}</title></head>\n<body>\n"
        f"<h1>碳普惠减排量申报批次摘要</h1>\n<table>{body}</table>\n"
        f"<h2>方法学参数（已冻结）</h2>\n<table>{params}</table>\n"
        "<p>明细见 lines.csv：每行一项已核证的减排量，参与者以假名标识；"
        "可用 manifest.json 中的方法学参数逐行复算。"
        "manifest.json 记录各文件的 SHA-256 及根哈希。</p>\n"
        "</body>\n</html>\n"
    )
    return page.encode()
