"""The plugin docs stay true: every hook is documented with its signature and tested, every environment switch
is documented and tested, and the tutorial's files make a plugin that installs, lists and trains.

The plugin tutorial (docs/plugins/tutorial.md) and reference (docs/plugins/reference.md) hold what CONTRIBUTING.md
held before the docs site; CONTRIBUTING.md keeps the contributor's set-up. The datasette pattern: adding a hook
to ganzoo/registry/hookspecs.py (or a switch to ganzoo/registry/discovery.py) fails here until the reference
shows it and HOOK_TESTS (or SWITCH_TESTS) names a test that exercises it.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_ganzoo

import ganzoo
from ganzoo.registry import hookspecs

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "CONTRIBUTING.md"
TUTORIAL = ROOT / "docs" / "plugins" / "tutorial.md"
REFERENCE = ROOT / "docs" / "plugins" / "reference.md"
TESTS = ROOT / "tests"

HOOK_TESTS: dict[str, list[str]] = {
    "register_models": [
        "test_registry.py::test_builtins_are_registered",
        "test_example_plugin.py::test_list_and_plugins_show_it",
    ],
    "register_losses": [
        "test_entry_points.py::test_broken_plugin_is_reported_and_skipped",
        "test_example_plugin.py::test_train_its_model_with_its_loss_on_its_dataset",
    ],
    "register_datasets": [
        "test_example_plugin.py::test_train_its_model_with_its_loss_on_its_dataset",
        "test_contract.py::test_a_dataset_of_another_shape_fails",
    ],
    "register_feature_extractors": [
        "test_contributing.py::test_the_tutorial_plugin_installs_lists_trains_and_passes_its_tests",
    ],
    "register_callbacks": [
        "test_contributing.py::test_the_tutorial_plugin_installs_lists_trains_and_passes_its_tests",
        "test_callbacks.py::test_a_plugin_callback_is_turned_on_by_name_and_resumes_with_its_state",
    ],
    "register_commands": [
        "test_entry_points.py::test_plugin_command_is_added",
        "test_example_plugin.py::test_its_command_runs",
    ],
}
"""For each hook, tests that fail if ganzoo stops calling it: a plugin's records (or command) must show."""

SWITCH_TESTS: dict[str, list[str]] = {
    "GANZOO_LOAD_PLUGINS": [
        "test_entry_points.py::test_load_plugins_switch_limits_third_party",
        "test_plugin_switches.py::test_load_plugins_restricts_third_party_by_entry_point_name",
    ],
    "GANZOO_STRICT_PLUGINS": [
        "test_entry_points.py::test_strict_switch_raises_for_plugin_authors",
        "test_plugin_switches.py::test_strict_raises_for_each_kind_of_plugin_failure",
    ],
    "GANZOO_TRACE_PLUGINS": [
        "test_registry.py::test_trace_switch_prints_hook_calls",
        "test_plugin_switches.py::test_trace_shows_each_hook_call_and_its_plugin_from_the_cli",
    ],
}


def hook_signatures() -> dict[str, str]:
    """``{"register_models": "def register_models(register)"}`` for every hook specification."""
    found = {}
    for name, function in vars(hookspecs).items():
        if callable(function) and hasattr(function, "ganzoo_spec"):
            parameters = ", ".join(inspect.signature(function).parameters)
            found[name] = f"def {name}({parameters})"
    return found


def test_hook_specifications_are_found():
    assert set(hook_signatures()) >= {"register_models", "register_commands"}


@pytest.mark.parametrize("hook", sorted(hook_signatures()))
def test_every_hook_is_documented_with_its_signature(hook):
    signature = hook_signatures()[hook]
    assert signature in REFERENCE.read_text(), f"docs/plugins/reference.md does not show `{signature}`: document it"


def test_every_hook_is_in_the_tutorial_module():
    module = tutorial_files()["ganzoo_foo/__init__.py"]
    for hook, signature in hook_signatures().items():
        assert f"@ganzoo.hookimpl\n{signature}:" in module, f"the tutorial's __init__.py does not implement {hook}"


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def check_registry(registry: dict[str, list[str]], names: set[str], what: str) -> None:
    missing = sorted(names - set(registry))
    assert not missing, f"{what} {missing} {'has' if len(missing) == 1 else 'have'} no test: add one and list it here"
    for name in names:
        assert registry[name], f"{what} {name} has no test"
        for entry in registry[name]:
            filename, _, function = entry.partition("::")
            path = TESTS / filename
            assert path.is_file(), f"{entry}: no such test file"
            assert function in defined_tests(path), f"{entry}: no such test function"
            assert name in path.read_text(), f"{entry}: {filename} never mentions {name}"


