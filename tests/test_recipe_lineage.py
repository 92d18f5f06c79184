"""A weights record's recipe may be a resumed run's lineage: every session's command, in order.

Old records give one command (a string) and still work; a sequence (or a string of one command a line) is
checked and bounded like any input, shown by ``ganzoo info NAME.TAG`` as numbered sessions, and a resumed
run's own card says it was trained in several sessions above their commands.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import plugin_object
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError
from ganzoo.registry.records import MAX_RECIPE_COMMAND_CHARS, MAX_RECIPE_COMMANDS
from ganzoo.training import TrainConfig, train

FIRST = "ganzoo train mlp-gan --dataset ring-8 --steps 500 --seed 0 --out runs/ring"
SECOND = "ganzoo train mlp-gan --dataset ring-8 --steps 900 --out runs/ring --resume"


def weights(recipe):
    return ganzoo.WeightsSpec(tag="ring", dataset="ring-8", sha256="0" * 64, url="https://example.org/w.safetensors",
                              recipe=recipe)


def test_one_command_is_still_a_recipe_and_a_sequence_is_a_lineage():
    assert weights(FIRST).recipe == FIRST and weights(FIRST).lineage == (FIRST,)
    assert weights("").lineage == ()
    both = weights((FIRST, SECOND))
    assert both.recipe == f"{FIRST}\n{SECOND}" and both.lineage == (FIRST, SECOND)
    assert weights([FIRST, SECOND]) == both  # a list is frozen into the same record
    assert weights(f"{FIRST}\n{SECOND}\n").lineage == (FIRST, SECOND)  # one a line, as config.json records it


@pytest.mark.parametrize(("recipe", "message"), [
    ((FIRST, f"{SECOND}\nrm -rf /"), "command 2 of the recipe must be one non-empty line"),
    ((FIRST, "  "), "command 2 of the recipe must be one non-empty line"),
    ((FIRST,) * (MAX_RECIPE_COMMANDS + 1), f"more than {MAX_RECIPE_COMMANDS}"),
    ("\n".join([FIRST] * (MAX_RECIPE_COMMANDS + 1)), f"more than {MAX_RECIPE_COMMANDS}"),
    (("x" * (MAX_RECIPE_COMMAND_CHARS + 1),), f"at most {MAX_RECIPE_COMMAND_CHARS} characters"),
    ((FIRST + "\x1b[2J",), "command 1 of the recipe must be printable"),
    (42, "recipe must be a command \\(a string\\) or a sequence of commands"),
    ((FIRST, 7), "recipe must be a command"),
])
def test_a_bad_lineage_is_a_one_line_error(recipe, message):
    with pytest.raises(ConfigError, match=message):
        weights(recipe)


@pytest.fixture
def lineage_plugin(use_plugins):
    mlp = ganzoo.get_model_spec("mlp-gan")

    @ganzoo.hookimpl
    def register_models(register):
        register(dataclasses.replace(mlp, name="lineage-gan", plugin="", default_weights=None,
                                     weights=(weights((FIRST, SECOND)),)))

    use_plugins(plugin_object(register_models=register_models))


def test_info_name_tag_shows_each_session_in_order(lineage_plugin):
    runner = CliRunner()
    shown = runner.invoke(build_app(), ["info", "lineage-gan.ring"])
    assert shown.exit_code == 0, shown.output
    assert f"trained in 2 sessions, each resuming the one before:\n    1. {FIRST}\n    2. {SECOND}\n" in shown.stdout
    described = json.loads(runner.invoke(build_app(), ["info", "lineage-gan.ring", "--json"]).stdout)
    assert described["lineage"] == [FIRST, SECOND] and described["recipe"] == f"{FIRST}\n{SECOND}"
    single = runner.invoke(build_app(), ["info", "dcgan-mnist.mnist"]).stdout
    assert "  trained: ganzoo train dcgan-mnist " in single and "sessions" not in single


def test_a_resumed_runs_card_shows_its_lineage(tmp_path):
    ring = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu",
            "out": tmp_path / "run"}
    once = train(TrainConfig(steps=2, **ring))
    assert "Trained in" not in (once.export_dir / "README.md").read_text()
    again = train(TrainConfig(steps=3, resume=True, **ring))
    card = (again.export_dir / "README.md").read_text()
    command = json.loads((again.export_dir / "config.json").read_text())["training"]["command"]
    assert len(command.splitlines()) == 2
    assert f"Trained in 2 sessions, each resuming the one before (`--resume`); their commands, in order:\n\n" \
           f"```bash\n{command}\n```" in card
    assert weights(command).lineage == tuple(command.splitlines())  # what a plugin copies into its record
