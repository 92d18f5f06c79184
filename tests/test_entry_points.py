"""Plugin discovery through real entry points of separately installed distributions.

The fixture distributions in tests/fixtures are installed with pip into a private target
directory that is put on PYTHONPATH of a subprocess, so ``importlib.metadata`` sees them
exactly as it sees a ``pip install ganzoo-foo``; the test environment itself is untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_ganzoo

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    for name in ("ganzoo-fixture-good", "ganzoo-fixture-broken"):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
             "--no-build-isolation", "--disable-pip-version-check", "--target", str(target),
             str(FIXTURES / name)],
            check=True, capture_output=True, text=True,
        )
    return target


def test_installed_plugin_model_appears_in_list(plugin_site):
    done = run_ganzoo(plugin_site, "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["fixture-gan"]["plugin"] == "fixture-good"
    assert {"cgan-mnist", "dcgan-faces", "dcgan-mnist", "mlp-gan"} <= set(rows)


def test_broken_plugin_is_reported_and_skipped(plugin_site):
    done = run_ganzoo(plugin_site, "list")
    assert done.returncode == 0
    warning = [line for line in done.stderr.splitlines() if "fixture-broken" in line]
    assert len(warning) == 1 and "a_dependency_nobody_installed" in warning[0]
    plugins = {p["name"]: p for p in json.loads(run_ganzoo(plugin_site, "plugins", "--json").stdout)}
    assert plugins["fixture-good"]["version"] == "1.2.3"
    assert plugins["fixture-good"]["distribution"] == "ganzoo-fixture-good"
    assert plugins["fixture-good"]["hooks"] == ["register_commands", "register_losses", "register_models"]
    assert plugins["fixture-good"]["registered"]["losses"] == ["fixture-loss"]
    assert plugins["fixture-broken"]["error"].startswith("import: ImportError")


def test_plugin_command_is_added(plugin_site):
    done = run_ganzoo(plugin_site, "fixture-hello")
    assert done.returncode == 0, done.stderr
    assert "hello from ganzoo-fixture-good" in done.stdout


def test_load_plugins_switch_limits_third_party(plugin_site):
    done = run_ganzoo(plugin_site, "plugins", "--json", GANZOO_LOAD_PLUGINS="ganzoo-fixture-good")
    names = {p["name"] for p in json.loads(done.stdout)}
    assert "fixture-good" in names and "fixture-broken" not in names
    assert "fixture-broken" not in done.stderr
    none = run_ganzoo(plugin_site, "list", "--json", GANZOO_LOAD_PLUGINS="")
    assert "fixture-gan" not in none.stdout


def test_strict_switch_raises_for_plugin_authors(plugin_site):
    done = run_ganzoo(plugin_site, "list", GANZOO_STRICT_PLUGINS="1")
    assert done.returncode == 1
    assert "fixture-broken" in done.stderr and "a_dependency_nobody_installed" in done.stderr
    assert "Traceback" not in done.stderr