def test_every_hook_has_a_test():
    check_registry(HOOK_TESTS, set(hook_signatures()), "hook")


def environment_switches() -> set[str]:
    source = (ROOT / "ganzoo" / "registry" / "discovery.py").read_text()
    return set(re.findall(r"GANZOO_[A-Z_]+", source))


def test_every_switch_is_documented_and_tested():
    switches = environment_switches()
    assert switches == {"GANZOO_LOAD_PLUGINS", "GANZOO_STRICT_PLUGINS", "GANZOO_TRACE_PLUGINS"}
    guide = REFERENCE.read_text()
    for switch in switches:
        assert f"| `{switch}` |" in guide, f"docs/plugins/reference.md's switch table does not document {switch}"
    check_registry(SWITCH_TESTS, switches, "environment switch")


def test_the_set_up_command_is_the_readmes():
    readme = (ROOT / "README.md").read_text()
    command = readme.split("<!-- test-command -->", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    assert f"```bash\n{command}\n```" in GUIDE.read_text()


# --- the tutorial, followed to the letter ------------------------------------------------------------------------


def tutorial_files() -> dict[str, str]:
    """The code blocks that the tutorial marks ``<!-- file: PATH -->``, by path."""
    pattern = re.compile(r"<!-- file: (?P<path>[\w./-]+) -->\n```\w*\n(?P<body>.*?)\n```\n", re.DOTALL)
    return {m["path"]: m["body"] + "\n" for m in pattern.finditer(TUTORIAL.read_text())}


def test_the_tutorial_has_every_file_of_a_plugin():
    assert set(tutorial_files()) == {
        "pyproject.toml", "ganzoo_foo/__init__.py", "ganzoo_foo/nets.py", "ganzoo_foo/loss.py",
        "ganzoo_foo/data.py", "ganzoo_foo/extractor.py", "ganzoo_foo/callback.py", "tests/test_foo.py",
    }


def test_the_tutorial_plugin_installs_lists_trains_and_passes_its_tests(tmp_path):
    """A new user, with nothing but the tutorial: create, install, list, train, sample, test the plugin."""
    folder = tmp_path / "ganzoo-foo"
    for relative, text in tutorial_files().items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), str(folder)],
        capture_output=True, text=True,
    )
    assert installed.returncode == 0, installed.stderr

    listed = run_ganzoo(site, "list", "--json")
    assert listed.returncode == 0 and "warning" not in listed.stderr, listed.stderr
    assert {"name": "foo-mlp", "plugin": "foo"}.items() <= {r["name"]: r for r in json.loads(listed.stdout)}[
        "foo-mlp"
    ].items()
    plugins = {p["name"]: p for p in json.loads(run_ganzoo(site, "plugins", "--json").stdout)}
    assert plugins["foo"]["version"] == "0.1.0" and plugins["foo"]["error"] is None
    assert plugins["foo"]["hooks"] == sorted(hook_signatures())
    assert plugins["foo"]["registered"] == {
        "models": ["foo-mlp"], "losses": ["smoothed-ns"], "datasets": ["two-moons"], "extractors": ["foo-points"],
        "callbacks": ["foo-fake-stats"],
    }
    plain = run_ganzoo(site, "plugins", "--no-builtins")  # the line the guide shows, as the command prints it
    line = next(row for row in plain.stdout.splitlines() if row.startswith("foo\t"))
    assert " ".join(line.split()) in " ".join(TUTORIAL.read_text().split()), f"the tutorial should show: {line!r}"
    info = json.loads(run_ganzoo(site, "info", "foo-mlp", "--json").stdout)
    assert info["sample_shapes"] == ["2"] and info["datasets"] == ["grid-25", "ring-8", "two-moons"]
    extractors = run_ganzoo(site, "list", "--extractors", "--json")
    assert "register_feature_extractors" in plugins["foo"]["hooks"] and "foo-points" in extractors.stdout

    out = tmp_path / "run"
    trained = run_ganzoo(site, "train", "foo-mlp", "--steps", "3", "--batch-size", "16", "--device", "cpu",
                         "--out", str(out), "--quiet", "--callback", "foo-fake-stats",
                         "--callback-option", "foo-fake-stats.every=2", OMP_NUM_THREADS="1")
    assert trained.returncode == 0, trained.stderr
    config = json.loads((out / "export" / "config.json").read_text())
    assert (config["model"], config["dataset"], config["loss"]) == ("foo-mlp", "two-moons", "smoothed-ns")
    assert config["training"]["steps"] == 3 and config["training"]["callbacks"] == ["foo-fake-stats"]
    stats = [json.loads(line) for line in (out / "fake-stats.jsonl").read_text().splitlines()]
    assert [s["step"] for s in stats] == [2, 3] and stats[0]["std"] > 0  # every 2 steps, and at the last
    assert all(isinstance(s["loss_d"], float) for s in stats)  # run.step_metrics
    assert config["training"]["callback_options"] == {"foo-fake-stats": {"every": 2}}

    hello = run_ganzoo(site, "foo-hello", "--name", "reader")
    assert hello.returncode == 0 and "hello reader, from ganzoo-foo" in hello.stdout

    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests"], cwd=folder, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"},
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    callback_checks = tuple(f"callback:foo-fake-stats:{aspect}" for aspect in ("options", "events", "resume"))
    for check in ("model:foo-mlp:train", "loss:smoothed-ns:values", "dataset:two-moons:load", *callback_checks):
        assert f"test_ganzoo_contract[{check}] PASSED" in tested.stdout


