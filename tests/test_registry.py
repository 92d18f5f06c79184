"""The registry: queries, suggestions, isolation of failing plugins, duplicates, lazy builders."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import registry_with

import ganzoo
from ganzoo.errors import ConfigError, PluginError, UnknownNameError
from ganzoo.registry.catalog import Registry, natural_key
from ganzoo.registry.discovery import PluginWarning
from ganzoo.registry.records import resolve

BUILTIN_MODELS = ["cgan-mnist", "cnn-gan", "dcgan-faces", "dcgan-mnist", "mlp-gan", "r3gan"]

MODEL_PLUGIN = '''
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(
        name={name!r}, summary="test", generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
        discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator", default_dataset="ring-8"))
'''


def test_builtins_are_registered():
    assert ganzoo.list_models() == BUILTIN_MODELS
    assert set(ganzoo.list_losses()) >= {"minimax", "non-saturating", "least-squares", "hinge", "wgan-gp"}
    assert set(ganzoo.list_datasets()) >= {"mnist", "fashion-mnist", "kmnist", "celeba", "image-folder", "ring-8"}


def test_fnmatch_filter_and_sorting():
    assert ganzoo.list_models("dcgan*") == ["dcgan-faces", "dcgan-mnist"]
    assert ganzoo.list_models("*mnist") == ["cgan-mnist", "dcgan-mnist"]
    assert ganzoo.list_models("nothing*") == []
    assert sorted(["gan10", "gan2", "gan1"], key=natural_key) == ["gan1", "gan2", "gan10"]


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError) as caught:
        ganzoo.get_model_spec("dcgan-mnst")
    assert "Did you mean 'dcgan-mnist'" in str(caught.value)
    with pytest.raises(UnknownNameError, match=r"unknown loss 'hinj'.*'hinge'"):
        ganzoo.get_loss_spec("hinj")
    with pytest.raises(UnknownNameError, match="ganzoo list"):
        ganzoo.get_model_spec("zzzzzzzzzz")


def test_weights_tag_is_split_from_name():
    assert ganzoo.get_model_spec("dcgan-mnist.mnist").name == "dcgan-mnist"
    spec = ganzoo.get_model_spec("mlp-gan")
    with pytest.raises(UnknownNameError):
        spec.get_weights("no-such-tag")


@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_builtin_specs_are_valid(name):
    spec = ganzoo.get_model_spec(name)
    assert spec.plugin and spec.summary and spec.architecture
    assert spec.default_dataset in ganzoo.list_datasets()
    assert spec.default_loss in ganzoo.list_losses()
    for pattern in spec.datasets:
        assert ganzoo.list_datasets(pattern), f"{name} accepts {pattern!r} but no dataset matches"
    assert {"batch_size", "lr", "betas"} <= set(spec.hyperparameters)
    for option in spec.options:
        assert option in spec.config, f"option {option!r} has no default in config"


def test_every_lazy_reference_resolves():
    registry = ganzoo.get_registry()
    references = [s.generator for s in registry.models.records.values()]
    references += [s.discriminator for s in registry.models.records.values()]
    references += [s.builder for s in registry.losses.records.values()]
    references += [s.loader for s in registry.datasets.records.values()]
    references += [s.builder for s in registry.extractors.records.values()]
    for reference in references:
        assert callable(resolve(reference)), reference


def test_listing_is_lazy_and_does_not_import_torch():
    code = (
        "import sys, ganzoo; ganzoo.list_models(); ganzoo.list_datasets(); "
        "heavy = [m for m in ('torch', 'torchvision', 'tensorboard', 'lightning', 'ganzoo.lightning', "
        "'ganzoo_plugins.mlp_gan.nets', 'ganzoo_plugins.cnn_gan.nets') "
        "if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_third_party_cannot_shadow_a_builtin(plugin_module):
    module = plugin_module(MODEL_PLUGIN.format(name="dcgan-mnist"))
    registry = registry_with(module)
    assert registry.models.get("dcgan-mnist").plugin == "dcgan-mnist"  # the bare name stays the built-in's
    plugin = registry.plugin(module.replace("_", "-"))
    assert plugin.error is None  # a clash is no failure: the plugin's record answers to PLUGIN:NAME
    assert registry.models.get(f"{plugin.name}:dcgan-mnist").plugin == plugin.name
    assert plugin.clashes == [f"model 'dcgan-mnist' belongs to plugin 'dcgan-mnist'; this plugin's is "
                              f"'{plugin.name}:dcgan-mnist'"]


def test_duplicate_raises_in_strict_mode(plugin_module, monkeypatch):
    module = plugin_module(MODEL_PLUGIN.format(name="mlp-gan"))
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="mlp-gan"):
        registry_with(module)


def test_plugin_raising_in_hook_is_skipped(plugin_module):
    module = plugin_module(
        MODEL_PLUGIN.format(name="half-registered")
        + '''
@ganzoo.hookimpl
def register_losses(register):
    raise RuntimeError("boom in a hook")
'''
    )
    with pytest.warns(PluginWarning, match="boom in a hook"):
        registry = registry_with(module)
    assert "half-registered" not in registry.models.names()  # all of the plugin's records go
    assert registry.models.names() == BUILTIN_MODELS
    assert "RuntimeError: boom in a hook" in registry.plugin(module.replace("_", "-")).error


def test_plugin_failing_at_import_is_skipped(plugin_module):
    module = plugin_module("raise ImportError('missing dependency xyz')\n")
    with pytest.warns(PluginWarning, match="missing dependency xyz"):
        registry = registry_with(module)
    assert registry.models.names() == BUILTIN_MODELS


def test_misspelled_hook_is_reported(plugin_module):
    module = plugin_module(
        '''
import ganzoo

@ganzoo.hookimpl
def register_model(register):
    pass
'''
    )
    with pytest.warns(PluginWarning, match=r"unknown hook 'register_model' \(did you mean 'register_models'"):
        registry = registry_with(module)
    assert registry.plugin(module.replace("_", "-")).error.startswith("validation")


def test_hookimpl_with_unknown_argument_is_reported(plugin_module):
    module = plugin_module(
        '''
import ganzoo

@ganzoo.hookimpl
def register_models(register, colour):
    pass
'''
    )
    with pytest.warns(PluginWarning, match="colour"):
        registry_with(module)


def test_register_wrong_record_type(plugin_module):
    module = plugin_module(
        '''
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    register({"name": "dict-instead-of-spec"})
'''
    )
    with pytest.warns(PluginWarning, match="takes a ModelSpec, got dict"):
        registry_with(module)


def test_spec_validation():
    with pytest.raises(ConfigError, match="invalid model name"):
        ganzoo.ModelSpec(name="Bad Name", summary="", generator="a:b", discriminator="a:b")
    with pytest.raises(ConfigError, match=r"must be a callable or a 'package\.module:attribute'"):
        ganzoo.ModelSpec(name="ok", summary="", generator="no-colon", discriminator="a:b")
    with pytest.raises(ConfigError, match="sha256"):
        ganzoo.WeightsSpec(tag="t", dataset="mnist", sha256="abc", url="http://x")


def test_duplicate_names_inside_one_plugin(plugin_module):
    module = plugin_module(
        """
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    for _ in range(2):
        register(ganzoo.ModelSpec(name="twice", summary="", generator="a:b", discriminator="a:b"))
