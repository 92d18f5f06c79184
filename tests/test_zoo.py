"""The shipped zoo: every weights record, its file and its model card agree.

Parametrised over the registry, so weights a plugin adds later are checked the same way.
The checks are the ones a release must pass: the file is packaged and has the recorded
hash, the card names that hash, the training command, seed, data licence and metrics the
record holds, and the weights carry the model's configuration.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources

import pytest

import ganzoo
from ganzoo.cards.card import parse_front_matter
from ganzoo.cards.weights import read_header
from ganzoo.models.model_config import plain_tuples
from ganzoo.registry.records import DEFAULT_CARD_PACKAGE

ENTRIES = [
    (name, weights)
    for name in ganzoo.list_models()
    for weights in ganzoo.get_model_spec(name).weights
]
IDS = [f"{name}.{weights.tag}" for name, weights in ENTRIES]
BUILTIN_ZOO = {"mlp-gan", "dcgan-mnist", "dcgan-faces", "cgan-mnist"}
SIZE_LIMIT = 20 * 1024 * 1024


def card_text(weights: ganzoo.WeightsSpec) -> str:
    package = weights.card_package or DEFAULT_CARD_PACKAGE
    return (resources.files(package) / weights.card).read_text(encoding="utf-8")


def test_every_builtin_model_ships_default_weights():
    for name in BUILTIN_ZOO:
        spec = ganzoo.get_model_spec(name)
        assert spec.weights, f"{name} ships no pretrained weights"
        assert spec.default_weights in {w.tag for w in spec.weights}


def test_the_shipped_weights_stay_small():
    total = 0
    for _, weights in ENTRIES:
        total += len((resources.files(weights.package) / weights.filename).read_bytes())
    assert total < SIZE_LIMIT, f"shipped weights take {total / 2**20:.1f} MiB"


@pytest.mark.parametrize(("name", "weights"), ENTRIES, ids=IDS)
def test_file_hash_matches_the_record_and_the_card(name, weights):
    data = (resources.files(weights.package) / weights.filename).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == weights.sha256, f"{weights.filename}: file hash {digest} is not the record's"
    assert weights.card, f"{name}.{weights.tag} has no model card"
    assert weights.sha256 in card_text(weights), "the card does not state the weights' sha256"


@pytest.mark.parametrize(("name", "weights"), ENTRIES, ids=IDS)
def test_card_and_registry_agree(name, weights):
    text = card_text(weights)
    front = parse_front_matter(text)
    assert front["library_name"] == "ganzoo"
    assert name in front["tags"]
    assert front["datasets"] == [weights.dataset]
    assert front["ganzoo"]["model"] == name
    for metric, value in weights.metrics.items():
        assert metric in front["metrics"], f"the card's front matter lacks the metric {metric}"
        assert front["ganzoo"]["results"][metric] == pytest.approx(value, rel=1e-3), metric
    assert weights.recipe and weights.recipe.splitlines()[0] in text, "the card lacks the training command"
    assert f"--seed {weights.extra['seed']}" in weights.recipe, "the recipe does not state its seed"
    assert weights.license and weights.license in text, "the card does not state the data licence"
    assert f"ganzoo.load(\"{name}\")" in text, "the card does not show how to load the zoo weights"
    wall_time = re.search(r"^\| wall time \| (.+?) \|$", text, re.MULTILINE)
    assert wall_time and wall_time.group(1) == weights.extra["train_time"], "card and record state other times"
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert pictures, "the card shows no samples"
    cards = resources.files(weights.card_package or DEFAULT_CARD_PACKAGE)
    for picture in pictures:  # every picture ships beside the card (the sample grid, the training animation)
        assert "/" not in picture and (cards / picture).is_file(), f"the card shows {picture}, which is not shipped"


@pytest.mark.parametrize(("name", "weights"), ENTRIES, ids=IDS)
def test_weights_carry_the_recorded_configuration(name, weights):
    # the file's own metadata, not what loading made of it (loading merges the record in)
    metadata = read_header(resources.files(weights.package) / weights.filename, weights.filename).metadata
    assert metadata["model"] == name
    in_file = json.loads(metadata["config"])
    assert set(weights.config) <= set(in_file), "the record names keys the file does not carry"
    for key, value in weights.config.items():
        assert plain_tuples(in_file[key]) == plain_tuples(value), f"{key}: file {in_file[key]!r}, record {value!r}"
    loaded = ganzoo.load(f"{name}.{weights.tag}", download=False)
    assert plain_tuples(dict(loaded.config)) == plain_tuples({**ganzoo.get_model_spec(name).config, **in_file})
    assert loaded.num_params == weights.num_params
    first = loaded.sample(4, seed=3)
    again = loaded.sample(4, seed=3)
    assert first.shape == (4, *loaded.sample_shape)
    assert bool((first == again).all()) and float(first.abs().max()) <= 1.0


def test_info_shows_the_cards_key_facts():
    from typer.testing import CliRunner

    from ganzoo.cli.app import build_app

    name, weights = ENTRIES[0]
    result = CliRunner().invoke(build_app(), ["info", name])
    assert result.exit_code == 0, result.output
    for fact in (weights.sha256, weights.license, f"{name}.{weights.tag}"):
        assert fact in result.output


def test_the_readme_table_shows_the_records_numbers():
    """README rows come from tools/zoo_table.py; regenerate them when weights change."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    loader = importlib.util.spec_from_file_location("zoo_table", root / "tools" / "zoo_table.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    readme = (root / "README.md").read_text(encoding="utf-8")
    shown = readme[readme.index(module.START) : readme.index(module.END)]
    for row in module.table().splitlines():
        assert row in shown, f"README's zoo table lacks or misstates: {row} (run python tools/zoo_table.py --write)"
