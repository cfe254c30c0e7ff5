"""The package and verify-filing: an untouched package passes; one changed byte in any file is
caught and the file or line is named."""

from __future__ import annotations

import csv
import io
import json
import struct
import traceback
import warnings
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.filings import bundling, package
from app.filings.verify import verify_package
from tests.factories import make_user
from tests.filings.support import SETTINGS, make_reduction, make_version, shanghai


@pytest.fixture
def batch(session):
    version = make_version(session)
    people = [make_user(session) for _ in range(3)]
    for number in range(12):
        make_reduction(
            session,
            version,
            people[number % 3],
            shanghai(2026, 7, 1 + number, 12),
            km=f"{2 + number}.5",
            self_reported=number % 4 == 0,
        )
    made = bundling.bundle_month(session, SETTINGS, version.id, shanghai(2026, 7, 1).date())
    assert made is not None
    return made


def _package(session, batch) -> bytes:
    buffer = io.BytesIO()
    bundling.write_package(session, batch, buffer)
    return buffer.getvalue()


def _files(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


def test_an_untouched_package_verifies_and_is_rebuilt_byte_for_byte(session, batch):
    raw = _package(session, batch)
    assert raw == _package(session, batch)
    report = verify_package(io.BytesIO(raw), expected_root=batch.root_hash)
    assert report.ok, report.discrepancies
    assert report.lines == 12
    files = _files(raw)
    assert set(files) == {"manifest.json", "lines.csv", "summary.html"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["activities"] == 12 and manifest["participants"] == 3
    assert "rounded half up to 6 decimal places" in manifest["rounding"]
    assert "减排量合计" in files["summary.html"].decode()
    header, first = files["lines.csv"].decode().splitlines()[:2]
    assert header.split(",") == list(package.COLUMNS)
    assert len(first.split(",")[2]) == 32  # a pseudonym, not the participant's id


def verify_command(path: Path, **env: str | None):
    """``tanpuhui verify-filing PATH`` as the command line runs it (no app is made for it)."""
    environment = {"FLASK_RUN_FROM_CLI": None, **env}
    result = CliRunner().invoke(main, ["verify-filing", str(path)], env=environment)
    assert result.exception is None or isinstance(result.exception, SystemExit), "".join(
        traceback.format_exception(result.exception)
    )
    assert "Traceback" not in result.output
    return result


def test_verify_filing_command_prints_ok(session, batch, tmp_path: Path):
    path = tmp_path / "package.zip"
    path.write_bytes(_package(session, batch))
    result = verify_command(path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 12 lines")


def test_verify_filing_needs_no_configuration_even_in_production(session, batch, tmp_path: Path):
    path = tmp_path / "package.zip"
    path.write_bytes(_package(session, batch))
    result = verify_command(path, TANPUHUI_ENV="production", DATABASE_URL=None, SECRET_KEY=None)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 12 lines")


def _change_byte(content: bytes, old: bytes, new: bytes, occurrence: int = 0) -> bytes:
    index = -1
    for _ in range(occurrence + 1):
        index = content.index(old, index + 1)
    return content[:index] + new + content[index + len(old) :]


def _edit_row(content: bytes, number: int, column: str, value: str) -> tuple[bytes, list[str]]:
    rows = list(csv.reader(io.StringIO(content.decode())))
    rows[number][package.COLUMNS.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(), rows[number]


def test_a_changed_grams_value_names_the_row(session, batch):
    files = _files(_package(session, batch))
    row = next(csv.reader(io.StringIO(files["lines.csv"].decode().splitlines()[5])))
    stated = int(row[package.COLUMNS.index("reduction_g")])
    files["lines.csv"], row = _edit_row(files["lines.csv"], 5, "reduction_g", str(stated + 1))
    report = verify_package(_rezip(files))
    text = "\n".join(report.discrepancies)
    assert f"lines.csv row 5 (reduction {row[0]}): reduction_g is {stated + 1}, recomputed" in text
    assert "lines.csv: SHA-256" in text
    assert "manifest.json: total_g" in text


def test_a_changed_quantity_names_the_row(session, batch):
    files = _files(_package(session, batch))
    files["lines.csv"] = _change_byte(
        files["lines.csv"], b'distance_km"": ""7.5', b'distance_km"": ""8.5'
    )
    report = verify_package(_rezip(files))
    text = "\n".join(report.discrepancies)
    assert "lines.csv row 6 " in text and "recomputed" in text


def test_a_changed_pseudonym_is_caught_by_the_file_hash(session, batch):
    files = _files(_package(session, batch))
    row = files["lines.csv"].split(b"\n")[3]
    pseudonym = row.split(b",")[2]
    swapped = pseudonym[:-1] + (b"0" if pseudonym[-1:] != b"0" else b"1")
    files["lines.csv"] = files["lines.csv"].replace(row, row.replace(pseudonym, swapped), 1)
    report = verify_package(_rezip(files))
    assert any(d.startswith("lines.csv: SHA-256") for d in report.discrepancies)


def test_a_changed_byte_in_the_summary_names_it(session, batch):
    files = _files(_package(session, batch))
    files["summary.html"] = _change_byte(
        files["summary.html"], "参与者".encode(), "参加者".encode()
    )
    report = verify_package(_rezip(files))
    assert [d.split(":")[0] for d in report.discrepancies] == ["summary.html"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b'"total_g": ', b'"total_g":  ', "not in canonical form"),
        (b'"activities": 12', b'"activities": 13', "activities is 13"),
        (b'"city": "', b'"city": "X', "root hash is"),
        (b'"baseline_g_per_pkm": "26.9"', b'"baseline_g_per_pkm": "26.8"', "recomputed"),
    ],
    ids=["whitespace", "count", "city", "parameter"],
)
def test_a_changed_byte_in_the_manifest_names_it(session, batch, old, new, expected):
    files = _files(_package(session, batch))
    files["manifest.json"] = _change_byte(files["manifest.json"], old, new)
    report = verify_package(_rezip(files))
    assert report.discrepancies
    assert any(expected in d for d in report.discrepancies), report.discrepancies
    assert all(d.startswith(("manifest.json", "lines.csv row")) for d in report.discrepancies), (
        report.discrepancies
    )


def test_every_single_byte_change_is_caught(session, batch):
    """Change bytes spread over every file, one at a time: each change is caught."""
    files = _files(_package(session, batch))
    steps = {"manifest.json": 5, "summary.html": 11, "lines.csv": 13}
    for name, content in files.items():
        for index in range(0, len(content), steps[name]):
            changed = bytearray(content)
            changed[index] = (changed[index] + 1) % 256
            report = verify_package(_rezip({**files, name: bytes(changed)}))
            assert not report.ok, (name, index)


def test_a_missing_or_extra_file_is_named(session, batch):
    files = _files(_package(session, batch))
    del files["summary.html"]
    files["notes.txt"] = b"hello"
    text = "\n".join(verify_package(_rezip(files)).discrepancies)
    assert "summary.html: missing" in text and "notes.txt: not part" in text


def test_verify_filing_command_lists_discrepancies(session, batch, tmp_path: Path):
    files = _files(_package(session, batch))
    files["summary.html"] += b" "
    path = tmp_path / "tampered.zip"
    path.write_bytes(_rezip(files).getvalue())
    result = verify_command(path)
    assert result.exit_code == 1
    assert result.output.startswith("summary.html: SHA-256")


# --- packages made to break the reader ---------------------------------------------------------


def _deflated(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _member_data_offset(raw: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        offset = archive.getinfo(name).header_offset
    name_length, extra_length = struct.unpack("<HH", raw[offset + 26 : offset + 30])
    return offset + 30 + name_length + extra_length


@pytest.mark.parametrize("name", ["lines.csv", "manifest.json", "summary.html"])
def test_a_corrupted_member_is_named_not_a_traceback(session, batch, tmp_path: Path, name):
    raw = _deflated(_files(_package(session, batch)))
    start = _member_data_offset(raw, name)
    for at in (0, 1, 7, 40, 200):  # a broken deflate stream, or a wrong CRC, at each
        corrupted = bytearray(raw)
        corrupted[start + at] ^= 0xA5
        path = tmp_path / f"corrupted-{at}.zip"
        path.write_bytes(bytes(corrupted))
        result = verify_command(path)
        assert result.exit_code == 1, result.output
        assert result.output.startswith(name), result.output


def _with_manifest(files: dict[str, bytes], changes: dict[str, object]) -> dict[str, bytes]:
    manifest = {**json.loads(files["manifest.json"]), **changes}
    return {**files, "manifest.json": package.canonical_json(manifest)}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"files": "sha-256"}, "manifest.json: files is a string, not an object"),
        ({"files": ["lines.csv", "summary.html"]}, "manifest.json: files is a list, not an"),
        ({"files": {"lines.csv": 1}}, "manifest.json: files is an object, not an object of"),
        ({"methodology": "bus"}, "manifest.json: methodology is a string, not an object"),
        ({"methodology": {"code": "bus", "parameters": [1]}}, "parameters are a list"),
        ({"files": None}, "manifest.json: files is missing"),
    ],
    ids=["files-string", "files-list", "files-number", "methodology-string", "params-list",
         "files-null"],
)  # fmt: skip
def test_a_manifest_of_the_wrong_shape_is_a_discrepancy(
    session, batch, tmp_path: Path, changes, expected
):
    files = _with_manifest(_files(_package(session, batch)), changes)
    path = tmp_path / "package.zip"
    path.write_bytes(_rezip(files).getvalue())
    result = verify_command(path)
    assert result.exit_code == 1
    assert expected in result.output, result.output


def test_a_line_whose_quantities_are_not_an_object_is_named(session, batch):
    files = _files(_package(session, batch))
    files["lines.csv"], row = _edit_row(files["lines.csv"], 2, "quantities", "[1, 2]")
    text = "\n".join(verify_package(_rezip(files)).discrepancies)
    assert f"lines.csv row 2 (reduction {row[0]}): quantities are a list, not an object" in text


def test_two_members_of_one_name_are_refused(session, batch, tmp_path: Path):
    files = _files(_package(session, batch))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate it writes
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content in files.items():
                archive.writestr(name, content)
            archive.writestr("lines.csv", files["lines.csv"])  # the same again: a reader
            # sees only one of the two
    path = tmp_path / "duplicated.zip"
    path.write_bytes(buffer.getvalue())
    result = verify_command(path)
    assert result.exit_code == 1
    assert "lines.csv: 2 members of this name" in result.output
