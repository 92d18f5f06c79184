"""One path for what builds a model: ``assemble_config`` for create, load and the trainer, and
``call_with_accepted`` refusing a configuration key that no network accepts."""

from __future__ import annotations

import json
import sys
import types

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

import ganzoo
import ganzoo.models.creating
import ganzoo.models.loading
import ganzoo.models.model_config
from ganzoo.cards.folder import write_generator_weights
from ganzoo.errors import ConfigConflictError, ConfigError
from ganzoo.models.model_config import ModelConfig, assemble_config
from ganzoo.registry.discovery import DEFAULT_PLUGINS, load_plugins
from ganzoo.registry.records import call_with_accepted
from ganzoo.training.config import model_config_for


def use_models(monkeypatch: pytest.MonkeyPatch, *specs: ganzoo.ModelSpec) -> None:
    """A registry with the built-ins and ``specs``, registered by a plugin as a third party would."""

    @ganzoo.hookimpl
    def register_models(register):
        for spec in specs:
            register(spec)

    module = types.ModuleType("ganzoo_test_modelconfig_plugin")
    module.register_models = register_models
    monkeypatch.setitem(sys.modules, module.__name__, module)
    manager, infos = load_plugins(builtins=(*DEFAULT_PLUGINS, module.__name__), entry_points=False)
    monkeypatch.setattr(ganzoo.registry.catalog, "_registry", ganzoo.registry.catalog.Registry(manager, infos))


class FlexibleGenerator(nn.Module):
    """Takes any keyword (``**kwargs``): every configuration key is accepted."""

    def __init__(self, latent_dim: int = 4, **extra):
        super().__init__()
        self.latent_dim, self.sample_shape, self.num_classes = latent_dim, (2,), None
        self.net = nn.Linear(latent_dim, 2)

    def forward(self, z, labels=None):
        return self.net(z)


class SmallDiscriminator(nn.Module):
    def __init__(self, sample_shape=(2,), critic_width: int = 3):
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        self.net = nn.Linear(2, 1)

    def forward(self, x, labels=None):
        return self.net(x).flatten()


def dcgan_mnist() -> ganzoo.ModelSpec:
    return ganzoo.get_model_spec("dcgan-mnist")


# ---------------------------------------------------------------------------------------------
# assemble_config


def test_agreeing_sources_give_one_configuration():
    spec = dcgan_mnist()
    config = assemble_config(
        spec,
        arguments={"width": 8},
        sources=[("the file", {"width": 8, "latent_dim": 100}), ("the record", {"width": 8, "channels": 1})],
    )
    assert dict(config) == {"latent_dim": 100, "channels": 1, "width": 8}
    assert isinstance(config, ModelConfig) and config.model == "dcgan-mnist"
    assert config.networks == (spec.generator, spec.discriminator)


def test_json_lists_and_registry_tuples_agree():
    spec = ganzoo.get_model_spec("mlp-gan")
    config = assemble_config(spec, sources=[("a", {"sample_shape": [1, 28, 28]}), ("b", {"sample_shape": (1, 28, 28)})])
    assert config["sample_shape"] == (1, 28, 28)


@pytest.mark.parametrize(
    ("arguments", "sources", "first", "second"),
    [
        ({}, [("the file's metadata", {"width": 8}), ("the registry record", {"width": 28})],
         "the file's metadata has width=8", "the registry record has width=28"),
        ({"width": 16}, [("the file's metadata", {"width": 8})],
         "the caller's arguments has width=16", "the file's metadata has width=8"),
        ({"width": 16}, [("the registry record", {"width": 28})],
         "the caller's arguments has width=16", "the registry record has width=28"),
    ],
    ids=["file-vs-record", "arguments-vs-file", "arguments-vs-record"],
)
def test_each_disagreement_is_one_line_naming_the_key_and_both_values(arguments, sources, first, second):
    with pytest.raises(ConfigConflictError) as caught:
        assemble_config(dcgan_mnist(), arguments=arguments, sources=sources)
    message = str(caught.value)
    assert first in message and second in message and "\n" not in message
    assert caught.value.key == "width"
    assert isinstance(caught.value, ganzoo.GanzooError)


