"""The CLI's list/info/plugins/--version, through CliRunner and the real console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ganzoo
from ganzoo import __version__
from ganzoo.cli.app import build_app

runner = CliRunner()
SCRIPT = shutil.which("ganzoo", path=str(Path(sys.executable).parent)) or shutil.which("ganzoo")


def invoke(*args: str):
    return runner.invoke(build_app(), list(args))


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"ganzoo {__version__}"


def test_list_plain_shows_builtins():
    result = invoke("list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "DATASET", "PRETRAINED", "PLUGIN"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == ["cgan-mnist", "cnn-gan", "dcgan-faces", "dcgan-mnist", "mlp-gan", "r3gan"]
    assert "conditional" in lines[1] and "unconditional" in lines[2]


def test_list_json_is_valid_and_complete():
    result = invoke("list", "--json")
    rows = json.loads(result.output)
    assert {row["name"] for row in rows} == {"cgan-mnist", "cnn-gan", "dcgan-faces", "dcgan-mnist", "mlp-gan", "r3gan"}
    for row in rows:
        assert {"kind", "default_dataset", "pretrained", "plugin"} <= set(row)
    assert json.loads(invoke("list", "dcgan*", "--json").output)[0]["name"] == "dcgan-faces"


@pytest.mark.parametrize(
    "flag,expected", [("--losses", "wgan-gp"), ("--datasets", "ring-8"), ("--extractors", "mnist-classifier")]
)
def test_list_other_tables(flag, expected):
    result = invoke("list", flag, "--json")
    assert result.exit_code == 0
    assert expected in [row["name"] for row in json.loads(result.output)]


def test_info_shows_spec():
    result = invoke("info", "dcgan-faces")
    assert result.exit_code == 0, result.output
    for fact in ("image-folder", "celeba", "non-saturating", "image_size", "latent_dim=200", "Radford", "lr=0.0002"):
        assert fact in result.output
    info = json.loads(invoke("info", "cgan-mnist", "--json").output)
    assert info["kind"] == "conditional" and info["datasets"] == ["fashion-mnist", "kmnist", "mnist"]


def test_unknown_model_is_a_one_line_error():
    result = invoke("info", "dcgan-mnst")
    assert result.exit_code == 1
    assert "Did you mean 'dcgan-mnist'" in result.output
    assert "Traceback" not in result.output


def test_plugins_lists_builtins_with_hooks():
    records = json.loads(invoke("plugins", "--json").output)
    by_name = {r["name"]: r for r in records}
    assert by_name["losses"]["hooks"] == ["register_losses"]
    assert by_name["dcgan-mnist"]["registered"]["models"] == ["dcgan-mnist"]
    assert all(r["distribution"] == "ganzoo" and r["error"] is None for r in records if r["builtin"])


def test_completion_of_model_names():
    from ganzoo.cli.common import complete_model

    expected = sorted(
        full
        for name in ganzoo.list_models("dcgan*")
        for full in [name, *(f"{name}.{w.tag}" for w in ganzoo.get_model_spec(name).weights)]
    )
    assert {"dcgan-faces", "dcgan-mnist"} <= set(expected)
    assert sorted(name for name, _ in complete_model("dcgan")) == expected  # names and name.tag weights
    assert [name for name, _ in complete_model("dcgan-mnist.")] == [e for e in expected if e.startswith("dcgan-mnist.")]
    assert list(complete_model("zzz")) == []


def test_console_script_errors_and_piping():
    assert SCRIPT is not None, "the ganzoo console script is not installed next to this python"
    done = subprocess.run([SCRIPT, "info", "dcgan-mnst"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "Did you mean 'dcgan-mnist'" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2 and "Traceback" not in done.stderr
    listed = subprocess.run([SCRIPT, "list", "--json"], capture_output=True, text=True, check=True)
    assert len(json.loads(listed.stdout)) >= 4


def test_commands_that_list_do_not_import_torch():
    code = (
        "import sys\n"
        "from ganzoo.cli.app import main\n"
        "for argv in (['--help'], ['list'], ['info', 'dcgan-faces'], ['info', 'cnn-gan'], ['info', 'wgan-gp'],\n"
        "             ['info', 'mnist'],\n"
        "             ['info', 'inception-v3'], ['plugins'], ['gallery', '--help'], ['export', '--help'],\n"
        "             ['push', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as done:\n"
        "        assert not done.code, (argv, done.code)\n"
        "heavy = ('torch', 'torchvision', 'numpy', 'tensorboard', 'onnx', 'onnxscript', 'onnxruntime',\n"
        "         'huggingface_hub', 'lightning', 'pytorch_lightning', 'ganzoo.lightning')\n"
        "print('HEAVY', sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout


@pytest.mark.parametrize(
    ("name", "record", "facts"),
    [
        ("wgan-gp", "loss", ["Gulrajani", "gp_weight (float)", "d_steps (int)", "ganzoo_plugins.losses.functions"]),
        ("mnist", "dataset", ["CC BY-SA 3.0", "1, 28, 28", "train, test", "dcgan-mnist"]),
        ("mnist-classifier", "extractor", ["ganzoo_plugins.extractors.mnist_classifier:build", "classifier"]),
        # the weights' digest as the registry records it (test_zoo checks the record against the file)
        ("dcgan-mnist.mnist", "weights", [ganzoo.get_model_spec("dcgan-mnist").weights[0].sha256[:16], "Radford"]),
    ],
)
def test_info_shows_any_kind_of_record(name, record, facts):
    result = invoke("info", name)
    assert result.exit_code == 0, result.output
    for fact in facts:
        assert fact in result.output, fact
    info = json.loads(invoke("info", name, "--json").output)
    assert info["record"] == record and info["name"] == name  # a weights name (model.tag) is its own record


def test_info_suggests_names_of_every_kind():
    for typo, suggestion in (("hinj", "hinge"), ("fashion-mnst", "fashion-mnist"), ("random-cnv", "random-conv")):
        result = invoke("info", typo)
        assert result.exit_code == 1 and f"Did you mean '{suggestion}'" in result.output, result.output
        assert "Traceback" not in result.output
    unknown_tag = invoke("info", "dcgan-mnist.nosuchtag")
    assert unknown_tag.exit_code == 1 and "'dcgan-mnist.mnist'" in unknown_tag.output


def test_info_asks_for_kind_when_a_name_is_registered_twice(monkeypatch):
    import sys
    import types

    from ganzoo.registry.discovery import DEFAULT_PLUGINS, load_plugins

    @ganzoo.hookimpl
    def register_feature_extractors(register):
        register(ganzoo.ExtractorSpec(name="mnist", summary="an extractor named like the dataset", builder="a.b:c"))

    module = types.ModuleType("ganzoo_test_twice_plugin")
    module.register_feature_extractors = register_feature_extractors
    monkeypatch.setitem(sys.modules, module.__name__, module)
    manager, infos = load_plugins(builtins=(*DEFAULT_PLUGINS, module.__name__), entry_points=False)
    monkeypatch.setattr(ganzoo.registry.catalog, "_registry", ganzoo.registry.catalog.Registry(manager, infos))
    both = invoke("info", "mnist")
    assert both.exit_code == 1
    assert "'mnist' is a dataset and an extractor; choose one with --kind (dataset or extractor)" in both.output
    chosen = json.loads(invoke("info", "mnist", "--kind", "extractor", "--json").output)
    assert chosen["record"] == "extractor" and chosen["summary"] == "an extractor named like the dataset"
    wrong = invoke("info", "mnist", "--kind", "loss")
    assert wrong.exit_code == 1 and "not a loss" in wrong.output


def test_a_command_module_that_fails_to_import_says_so(monkeypatch, tmp_path):
    from ganzoo.cli import app as app_module

    (tmp_path / "ganzoo_test_broken_cmd.py").write_text("import ganzoo_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(app_module.COMMAND_MODULES, "ganzoo_test_broken_cmd", ("broken",))
    application = app_module.build_app()
    result = runner.invoke(application, ["broken", "--anything"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: the 'broken' command is unavailable: ganzoo_test_broken_cmd failed to import "
        "(ModuleNotFoundError: No module named 'ganzoo_no_such_dependency')"
    )
    assert "unavailable" in runner.invoke(application, ["--help"]).output
    assert runner.invoke(application, ["list"]).exit_code == 0  # the other commands still work
