"""Both plugin families share one bilingual text type and one entry-point loader, and stay pure."""

import subprocess
import sys

import methodologies
import rewards
from plugins import PluginLoadError, Text


def test_both_families_use_one_text_type() -> None:
    assert methodologies.Text is rewards.Text is Text


def test_both_families_load_errors_are_plugin_load_errors() -> None:
    assert issubclass(methodologies.MethodologyLoadError, PluginLoadError)
    assert issubclass(rewards.RewardTypeLoadError, PluginLoadError)


def test_the_plugin_packages_import_neither_flask_nor_a_database() -> None:
    code = (
        "import sys, methodologies, rewards, plugins\n"
        "methodologies.load_methodologies(); rewards.load_reward_types()\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'sqlalchemy', 'psycopg', 'app'})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
