"""Text and weights from someone else (issue 28, sections 3, 4 and 6): bounded, checked, one line when refused.

Every test builds its hostile file in a few bytes: an alias bomb small enough that expanding it
would be harmless (so a loader that expands it fails the test instead of the machine), nesting
deep enough to exhaust Python's recursion, a configuration that asks for a model of gigabytes
(whose builder refuses to allocate it for real), a weights file with a large tensor that loading
must never read.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tracemalloc
from pathlib import Path

import pytest
import torch
from helpers import plugin_object
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from typer.testing import CliRunner

import ganzoo
from ganzoo.cards.folder import write_generator_weights
from ganzoo.cards.frontmatter import parse_front_matter
from ganzoo.cli.app import build_app
from ganzoo.errors import CardError, ConfigError, WeightsError
from ganzoo.training.checkpoint import load_checkpoint, save_checkpoint

# Six aliases, each of the one before three times: 729 strings expanded; the same shape nine levels deep is a
# billion. The loader must refuse the first alias, not count on the bomb being small.
ALIAS_BOMB = "---\nlibrary_name: ganzoo\na0: &a0 [lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]\n" for i in range(1, 6)
) + "---\n# A card\n"
DEEP = 5000


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args))


def one_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a GanzooError, said, not a traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return ganzoo.save(ganzoo.create("dcgan-mnist", width=4, seed=0), tmp_path / "run" / "export", samples=False)


def fake_run_folder(out: Path, card: bytes) -> Path:
    """A run folder as the gallery reads it: a log line and an export card."""
    (out / "export").mkdir(parents=True)
    (out / "log.jsonl").write_text('{"step": 1, "loss_d": 1.0}\n', encoding="utf-8")
    (out / "export" / "README.md").write_bytes(card)
    return out


# -------------------------------------------------------------------- 3. untrusted text, without limits


def test_an_alias_bomb_is_refused_by_the_card_loader_the_gallery_and_eval_before_evaluating(
    export, tmp_path, monkeypatch
):
    with pytest.raises(CardError, match=r"README.md: its front matter is refused on line 3: .*anchor \(&a0\)"):
        parse_front_matter(ALIAS_BOMB, source="README.md")

    run_folder = fake_run_folder(tmp_path / "bombed", ALIAS_BOMB.encode())
    line = one_line(run("gallery", str(run_folder), "-o", str(tmp_path / "site")))
    assert "bombed/export/README.md: its front matter is refused" in line and "anchor" in line

    import ganzoo.metrics

    def evaluate(*args, **kwargs):
        raise AssertionError("the evaluation ran before the card it writes into was checked")

    monkeypatch.setattr(ganzoo.metrics, "evaluate_model", evaluate)
    (export / "README.md").write_text(ALIAS_BOMB, encoding="utf-8")
    line = one_line(run("eval", str(export), "--n", "10", "--write-card", "-q"))
    assert "export/README.md: its front matter is refused" in line


def test_deep_nesting_in_a_card_config_json_or_the_weights_metadata_is_one_line(export, tmp_path):
    deep_yaml = "---\nganzoo: " + "[" * DEEP + "]" * DEEP + "\n---\n"
    with pytest.raises(CardError, match=r"README.md: its front matter is refused on line 2: it nests more than 32"):
        parse_front_matter(deep_yaml, source="README.md")

    document = json.loads((export / "config.json").read_text())
    document["training"] = "NESTED"
    (export / "config.json").write_text(json.dumps(document).replace('"NESTED"', "[" * DEEP + "]" * DEEP))
    with pytest.raises(WeightsError, match=rf"config.json nests {DEEP + 1} levels deep, more than the 32"):
        ganzoo.load(export)

    weights = export / "model.safetensors"
    metadata = {"format": "ganzoo", "model": "dcgan-mnist", "config": "[" * DEEP + "]" * DEEP}
    save_file(load_file(str(weights)), str(tmp_path / "deep.safetensors"), metadata=metadata)
    with pytest.raises(WeightsError, match=r"configuration in the metadata of .*deep.safetensors nests 5000 levels"):
        ganzoo.load(tmp_path / "deep.safetensors")


def test_a_card_or_config_json_larger_than_ganzoo_reads_is_refused_before_it_is_parsed(export, tmp_path):
    from ganzoo.cards.folder import read_card
    from ganzoo.io.untrusted import MAX_CARD_BYTES, MAX_JSON_BYTES

    (export / "README.md").write_text("---\nlibrary_name: ganzoo\n---\n" + "x" * MAX_CARD_BYTES, encoding="utf-8")
    with pytest.raises(CardError, match=r"README.md is 1,048,6\d\d bytes long, more than the 1,048,576"):
        read_card(export)
    document = json.loads((export / "config.json").read_text())
    document["training"] = {"padding": "x" * MAX_JSON_BYTES}
    (export / "config.json").write_text(json.dumps(document))
    with pytest.raises(WeightsError, match=r"config.json is 4,19\d,\d{3} bytes long, more than the 4,194,304"):
        ganzoo.load(export)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("format_version", "1.0", r"config.json: field 'format_version' must be an integer, got str \"1.0\""),
        ("config", "latent_dim=100", r"config.json: field 'config' must be a mapping or null, got str \"latent_dim"),
        ("model", ["dcgan-mnist"], r"config.json: field 'model' must be a string, got list"),
        ("num_classes", True, r"config.json: field 'num_classes' must be an integer or null, got bool true"),
    ],
)
def test_a_config_json_field_of_the_wrong_type_names_the_file_and_the_field(export, field, value, message):
    document = json.loads((export / "config.json").read_text())
    document[field] = value
    (export / "config.json").write_text(json.dumps(document))
    with pytest.raises(WeightsError, match=message) as raised:
        ganzoo.load(export)
    assert "\n" not in str(raised.value)


def test_a_checkpoint_missing_a_part_names_the_file_and_the_part(tmp_path):
    from ganzoo.training import TrainConfig, train

    config = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu"}
    result = train(TrainConfig(steps=2, out=tmp_path / "run", **config))
    state = load_checkpoint(result.checkpoint)
    del state["run"]
    save_checkpoint(result.checkpoint, {k: v for k, v in state.items() if k not in ("format", "version")})
    with pytest.raises(ConfigError, match=r"checkpoint .*last.pt: field 'run' is missing") as raised:
        train(TrainConfig(steps=4, out=tmp_path / "run", resume=True, **config))
    assert "\n" not in str(raised.value)

    fixture = Path(__file__).parent / "fixtures" / "checkpoint-v1" / "checkpoint-v1.pt"
    old = torch.load(fixture, weights_only=True)
    del old["torch_rng"]
    torch.save(old, tmp_path / "v1.pt")
    with pytest.raises(ConfigError, match=r"checkpoint .*v1.pt: field 'torch_rng' is missing"):
        load_checkpoint(tmp_path / "v1.pt")
    old = torch.load(fixture, weights_only=True)
    old["run"] = "dcgan-mnist"
    torch.save(old, tmp_path / "v1.pt")
    with pytest.raises(ConfigError, match=r"v1.pt: field 'run' must be a mapping, got str \"dcgan-mnist\""):
        load_checkpoint(tmp_path / "v1.pt")


# -------------------------------------------------------------------- 4. sizes from a file, trusted too early


class GuardedGenerator(nn.Module):
    """A generator that refuses to allocate a large model for real: a file that can make it try fails the test."""

    def __init__(self, latent_dim: int = 8, sample_shape=(1, 4, 4)):
        super().__init__()
        if latent_dim > 10_000 and torch.empty(0).device.type != "meta":
            raise AssertionError(f"asked to allocate a generator with latent_dim={latent_dim} for real")
        self.latent_dim = latent_dim
        self.sample_shape = tuple(sample_shape)
        self.num_classes = None
        self.net = nn.Linear(latent_dim, math.prod(self.sample_shape))

    def forward(self, z, labels=None):
        return self.net(z).reshape(-1, *self.sample_shape)


class TinyDiscriminator(nn.Module):
    def __init__(self, sample_shape=(1, 4, 4)):
        super().__init__()
        self.net = nn.Linear(math.prod(sample_shape), 1)

    def forward(self, x, labels=None):
        return self.net(x.flatten(1)).flatten()


@pytest.fixture
def guarded(use_plugins):
    spec = ganzoo.ModelSpec(name="guarded-gan", summary="Refuses to allocate large.", generator=GuardedGenerator,
                            discriminator=TinyDiscriminator, config={"latent_dim": 8, "sample_shape": (1, 4, 4)})

    @ganzoo.hookimpl
    def register_models(register):
        register(spec)

    use_plugins(plugin_object(register_models=register_models))
    return spec


def test_a_file_whose_config_asks_for_a_huge_model_is_refused_before_it_is_built(guarded, tmp_path):
    path = write_generator_weights(tmp_path / "w.safetensors", GuardedGenerator(), model="guarded-gan",
                                   config={"latent_dim": 3_000_000})  # holds (16, 8); asks for 192 MB
    with pytest.raises(WeightsError) as raised:
        ganzoo.load(path)
    message = str(raised.value)
    assert "tensor 'generator.net.weight' has shape (16, 8)" in message
    assert "the model expects (16, 3000000): the file is for a different configuration" in message
    assert ganzoo.load(write_generator_weights(tmp_path / "ok.safetensors", GuardedGenerator(), model="guarded-gan",
                                               config={"latent_dim": 8})).latent_dim == 8


def test_a_large_weights_file_is_memory_mapped_not_read_whole(export, tmp_path):
    weights = export / "model.safetensors"
    with safe_open(str(weights), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = {**load_file(str(weights)), "discriminator.padding": torch.zeros(8 << 20)}  # 32 MB never needed
    save_file(tensors, str(weights), metadata=metadata)
    single = Path(shutil.copy(weights, tmp_path / "single.safetensors"))
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    for source in (single, export):  # hash-checked, as a download or a user's --sha256 is
        tracemalloc.start()
        try:
            loaded = ganzoo.load(source, sha256=digest)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert loaded.latent_dim == 100
        assert peak < 8 << 20, f"loading {source.name} held {peak / 2**20:.0f} MB: the file was read whole"


# -------------------------------------------------------------------- 6. a card that is not UTF-8


def test_a_card_that_is_not_utf8_is_ignored_where_it_is_not_needed_and_refused_where_it_is(export, tmp_path):
    (export / "README.md").write_bytes(b"---\nlibrary_name: ganzoo\n---\n# Caf\xe9\n")
    result = run("sample", str(export), "-n", "4", "-o", str(tmp_path / "grid.png"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "grid.png").is_file()
    loaded = ganzoo.load(export)
    with pytest.raises(CardError, match=r"the model card .*README.md is not UTF-8 text \(byte 0xe9 at offset 34\)"):
        loaded.card  # noqa: B018 - reading the card is what is tested

    run_folder = fake_run_folder(tmp_path / "latin1", b"---\nlibrary_name: ganzoo\n---\n# Caf\xe9\n")
    line = one_line(run("gallery", str(run_folder), "-o", str(tmp_path / "site")))
    assert "latin1/export/README.md is not UTF-8 text" in line
