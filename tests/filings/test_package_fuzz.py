"""No package makes verify-filing crash: damaged, hostile and oversized zips all give a report.

Property-based (hypothesis, derandomized, bounded): random byte damage to a real package, and
zips built from arbitrary member names and contents; then the refusals each with its message:
names outside the package, members too large, members that inflate like a zip bomb.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.filings import package
from app.filings.verify import MAX_MEMBER_BYTES, MAX_RATIO, verify_package
from tests.filings.test_package import _files, _package, _rezip, batch

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
__all__ = ["batch"]  # the fixture, shared with the package tests

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=12,
)
member_names = st.sampled_from(
    [package.MANIFEST, package.LINES, package.SUMMARY, "../etc/passwd", "/abs", "a/../../b", ""]
) | st.text(min_size=1, max_size=30)


def _verify(data: bytes):
    report = verify_package(io.BytesIO(data))
    assert all(isinstance(line, str) and line for line in report.discrepancies)
    return report


@pytest.fixture
def original(session, batch) -> bytes:
    return _package(session, batch)


@FUZZ
@given(data=st.data())
def test_any_damage_to_a_package_is_reported_not_raised(original, data):
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.none() | st.integers(0, len(damaged)))
    _verify(bytes(damaged[:cut] if cut is not None else damaged))


@FUZZ
@given(
    members=st.lists(
        st.tuples(
            member_names,
            st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
        ),
        max_size=5,
    ),
    manifest=st.none()
    | st.dictionaries(
        st.sampled_from(["format", "files", "methodology", "root_hash", "totals", "x"]),
        json_values,
    ),
)
def test_any_members_give_a_report(members, manifest):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if manifest is not None:
            archive.writestr(package.MANIFEST, package.canonical_json(manifest))
        for name, content in members:
            if name and name not in archive.namelist():
                archive.writestr(name, content)
    report = _verify(buffer.getvalue())
    assert not report.ok


@FUZZ
@given(manifest=json_values)
def test_any_manifest_json_gives_a_report(session, original, manifest):
    files = _files(original)
    files[package.MANIFEST] = json.dumps(manifest).encode()
    assert not _verify(_rezip(files).getvalue()).ok


def _with(files: dict[str, bytes], extra: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in {**files, **extra}.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_name_outside_the_package_is_refused_with_a_message(original):
    for name in ("../lines.csv", "/etc/cron.d/x", "a/../../b", "..\\..\\evil.bat"):
        report = _verify(_with(_files(original), {name: b"x"}))
        assert f"{name}: a name outside the package (refused)" in report.discrepancies


def test_a_zip_bomb_is_refused_before_it_is_inflated(original):
    bomb = b"0" * (8 << 20)  # 8 MiB of one byte: deflates about a thousand times over
    files = _files(original)
    report = _verify(_with(files, {package.LINES: bomb}))
    assert any(
        line.startswith(f"{package.LINES}: compressed ") and f"more than {MAX_RATIO}" in line
        for line in report.discrepancies
    ), report.discrepancies
    assert report.lines == 0  # nothing was read


def test_a_member_over_its_size_is_refused_and_one_at_the_limit_is_read(original):
    limit = MAX_MEMBER_BYTES[package.MANIFEST]
    files = _files(original)
    at_limit = _with(files, {package.MANIFEST: b" " * limit}, zipfile.ZIP_STORED)
    assert not any("allowed" in line for line in _verify(at_limit).discrepancies)
    past = _with(files, {package.MANIFEST: b" " * (limit + 1)}, zipfile.ZIP_STORED)
    assert f"{package.MANIFEST}: {limit + 1} bytes uncompressed, over the {limit} allowed" in (
        _verify(past).discrepancies
    )


def test_the_command_reports_a_hostile_package_without_a_traceback(original, tmp_path: Path):
    path = tmp_path / "hostile.zip"
    path.write_bytes(_with(_files(original), {"../x": b"x", package.LINES: b"0" * (8 << 20)}))
    result = CliRunner().invoke(main, ["verify-filing", str(path)], env={"DATABASE_URL": ""})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "../x: a name outside" in result.output
