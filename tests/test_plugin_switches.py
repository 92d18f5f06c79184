"""The environment switches of ganzoo/registry/discovery.py, as docs/plugins/reference.md documents them.

tests/test_entry_points.py covers GANZOO_LOAD_PLUGINS by distribution name and GANZOO_STRICT_PLUGINS
for a plugin that fails at import, through real installs; tests/test_registry.py covers a duplicate
name under strict mode and that tracing prints something. Here, in-process with entry points made
from throw-away modules: restricting by entry-point name (with spaces, several names, none), strict
mode for every kind of plugin failure and the accepted flag values, and the trace from the CLI,
naming the plugin each hook call runs.
"""

from __future__ import annotations

import warnings
from importlib import metadata

import pytest
from helpers import run_ganzoo

from ganzoo import plugins
from ganzoo.errors import PluginError
from ganzoo.registry.catalog import Registry
from ganzoo.registry.discovery import PluginWarning

MODEL = '''
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(name={name!r}, summary="", generator="a.b:c", discriminator="a.b:c"))
'''


@pytest.fixture
def entry_points(monkeypatch):
    """Install throw-away modules as ``ganzoo`` entry points: ``install({"ep-name": "module", ...})``."""

    def install(named: dict[str, str]) -> None:
        found = [metadata.EntryPoint(name, module, plugins.ENTRY_POINT_GROUP) for name, module in named.items()]
        monkeypatch.setattr(plugins, "_entry_points", lambda: sorted(found, key=lambda ep: ep.name))

    return install


def models() -> list[str]:
    return Registry.from_plugins().models.names()


def test_load_plugins_restricts_third_party_by_entry_point_name(plugin_module, entry_points, monkeypatch):
    entry_points({"alpha": plugin_module(MODEL.format(name="alpha-gan")),
                  "beta": plugin_module(MODEL.format(name="beta-gan"))})
    assert {"alpha-gan", "beta-gan", "mlp-gan"} <= set(models())
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "beta")
    chosen = set(models())
    assert "beta-gan" in chosen and "alpha-gan" not in chosen
    assert {"mlp-gan", "dcgan-mnist"} <= chosen  # the built-ins always load
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", " alpha , beta ")
    assert {"alpha-gan", "beta-gan"} <= set(models())
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "")
    assert not {"alpha-gan", "beta-gan"} & set(models())
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "gamma")  # a name nothing has: nothing third-party, no error
    assert not {"alpha-gan", "beta-gan"} & set(models())


FAILURES = {
    "import": ("raise ImportError('needs the package xyz')\n", "import: ImportError: needs the package xyz"),
    "unknown hook": ("import ganzoo\n\n@ganzoo.hookimpl\ndef register_model(register):\n    pass\n",
                     "validation: PluginError: unknown hook 'register_model' (did you mean 'register_models'?)"),
    "hook raises": (
        "import ganzoo\n\n@ganzoo.hookimpl\ndef register_losses(register):\n    raise RuntimeError('boom')\n",
        "register_losses: RuntimeError: boom",
    ),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_strict_raises_for_each_kind_of_plugin_failure(kind, plugin_module, entry_points, monkeypatch):
    source, reason = FAILURES[kind]
    entry_points({"shaky": plugin_module(source)})
    with pytest.warns(PluginWarning, match="plugin 'shaky'"):
        registry = Registry.from_plugins()
    assert registry.plugin("shaky").error == reason
    assert "mlp-gan" in registry.models.names()  # everything else still works
    for value in ("1", "true", "YES", "on"):
        monkeypatch.setenv("GANZOO_STRICT_PLUGINS", value)
        with pytest.raises(PluginError, match=r"plugin 'shaky' \(\?\) failed") as caught:
            Registry.from_plugins()
        assert reason in str(caught.value)
    for value in ("0", "", "no"):
        monkeypatch.setenv("GANZOO_STRICT_PLUGINS", value)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            Registry.from_plugins()


def test_trace_shows_each_hook_call_and_its_plugin_from_the_cli(tmp_path):
    traced = run_ganzoo(tmp_path, "list", "--json", GANZOO_TRACE_PLUGINS="1")
    assert traced.returncode == 0
    lines = [line for line in traced.stderr.splitlines() if line.startswith("ganzoo trace: ")]
    assert any(line.startswith("ganzoo trace: register_models(register=") and line.endswith("-> plugin 'mlp-gan'")
               for line in lines), lines[:4]
    assert "ganzoo trace: register_losses in plugin 'losses' returned []" in lines
    assert "ganzoo trace: register_datasets in plugin 'datasets' returned []" in lines
    assert '"mlp-gan"' in traced.stdout  # the trace goes to stderr only: stdout stays machine-readable
    quiet = run_ganzoo(tmp_path, "list", "--json")
    assert "ganzoo trace" not in quiet.stderr and quiet.stdout == traced.stdout


def test_trace_reports_a_hook_that_raises(plugin_module, monkeypatch, capsys):
    module = plugin_module(FAILURES["hook raises"][0])
    monkeypatch.setenv("GANZOO_TRACE_PLUGINS", "1")
    with pytest.warns(PluginWarning):
        Registry.from_plugins(builtins=(*plugins.DEFAULT_PLUGINS, module), entry_points=False)
    name = module.replace("_", "-")
    assert f"ganzoo trace: register_losses in plugin {name!r} raised RuntimeError: boom" in capsys.readouterr().err
