"""A published plugin whose name a new built-in takes keeps everything else, and both records stay reachable.

The fixture is the case a release makes: plugin ``acme`` registered a loss ``relativistic-average``
(and a model that trains with it) before ganzoo shipped a built-in loss of that name. The rule is
docs/plugins/reference.md's "Names and clashes": the bare name keeps its first owner (the built-ins load
first), every record answers to ``PLUGIN:NAME``, a model's own names mean its own plugin's records,
and ``ganzoo plugins`` and ``ganzoo list`` say so.
"""

from __future__ import annotations

import json
import warnings
from importlib import metadata

import pytest
from helpers import install_registry
from typer.testing import CliRunner

from ganzoo import plugins
from ganzoo.cli.app import build_app
from ganzoo.errors import PluginError, UnknownNameError
from ganzoo.registry.catalog import Registry
from ganzoo.registry.discovery import PluginWarning
from ganzoo.training import TrainConfig, train
from ganzoo.training.config import resolve

ACME = '''
import ganzoo

@ganzoo.hookimpl
def register_losses(register):
    register(ganzoo.LossSpec(name="relativistic-average", summary="acme's own RaGAN, from before ganzoo had one",
                             builder="ganzoo_plugins.losses.functions:NonSaturatingLoss"))
    register(ganzoo.LossSpec(name="acme-loss", summary="acme's other loss",
                             builder="ganzoo_plugins.losses.functions:HingeLoss"))

@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(
        name="acme-gan", summary="acme's model", generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
        discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator", default_dataset="ring-8",
        config={"latent_dim": 8, "sample_shape": (2,)}, default_loss="relativistic-average",
        losses=("relativistic-average", "acme-loss", "hinge")))
'''
runner = CliRunner()


@pytest.fixture
def acme(plugin_module, monkeypatch):
    """The registry with plugin ``acme`` installed as an entry point, as ``pip install ganzoo-acme`` would."""
    module = plugin_module(ACME)
    found = [metadata.EntryPoint("acme", module, plugins.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(plugins, "_entry_points", lambda: found)
    monkeypatch.delenv("GANZOO_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("GANZOO_STRICT_PLUGINS", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)  # a clash is no failure: nothing is skipped
        registry = Registry.from_plugins()
    install_registry(registry)
    yield registry
    install_registry(None)


def test_a_clash_with_a_builtin_costs_the_plugin_nothing_but_the_bare_name(acme):
    info = acme.plugin("acme")
    assert info.error is None
    assert "acme-gan" in acme.models.names() and "acme-loss" in acme.losses.names()  # its other records stay
    assert acme.losses.get("relativistic-average").plugin == "losses"  # the built-in keeps the bare name
    assert acme.losses.get("acme:relativistic-average").plugin == "acme"  # and both answer to PLUGIN:NAME
    assert acme.losses.get("losses:relativistic-average").plugin == "losses"
    assert info.clashes == ["loss 'relativistic-average' belongs to plugin 'losses'; this plugin's is "
                            "'acme:relativistic-average'"]
    with pytest.raises(UnknownNameError, match="unknown loss 'nobody:relativistic-average'"):
        acme.losses.get("nobody:relativistic-average")


def test_a_plugins_model_trains_with_its_own_record_of_the_clashing_name(acme, tmp_path):
    own = resolve(TrainConfig("acme-gan"))
    assert own.loss_spec.plugin == "acme" and own.loss == "acme:relativistic-average"
    assert resolve(TrainConfig("acme-gan", loss="relativistic-average")).loss_spec.plugin == "acme"
    assert resolve(TrainConfig("acme-gan", loss="hinge")).loss_spec.plugin == "losses"  # what it does not have
    assert resolve(TrainConfig("mlp-gan", dataset="ring-8", loss="relativistic-average")).loss_spec.plugin == "losses"
    result = train(TrainConfig("acme-gan", steps=1, batch_size=8, out=tmp_path / "run", quiet=True, num_samples=4))
    recorded = json.loads((result.export_dir / "config.json").read_text())
    assert recorded["loss"] == "acme:relativistic-average"  # what a rerun or a resume finds again


def test_ganzoo_plugins_and_list_show_the_clash(acme):
    app = build_app()
    shown = runner.invoke(app, ["plugins", "--no-builtins"])
    assert shown.exit_code == 0, shown.output
    (line,) = shown.output.strip().splitlines()
    assert line.startswith("acme\t") and line.endswith(
        "\tok; loss 'relativistic-average' belongs to plugin 'losses'; this plugin's is 'acme:relativistic-average'")
    listed = runner.invoke(app, ["list", "--losses"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert "relativistic-average\tlosses\tRelativistic average loss (RaGAN): each sample against the other " \
           "batch's mean logit." in lines
    assert "acme:relativistic-average\tacme\tacme's own RaGAN, from before ganzoo had one" in lines
    notes = [line for line in lines if line.startswith("note:")]
    assert notes == ["note: loss 'relativistic-average' is registered by plugin 'losses' (the bare name) and "
                     "'acme' as 'acme:relativistic-average'"]
    models = runner.invoke(app, ["list"])
    assert "acme-gan" in models.output and models.output.count("note:") == 1
    registered = json.loads(runner.invoke(app, ["plugins", "--json", "--no-builtins"]).stdout)[0]["registered"]
    assert registered["losses"] == ["acme-loss", "acme:relativistic-average"]


def test_a_qualified_name_works_wherever_a_name_does(acme):
    app = build_app()
    shown = runner.invoke(app, ["info", "acme:relativistic-average", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["plugin"] == "acme"
    bare = runner.invoke(app, ["info", "relativistic-average"])
    assert bare.exit_code == 0, bare.output
    assert "plugin:          losses" in bare.output  # the bare name's owner, with the clash in one line
    assert "note: loss 'relativistic-average' is registered by plugin 'losses' (the bare name) and 'acme' as " \
           "'acme:relativistic-average'" in bare.output


def test_strict_mode_still_tells_a_plugin_author_of_the_clash(plugin_module, monkeypatch):
    module = plugin_module(ACME)
    monkeypatch.setattr(plugins, "_entry_points",
                        lambda: [metadata.EntryPoint("acme", module, plugins.ENTRY_POINT_GROUP)])
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="reachable as 'acme:relativistic-average', or choose another name"):
        Registry.from_plugins()


def test_when_the_owner_fails_the_name_passes_to_the_next_plugin(plugin_module, monkeypatch):
    first = plugin_module('''
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(name="shared-gan", summary="first", generator="a.b:c", discriminator="a.b:c"))

@ganzoo.hookimpl
def register_losses(register):
    raise RuntimeError("first breaks later")
''')
    second = plugin_module('''
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(name="shared-gan", summary="second", generator="a.b:c", discriminator="a.b:c"))
''')
    monkeypatch.setattr(plugins, "_entry_points", lambda: [
        metadata.EntryPoint("first", first, plugins.ENTRY_POINT_GROUP),
        metadata.EntryPoint("second", second, plugins.ENTRY_POINT_GROUP),
    ])
    with pytest.warns(PluginWarning, match="first breaks later"):
        registry = Registry.from_plugins()
    assert registry.models.get("shared-gan").summary == "second" and not registry.models.shadowed
