"""What the trainer writes, and the helpers it writes with.

Checkpoints atomically, zoo weights files byte for byte the same each time, card front matter, grids and curves.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.cards.card import dump_front_matter, parse_front_matter
from ganzoo.cards.folder import write_generator_weights
from ganzoo.errors import ConfigError
from ganzoo.io.imaging import make_grid, save_samples
from ganzoo.registry.records import call_with_accepted
from ganzoo.training.callbacks.plots import nice_ticks, plot_curves
from ganzoo.training.checkpoint import load_checkpoint, save_checkpoint


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    minimal = {"run": {"model": "mlp-gan"}, "parts": {}, "model_config": {}}  # what load_checkpoint requires
    save_checkpoint(path, {**minimal, "step": 1})

    def broken_save(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {**minimal, "step": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    path.write_bytes(b"garbage")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_checkpoint(path)


def test_generator_weights_file_for_the_zoo(tmp_path):
    from safetensors import safe_open

    spec = ganzoo.get_model_spec("mlp-gan")
    generator = call_with_accepted(spec.generator, {**spec.config, "sample_shape": (2,)})
    path = write_generator_weights(
        tmp_path / "g.safetensors", generator, model="mlp-gan", config={"latent_dim": 100, "sample_shape": (2,)},
        dtype=torch.float16, metadata={"dataset": "ring-8"},
    )
    with safe_open(str(path), "pt") as file:
        metadata = file.metadata()
        keys = list(file.keys())
        assert file.get_tensor("generator.net.0.weight").dtype == torch.float16
    assert all(k.startswith("generator.") for k in keys)
    assert metadata["format"] == "ganzoo" and metadata["model"] == "mlp-gan" and metadata["dataset"] == "ring-8"
    assert json.loads(metadata["config"]) == {"latent_dim": 100, "sample_shape": [2]}


def test_the_same_weights_always_give_the_same_file(tmp_path):
    """A published sha256 must be reproducible: safetensors' own header order is not stable."""
    import hashlib

    spec = ganzoo.get_model_spec("mlp-gan")
    generator = call_with_accepted(spec.generator, {**spec.config, "sample_shape": (2,)})
    metadata = {f"key{index}": str(index) for index in range(12)}  # enough keys for a hash map to reorder
    digests = set()
    for attempt in range(4):
        path = write_generator_weights(
            tmp_path / f"g{attempt}.safetensors", generator, model="mlp-gan",
            config={"latent_dim": 100, "sample_shape": (2,)}, metadata=metadata,
        )
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
        loaded = ganzoo.load(path)
        assert torch.equal(loaded.generator.net[0].weight, generator.net[0].weight)
    assert len(digests) == 1


def test_front_matter_round_trip():
    metadata = {
        "library_name": "ganzoo",
        "tags": ["ganzoo", "gan", "yes", "3.0", "a: b", "#hash"],
        "license": "cc-by-sa-3.0",
        "empty": [],
        "nested": {"steps": 1500, "ratio": 0.25, "flag": True, "none": None, "inner": {"x": "y z"}},
        "after": "value",
    }
    assert parse_front_matter(dump_front_matter(metadata) + "\n# Title\n") == metadata
    hand_written = "---\nlicense: mit  # a comment\ntags: [gan, ganzoo]\nname: 'it''s'\n---\ntext"
    assert parse_front_matter(hand_written) == {"license": "mit", "tags": ["gan", "ganzoo"], "name": "it's"}
    assert parse_front_matter("# no front matter") == {}


def test_grids_scatters_and_curves(tmp_path):
    images = torch.linspace(-1, 1, 6 * 3 * 4 * 5).reshape(6, 3, 4, 5)
    grid = make_grid(images, nrow=4, padding=1)
    assert grid.shape == (2 * 5 + 1, 4 * 6 + 1, 3) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 0 and grid[0, 0, 0] == 0  # -1 is black, padding is black
    assert make_grid(torch.ones(2, 1, 3, 3), nrow=2).shape[2] == 1
    save_samples(torch.randn(50, 2), tmp_path / "points.png", real=torch.randn(100, 2))
    save_samples(images, tmp_path / "grid.png")
    assert Image.open(tmp_path / "points.png").mode == "RGB"
    assert Image.open(tmp_path / "grid.png").size == (88, 16)  # 6 in a row, padding 2, twice enlarged
    history = [{"step": s, "loss_d": 1 / s, "loss_g": float("nan") if s == 3 else s, "d_real": 0.6, "d_fake": 0.4}
               for s in range(1, 20)]
    plot_curves(history, tmp_path / "curves.png")
    assert Image.open(tmp_path / "curves.png").size == (900, 640)
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 1480, 6) == [0, 500, 1000]
