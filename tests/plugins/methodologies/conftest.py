"""Fixtures for the methodology tests: built-ins discoverable before installation, third parties."""

import importlib
import sys
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from methodologies import ENTRY_POINT_GROUP, Methodology, load_methodologies
from tests.plugins.methodologies.support import BUILTIN_ENTRY_POINTS, write_distribution

THIRDPARTY = Path(__file__).parent / "thirdparty"


@pytest.fixture(scope="module", autouse=True)
def builtin_entry_points(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Make the built-ins discoverable even before the project is pip-installed.

    Installed, they are found as they are; otherwise a stand-in distribution declares exactly the
    entry points ``pyproject.toml`` does, so the tests still check those declarations.
    """
    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if BUILTIN_ENTRY_POINTS.keys() <= installed:
        yield
        return
    root = tmp_path_factory.mktemp("site")
    write_distribution(root, "tanpuhui_methodologies_uninstalled", BUILTIN_ENTRY_POINTS)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        yield


@pytest.fixture(scope="module")
def methodologies(builtin_entry_points: None) -> dict[str, type[Methodology]]:
    return load_methodologies()


@pytest.fixture
def install_thirdparty(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Put one of the example distributions in ``thirdparty/`` on sys.path for one test."""
    modules: list[str] = []

    def install(name: str) -> None:
        folder = THIRDPARTY / name
        monkeypatch.syspath_prepend(str(folder))
        modules.extend(path.stem for path in folder.glob("*.py"))

    yield install
    for module in modules:
        sys.modules.pop(module, None)


@pytest.fixture
def install_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, Mapping[str, str]], None]:
    """Install a made-up distribution (entry points only) for one test."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(name: str, targets: Mapping[str, str]) -> None:
        write_distribution(tmp_path, name, targets)
        importlib.invalidate_caches()  # the directory was on sys.path before the files existed

    return install


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run ``methodology_code`` tests for every methodology, declared here or installed."""
    if "methodology_code" in metafunc.fixturenames:
        installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
        metafunc.parametrize("methodology_code", sorted(BUILTIN_ENTRY_POINTS.keys() | installed))
