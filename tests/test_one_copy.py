"""One copy of each helper: the plain-data normaliser, the per-plugin hook caller, the card package, file names;
(the module rule lives in test_layout.py)."""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import ganzoo
from ganzoo.io.files import jsonable
from ganzoo.registry.discovery import get_plugin_manager, load_plugins, plugin_hook_callers
from ganzoo.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def sources(*folders: str) -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


# The module rule (one concept per module: size and slivers) is checked in tests/test_layout.py.


def test_jsonable_turns_records_into_plain_data():
    value = {
        "shape": (1, 28, 28),
        "nested": types.MappingProxyType({"where": Path("runs/x"), 3: [torch.tensor(0.5), np.float32(2.0)]}),
        "grid": torch.arange(4).reshape(2, 2),
        "name": "mlp",
        "none": None,
    }
    assert jsonable(value) == {
        "shape": [1, 28, 28],
        "nested": {"where": "runs/x", "3": [0.5, 2.0]},
        "grid": [[0, 1], [2, 3]],
        "name": "mlp",
        "none": None,
    }


def test_the_training_config_uses_it():
    options = TrainConfig(model="mlp-gan", options={"where": Path("a/b"), "shape": (2,)}).to_dict()["options"]
    assert options == {"where": "a/b", "shape": [2]}  # the config's own copy kept Path objects


def test_no_module_keeps_its_own_normaliser():
    found = [
        name
        for name, text in sources("ganzoo", "plugins").items()
        if re.search(r"^def _?(plain|jsonable|json_safe|to_json)\(", text, re.MULTILINE)
        and name != "ganzoo/io/files.py"
    ]
    assert found == []


def test_plugin_hook_callers_run_one_plugin_at_a_time():
    calls: list[str] = []

    def plugin(label: str) -> types.ModuleType:
        @ganzoo.hookimpl
        def register_losses(register):
            calls.append(label)

        module = types.ModuleType(label)
        module.register_losses = register_losses
        return module

    manager = get_plugin_manager()
    first, second, other = plugin("first"), plugin("second"), types.ModuleType("other")
    _, infos = load_plugins(manager, builtins=(), entry_points=False)
    for name, module in (("first", first), ("second", second), ("other", other)):
        manager.register(module, name=name)
        infos.append(ganzoo.registry.discovery.PluginInfo(name, name, "test", "0", False, hooks=["register_losses"]))
    infos[2].hooks = []  # "other" implements nothing
    infos[1].error = "import: it failed"  # a failed plugin is never called
    seen = []
    for info, caller in plugin_hook_callers(manager, infos, "register_losses"):
        caller(register=None)
        seen.append((info.name, list(calls)))
        calls.clear()
    assert seen == [("first", ["first"])]


@pytest.mark.parametrize(
    "literal, home",
    [
        ('"ganzoo_plugins.model_cards"', "ganzoo/registry/records.py"),
        ('"config.json"', "ganzoo/cards/folder.py"),
        ('"README.md"', "ganzoo/cards/folder.py"),
        ('"model.safetensors"', "ganzoo/cards/folder.py"),
    ],
)
def test_shared_names_are_spelled_once(literal, home):
    exempt = {home}
    if literal == '"README.md"':
        exempt.add("tools/docs_pages.py")  # the repository's front door, whose examples it lists: not an export's card
    spelled = [name for name, text in sources("ganzoo", "plugins", "tools").items() if literal in text]
    assert [name for name in spelled if name not in exempt] == []


def test_test_files_share_helpers_through_tests_helpers_only():
    tests = {name: text for name, text in sources("tests").items() if "/fixtures/" not in name}
    cross = [name for name, text in tests.items() if re.search(r"^\s*(from|import) test_\w+", text, re.MULTILINE)]
    assert cross == []
    # records come from temporary plugins (conftest's use_plugins), never by setting the registry's insides
    inside = re.compile(r"\._registry\b|\.records\[[^\]]+\]\s*=")
    allowed = {"tests/helpers.py", "tests/test_one_copy.py"}
    poking = [name for name, text in tests.items() if name not in allowed and inside.search(text)]
    assert poking == []