def test_arguments_that_contradict_the_data_are_a_conflict():
    with pytest.raises(ConfigConflictError, match=r"the options has channels=3 but dataset 'mnist' has channels=1"):
        assemble_config(dcgan_mnist(), arguments={"channels": 3}, channels=1, arguments_label="the options",
                        data_label="dataset 'mnist'")
    # the data still fills a key no explicit source set
    assert assemble_config(dcgan_mnist(), channels=3)["channels"] == 3


def test_presets_apply_to_keys_no_source_set():
    faces = ganzoo.get_model_spec("dcgan-faces")
    assert assemble_config(faces, sources=[("file", {"image_size": 128})])["latent_dim"] == 200
    assert assemble_config(faces, sources=[("file", {"image_size": 128, "latent_dim": 64})])["latent_dim"] == 64


# ---------------------------------------------------------------------------------------------
# the three callers (and the trainer's spelling) all go through assemble_config


@pytest.fixture
def assemble_calls(monkeypatch):
    calls = []
    real = ganzoo.models.model_config.assemble_config

    def spy(spec, **kwargs):
        calls.append((spec.name, kwargs))
        return real(spec, **kwargs)

    monkeypatch.setattr(ganzoo.models.model_config, "assemble_config", spy)
    monkeypatch.setattr(ganzoo.models.creating, "assemble_config", spy)
    monkeypatch.setattr(ganzoo.models.loading, "assemble_config", spy)
    return calls


def test_create_load_and_the_trainer_use_assemble_config(tmp_path, assemble_calls):
    gan = ganzoo.create("dcgan-mnist", width=4)
    assert assemble_calls[-1][1]["arguments"] == {"width": 4}
    folder = ganzoo.save(gan, tmp_path / "export", samples=False)
    ganzoo.load(folder)  # _load_path, an export folder
    assert assemble_calls[-1][1]["sources"][0][0].endswith("config.json")
    ganzoo.load(folder / "model.safetensors")  # _load_path -> _from_file, one file
    assert assemble_calls[-1][1]["sources"][0][0].startswith("the metadata of")
    ganzoo.load("dcgan-mnist", download=False)  # registry weights: file metadata and record
    labels = [label for label, _ in assemble_calls[-1][1]["sources"]]
    assert labels[1] == "the registry record of 'dcgan-mnist.mnist'"
    model_config_for(dcgan_mnist(), {"width": 4}, channels=1)  # the trainer's (and ganzoo.testing's) spelling
    assert assemble_calls[-1][1]["arguments"] == {"width": 4}
    assert len(assemble_calls) == 5


def test_a_registry_record_that_contradicts_its_file_is_refused(tmp_path):
    spec = dcgan_mnist()
    path = write_generator_weights(
        tmp_path / "w.safetensors", ganzoo.create("dcgan-mnist", width=4).generator, model="dcgan-mnist",
        config={"latent_dim": 100, "channels": 1, "width": 4},
    )
    record = ganzoo.WeightsSpec(tag="w", dataset="mnist", sha256="0" * 64, url="https://example.org/w",
                                config={"width": 8})
    with pytest.raises(ConfigConflictError, match=r"width=4 but the registry record of 'dcgan-mnist.w' has width=8"):
        ganzoo.models.loading._from_file(path, str(path), spec=spec, weights=record)


def test_an_export_whose_config_json_contradicts_its_weights_metadata_is_refused(tmp_path):
    folder = ganzoo.save(ganzoo.create("dcgan-mnist", width=8), tmp_path / "w8", samples=False)
    weights = folder / "model.safetensors"
    with safe_open(str(weights), framework="pt") as handle:
        metadata = handle.metadata()
    metadata["config"] = json.dumps({"latent_dim": 100, "channels": 1, "width": 4})
    save_file(load_file(str(weights)), str(weights), metadata=metadata)
    with pytest.raises(ConfigConflictError) as caught:
        ganzoo.load(folder)
    assert "config.json has width=8" in str(caught.value) and "model.safetensors has width=4" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# call_with_accepted: a key is a typo only when no network accepts it


