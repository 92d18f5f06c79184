"""A plugin's builder that crashes is put down to the plugin: one PluginError line, in the API and the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, PluginError
from ganzoo.training import TrainConfig

runner = CliRunner()

PLUGIN = '''
import ganzoo
from ganzoo.errors import ConfigError

MLP = "ganzoo_plugins.mlp_gan.nets:"


def exploding(**config):
    raise RuntimeError("boom in plugin code")


def picky(**config):
    raise ConfigError("crash-picky: width must be even, got 3")


@ganzoo.hookimpl
def register_models(register):
    shared = dict(config={"latent_dim": 4, "sample_shape": (2,)}, default_dataset="ring-8")
    register(ganzoo.ModelSpec(name="crash-g", summary="G raises", generator=exploding,
                              discriminator=MLP + "MLPDiscriminator", **shared))
    register(ganzoo.ModelSpec(name="crash-d", summary="D raises", generator=MLP + "MLPGenerator",
                              discriminator=exploding, **shared))
    register(ganzoo.ModelSpec(name="crash-import", summary="G's module is missing",
                              generator="ganzoo_no_such_module.nets:Generator",
                              discriminator=MLP + "MLPDiscriminator", **shared))
    register(ganzoo.ModelSpec(name="crash-picky", summary="G refuses an option", generator=picky,
                              discriminator=MLP + "MLPDiscriminator", **shared))


@ganzoo.hookimpl
def register_losses(register):
    register(ganzoo.LossSpec(name="crash-loss", summary="raises", builder=exploding))


@ganzoo.hookimpl
def register_datasets(register):
    register(ganzoo.DatasetSpec(name="crash-data", summary="raises", loader=exploding, sample_shape=(2,),
                                embedded=True))
'''


@pytest.fixture
def crashing(plugin_module, use_plugins):
    """The plugin above, as if installed from a distribution 'ganzoo-crash' 0.3.1."""
    name = plugin_module(PLUGIN)
    registry = use_plugins(name)
    info = next(info for info in registry.plugins if info.module == name)
    info.distribution, info.version = "ganzoo-crash", "0.3.1"
    return info


def _expect(info, record: str, role: str, cause: str) -> str:
    return (f"plugin {info.name!r} (ganzoo-crash 0.3.1) failed: {record}: {role}", cause)


@pytest.mark.parametrize(
    ("model", "role", "cause"),
    [
        ("crash-g", "its generator builder", "raised RuntimeError: boom in plugin code"),
        ("crash-d", "its discriminator builder", "raised RuntimeError: boom in plugin code"),
        ("crash-import", "its generator builder 'ganzoo_no_such_module.nets:Generator'",
         "cannot be imported (ModuleNotFoundError: No module named 'ganzoo_no_such_module')"),
    ],
)
def test_create_names_the_plugin_the_record_and_the_exception(crashing, model, role, cause):
    with pytest.raises(PluginError) as caught:
        ganzoo.create(model)
    message = str(caught.value)
    start, end = _expect(crashing, f"model {model!r}", role, cause)
    assert message.startswith(start) and end in message and "\n" not in message


@pytest.mark.parametrize(
    ("arguments", "record", "role"),
    [
        (["crash-g"], "model 'crash-g'", "its generator builder"),
        (["crash-import"], "model 'crash-import'", "its generator builder"),
        (["mlp-gan", "--dataset", "ring-8", "--loss", "crash-loss"], "loss 'crash-loss'", "its builder"),
        (["mlp-gan", "--dataset", "crash-data"], "dataset 'crash-data'", "its loader"),
    ],
)
def test_train_command_gives_one_plugin_error_line(crashing, tmp_path, arguments, record, role):
    result = runner.invoke(build_app(), ["train", *arguments, "--steps", "1", "--out", str(tmp_path / "run"),
                                         "--device", "cpu", "-q"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"error: plugin {crashing.name!r} (ganzoo-crash 0.3.1) failed: {record}: {role}")


@pytest.mark.parametrize(
    ("fields", "record"),
    [
        ({"model": "crash-d", "dataset": "ring-8"}, "model 'crash-d'"),
        ({"model": "mlp-gan", "dataset": "ring-8", "loss": "crash-loss"}, "loss 'crash-loss'"),
        ({"model": "mlp-gan", "dataset": "crash-data"}, "dataset 'crash-data'"),
    ],
)
def test_the_training_api_raises_the_same_plugin_error(crashing, tmp_path, fields, record):
    with pytest.raises(PluginError, match=f"^plugin {crashing.name!r} \\(ganzoo-crash 0.3.1\\) failed: {record}: "):
        ganzoo.train(TrainConfig(**fields, steps=1, out=tmp_path / "run", device="cpu", quiet=True))


def test_a_ganzoo_error_raised_on_purpose_passes_unchanged(crashing):
    with pytest.raises(ConfigError) as caught:
        ganzoo.create("crash-picky")
    assert type(caught.value) is ConfigError
    assert str(caught.value) == "crash-picky: width must be even, got 3"


def test_strict_plugins_re_raises_with_the_traceback(crashing, monkeypatch, tmp_path):
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(RuntimeError, match="boom in plugin code") as caught:
        ganzoo.create("crash-g")
    assert not isinstance(caught.value, PluginError)
    with pytest.raises(ModuleNotFoundError):
        ganzoo.create("crash-import")
    result = runner.invoke(build_app(), ["train", "crash-g", "--steps", "1", "--out", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)  # CliRunner keeps the traceback


def test_a_spec_no_plugin_registered_raises_as_it_is():
    from ganzoo.models.model_config import ModelConfig
    from ganzoo.registry.records import call_with_accepted

    def exploding(**config):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        call_with_accepted(exploding, ModelConfig({}, model="nobody-registered-this", networks=(exploding,)))