"""
    )
    with pytest.warns(PluginWarning, match="'twice' is registered twice by plugin"):
        registry = registry_with(module)
    assert "twice" not in registry.models.names()


def test_trace_switch_prints_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("GANZOO_TRACE_PLUGINS", "1")
    Registry.from_plugins(entry_points=False)
    assert "register_models" in capsys.readouterr().err


def test_trains_on_reads_the_dataset_patterns():
    dcgan = ganzoo.get_model_spec("dcgan-mnist")
    assert dcgan.trains_on("mnist") and dcgan.trains_on("kmnist") and not dcgan.trains_on("ring-8")
    mlp = ganzoo.get_model_spec("mlp-gan")
    # datasets=() and a 'sample_shape' config key: every registered dataset of any shape, nothing unregistered
    assert mlp.datasets == () and mlp.shape_patterns() == ("*",)
    assert mlp.trains_on("ring-8") and mlp.trains_on("celeba") and not mlp.trains_on("anything")


def _spec(**fields):
    return ganzoo.ModelSpec(name="shaped", summary="", generator="a.b:c", discriminator="a.b:d", **fields)


def test_empty_datasets_means_the_registered_datasets_of_the_declared_sample_shapes():
    fixed = _spec(sample_shapes=((1, 28, 28), "2"))
    assert fixed.sample_shapes == ("1x28x28", "2")
    assert [n for n in ganzoo.list_datasets() if fixed.trains_on(n)] == [
        "fashion-mnist", "grid-25", "kmnist", "mnist", "ring-8"]
    faces = _spec(sample_shapes=("*x64x64",), config={"image_size": 64})  # resizing datasets come at image_size
    assert [n for n in ganzoo.list_datasets() if faces.trains_on(n)] == ["celeba", "image-folder"]
    conditional = _spec(sample_shapes=("*",), conditional=True)
    assert conditional.trains_on("mnist") and not conditional.trains_on("image-folder")  # no labels
    nothing = _spec()  # no datasets, no sample_shapes, no 'sample_shape' key: only its default dataset
    assert nothing.shape_patterns() == () and not any(nothing.trains_on(n) for n in ganzoo.list_datasets())
    assert _spec(default_dataset="ring-8").trains_on("ring-8")


def test_create_and_train_refuse_a_dataset_of_a_shape_the_model_does_not_declare(use_plugins, plugin_module, tmp_path):
    use_plugins(plugin_module('''
import ganzoo

@ganzoo.hookimpl
def register_models(register):
    register(ganzoo.ModelSpec(name="points-only", summary="", generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
                              discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
                              config={"latent_dim": 4, "sample_shape": (2,)}, sample_shapes=("2",)))
'''))
    assert ganzoo.create("points-only", dataset="ring-8").sample(2, seed=0).shape == (2, 2)
    refused = r"points-only does not train on dataset 'mnist'; use one of: grid-25, ring-8$"
    with pytest.raises(ConfigError, match=refused):
        ganzoo.create("points-only", dataset="mnist")
    with pytest.raises(ConfigError, match=refused):  # before any data is looked for
        ganzoo.train(ganzoo.TrainConfig(model="points-only", dataset="mnist", steps=1, out=tmp_path / "run"))


@pytest.mark.parametrize("fields, message", [
    ({"sample_shapes": "1x28x28"}, r"sample_shapes must be a tuple; write sample_shapes=\('1x28x28',\)"),
    ({"sample_shapes": ("1, 28, 28",)}, r"sample shape '1, 28, 28' is not a shape like '1x28x28'"),
    ({"datasets": "mnist"}, r"datasets must be a tuple; write datasets=\('mnist',\)"),
])
def test_a_misspelt_shape_or_pattern_is_refused_in_one_line(fields, message):
    with pytest.raises(ConfigError, match=message):
        _spec(**fields)


def test_an_unknown_weights_tag_is_an_error_naming_the_known_tags():
    with pytest.raises(UnknownNameError) as caught:
        ganzoo.get_model_spec("dcgan-mnist.nosuchtag")
    assert "'dcgan-mnist.mnist'" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(UnknownNameError, match=r"dcgan-mnist has weights 'dcgan-mnist.mnist'"):
        ganzoo.get_model_spec("dcgan-mnist.zzzzzzzzzzzzzzzzzzzz")  # nothing close: the tags are listed


def test_a_tag_of_a_model_without_weights_says_so(plugin_module):
    registry = registry_with(plugin_module(MODEL_PLUGIN.format(name="bare-gan")))
    with pytest.raises(UnknownNameError, match="bare-gan has no pretrained weights"):
        registry.models.get("bare-gan").get_weights("any")


def test_model_names_may_not_contain_a_dot(plugin_module):
    with pytest.raises(ConfigError, match=r"invalid model name 'my.gan': a model name may not contain '\.'"):
        ganzoo.ModelSpec(name="my.gan", summary="x", generator="a.b:c", discriminator="a.b:d")
    module = plugin_module(MODEL_PLUGIN.format(name="dotted.gan"))
    with pytest.warns(PluginWarning) as caught:
        registry = registry_with(module)
    message = str(caught[0].message)
    assert f"plugin {module.replace('_', '-')!r}" in message and "'dotted.gan'" in message and "\n" not in message
    assert "dotted.gan" not in registry.models.records
    # the other kinds may still use dots, and a weights tag splits off at the first one
    assert ganzoo.registry.records.LossSpec(name="my.loss", summary="x", builder="a.b:c").name == "my.loss"
    assert ganzoo.registry.catalog.split_weights_name("dcgan-mnist.mnist.v2") == ("dcgan-mnist", "mnist.v2")