# --- the field reference, generated from the records --------------------------------------------------------------


def spec_table_tool():
    loader = importlib.util.spec_from_file_location("spec_table", ROOT / "tools" / "spec_table.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def test_every_field_of_every_record_has_a_docstring():
    assert spec_table_tool().missing_docs() == [], "write a docstring under each field in ganzoo/registry/records.py"


def test_the_field_reference_is_what_the_records_generate():
    tool = spec_table_tool()
    text = REFERENCE.read_text()
    shown = text[text.index(tool.START) + len(tool.START) : text.index(tool.END)].strip()
    assert shown == tool.table(), "docs/plugins/reference.md's field reference is stale: run python tools/docs_pages.py"


def test_the_field_reference_covers_every_record_ganzoo_exports():
    exported = {name for name in ganzoo.__all__ if name.endswith("Spec")}
    assert all(dataclasses.is_dataclass(getattr(ganzoo, name)) for name in exported)
    shown = {record.__name__ for record in spec_table_tool().RECORDS}
    assert exported == shown, "add the record to RECORDS in tools/spec_table.py"


def test_the_weights_snippet_keeps_the_moving_average(tmp_path, monkeypatch):
    """The guide's snippet, run on an export trained with the EMA: the file it writes holds the average as the
    average (``generator_ema.*``), and an ``ema=`` that contradicts what ganzoo.load gave is refused."""
    import torch

    from ganzoo.cards.folder import write_generator_weights
    from ganzoo.errors import ConfigError
    from ganzoo.training import TrainConfig, train

    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(encoding="utf-8"), re.S)
    (snippet,) = [block for block in blocks if "write_generator_weights(" in block and "ganzoo.load(" in block]
    result = train(TrainConfig("mlp-gan", dataset="ring-8", steps=4, batch_size=16, ema=100.0, quiet=True,
                               device="cpu", out=tmp_path / "runs" / "moons"))
    assert result.export_dir == tmp_path / "runs" / "moons" / "export"
    (tmp_path / "ganzoo_foo" / "weights").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    exec(snippet.replace('"foo-mlp"', '"mlp-gan"'), {})  # the plugin's model name is the tutorial's; mlp-gan here
    written = tmp_path / "ganzoo_foo" / "weights" / "foo-mlp-moons.safetensors"
    average, loaded = ganzoo.load(str(written)), ganzoo.load("runs/moons/export")
    assert loaded.ema and average.ema  # stored as the average, so it loads as one
    for name, value in loaded.generator.state_dict().items():
        assert torch.equal(value, average.generator.state_dict()[name]), name
    with pytest.raises(ConfigError, match=r"ema=False, but ganzoo.load gave this generator as its moving average"):
        write_generator_weights(tmp_path / "wrong.safetensors", loaded.generator, model="mlp-gan",
                                config=loaded.config, ema=False)
    trained = ganzoo.load("runs/moons/export", ema=False)
    write_generator_weights(tmp_path / "trained.safetensors", trained.generator, model="mlp-gan",
                            config=trained.config)  # left out: it follows what ganzoo.load gave
    assert not ganzoo.load(str(tmp_path / "trained.safetensors")).ema


def test_help_on_the_hook_specifications_lists_every_hook():
    import pydoc

    from ganzoo.registry import hookspecs as specs

    text = pydoc.render_doc(specs, renderer=pydoc.plaintext)
    hooks = [name for name in dir(specs) if name.startswith("register_")]
    assert len(hooks) >= 6
    for hook in hooks:
        assert f"{hook}(" in text, hook


def test_the_plugin_dev_extra_installs_what_ganzoo_testing_needs():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11: the test extra installs tomli
        import tomli as tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(requirement.startswith("pytest") for requirement in extras["plugin-dev"])
    assert 'pip install "ganzoo[plugin-dev]"' in TUTORIAL.read_text(encoding="utf-8")