def test_a_typo_in_a_model_specs_config_is_an_error_naming_the_accepted_keys(monkeypatch):
    use_models(monkeypatch, ganzoo.ModelSpec(
        name="typo-gan", summary="t", generator="ganzoo_plugins.dcgan_mnist.nets:DCGANMnistGenerator",
        discriminator="ganzoo_plugins.dcgan_mnist.nets:DCGANMnistDiscriminator",
        config={"latent_dim": 100, "channels": 1, "widht": 28}, default_dataset="mnist",
    ))
    with pytest.raises(ConfigError) as caught:
        ganzoo.create("typo-gan")
    message = str(caught.value)
    assert "model 'typo-gan': none of its networks accepts the key 'widht'" in message
    assert "accepted: channels, latent_dim, width" in message and "\n" not in message


def test_keys_only_one_network_takes_are_routed_to_it():
    config = model_config_for(ganzoo.get_model_spec("dcgan-faces"), {"ngf": 8, "ndf": 4})
    spec = ganzoo.get_model_spec("dcgan-faces")
    generator = call_with_accepted(spec.generator, config)  # ndf belongs to the discriminator
    discriminator = call_with_accepted(spec.discriminator, config)  # latent_dim and ngf to the generator
    assert isinstance(generator, nn.Module) and isinstance(discriminator, nn.Module)
    config["ngff"] = 3  # a key added later is checked at the call too
    with pytest.raises(ConfigError, match="the key 'ngff'"):
        call_with_accepted(spec.generator, config)


def test_a_plain_mapping_is_checked_against_the_builder_and_its_declared_partners():
    spec = dcgan_mnist()
    options = {"latent_dim": 10, "channels": 1, "width": 4}
    with pytest.raises(ConfigError, match=r"it does not accept the key 'latent_dim'; accepted: channels, width"):
        call_with_accepted(spec.discriminator, options)
    assert isinstance(call_with_accepted(spec.discriminator, options, shared_with=(spec.generator,)), nn.Module)
    with pytest.raises(ConfigError, match="none of its networks accepts the key 'wdith'"):
        call_with_accepted(spec.discriminator, {**options, "wdith": 3}, shared_with=(spec.generator,))


def test_a_network_taking_kwargs_accepts_every_key(monkeypatch):
    use_models(monkeypatch, ganzoo.ModelSpec(
        name="kwargs-gan", summary="t", generator=FlexibleGenerator, discriminator=SmallDiscriminator,
        config={"latent_dim": 4, "sample_shape": (2,), "anything": 1}, default_dataset="ring-8",
    ))
    gan = ganzoo.create("kwargs-gan")  # 'anything' goes to the generator's **kwargs
    assert gan.sample(3, seed=0).shape == (3, 2)


def test_the_trainer_refuses_a_spec_config_typo_before_training(monkeypatch, tmp_path):
    use_models(monkeypatch, ganzoo.ModelSpec(
        name="typo-mlp", summary="t", generator="ganzoo_plugins.mlp_gan.nets:MLPGenerator",
        discriminator="ganzoo_plugins.mlp_gan.nets:MLPDiscriminator",
        config={"latent_dim": 8, "sample_shape": (2,), "bn_epsilon": 0.8}, default_dataset="ring-8",
    ))
    config = ganzoo.TrainConfig(model="typo-mlp", steps=1, out=tmp_path / "run", quiet=True)
    with pytest.raises(ConfigError, match="none of its networks accepts the key 'bn_epsilon'"):
        ganzoo.train(config)
    assert not (tmp_path / "run" / "export").exists()


def test_loss_and_extractor_options_are_checked_too():
    with pytest.raises(ConfigError, match=r"loss 'hinge': it does not accept the key 'gp_weight'; accepted: d_steps"):
        ganzoo.get_loss_spec("hinge").build(gp_weight=1.0)
    assert ganzoo.get_loss_spec("wgan-gp").build(gp_weight=2.5).gp_weight == 2.5
    with pytest.raises(ConfigError, match="feature extractor 'random-conv': it does not accept the key 'sede'"):
        ganzoo.get_extractor_spec("random-conv").build(sede=1)


def test_dataset_loaders_may_ignore_the_keywords_ganzoo_offers():
    data = ganzoo.get_dataset_spec("ring-8").load(None, "train", image_size=None)
    assert len(data) > 0 and torch.is_tensor(data.samples)
