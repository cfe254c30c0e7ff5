"""Fixtures for the reward type tests: fulfilment contexts and installable fake distributions."""

import importlib
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from rewards import ENTRY_POINT_GROUP, FulfilmentContext, RewardType, load_reward_types

SECRET = b"test-voucher-key-0123456789abcdef"
ISSUED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))

_PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
BUILTIN_ENTRY_POINTS: dict[str, str] = tomllib.loads(_PYPROJECT.read_text())["project"][
    "entry-points"
][ENTRY_POINT_GROUP]


@pytest.fixture(scope="session")
def make_context() -> Callable[..., FulfilmentContext]:
    """Build valid contexts; session-scoped so hypothesis tests may use it too."""

    def make(**overrides: object) -> FulfilmentContext:
        values: dict[str, object] = {
            "redemption_id": 1,
            "offer_id": 10,
            "merchant_id": 100,
            "issued_at": ISSUED_AT,
            "secret": SECRET,
        }
        return FulfilmentContext(**(values | overrides))  # type: ignore[arg-type]

    return make


@pytest.fixture
def context(make_context: Callable[..., FulfilmentContext]) -> FulfilmentContext:
    return make_context()


def write_distribution(
    root: Path, name: str, targets: Mapping[str, str], modules: Mapping[str, str]
) -> None:
    """Lay out an installed distribution the way pip does: modules plus ``*.dist-info``."""
    dist_info = root / f"{name}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{ep} = {target}" for ep, target in targets.items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(dedent(source))


@pytest.fixture(scope="module", autouse=True)
def builtin_entry_points(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Make the built-in types discoverable even before the project is pip-installed.

    Installed, they are found as they are; otherwise a stand-in distribution declares exactly the
    entry points ``pyproject.toml`` does, so the tests still check those declarations.
    """
    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if BUILTIN_ENTRY_POINTS.keys() <= installed:
        yield
        return
    root = tmp_path_factory.mktemp("site")
    write_distribution(root, "tanpuhui_rewards_uninstalled", BUILTIN_ENTRY_POINTS, {})
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        yield


@pytest.fixture(scope="module")
def reward_types(builtin_entry_points: None) -> dict[str, type[RewardType]]:
    return load_reward_types()


@pytest.fixture
def install_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., None]]:
    """Install a fake third-party distribution for one test, then forget its modules."""
    modules_written: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(name: str, targets: Mapping[str, str], modules: Mapping[str, str]) -> None:
        write_distribution(tmp_path, name, targets, modules)
        modules_written.extend(modules)
        importlib.invalidate_caches()  # the directory was on sys.path before these files existed

    yield install
    for module in modules_written:
        sys.modules.pop(module, None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run ``reward_code`` tests for every type, declared by this project or installed."""
    if "reward_code" in metafunc.fixturenames:
        installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
        metafunc.parametrize("reward_code", sorted(BUILTIN_ENTRY_POINTS.keys() | installed))
