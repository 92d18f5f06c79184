"""Checkpoint format 2 (the parts' state_dicts by name) and reading format-1 checkpoints of earlier ganzoo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from helpers import tiny_mnist_root

from ganzoo.errors import ConfigError
from ganzoo.training import TrainConfig, Trainer, train
from ganzoo.training.checkpoint import CHECKPOINT_VERSION, load_checkpoint, save_checkpoint

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoint-v1" / "checkpoint-v1.pt"
# the settings tests/fixtures/checkpoint-v1/make.py trained with (ganzoo 946685f, checkpoint format 1)
SETTINGS = {"model": "dcgan-mnist", "options": {"width": 4}, "batch_size": 8, "seed": 7, "log_every": 2,
            "checkpoint_every": 3, "sample_every": 100, "quiet": True, "device": "cpu"}


# The fixture's first three steps were computed on another machine, whose kernels round differently in the last
# bits, so it is compared within rounding, not bit for bit (a resume on one machine is bit-exact: test_training).
# Measured after six steps: weights 7.5e-8 apart, Adam's moments 2e-5 apart relative to their size. A resume that
# restores the wrong state lands far outside: restarting the data stream puts the weights 6e-4 apart.
WEIGHTS_ROUNDING = {"rtol": 0.0, "atol": 1e-6}
MOMENTS_ROUNDING = {"rtol": 1e-4, "atol": 1e-6}


def close_states(a: dict, b: dict, tolerance: dict) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k].double(), b[k].double(), **tolerance) for k in a)


def resume_fixture(tmp_path: Path, data: Path, name: str, raw: dict | None = None) -> dict:
    (tmp_path / name / "checkpoints").mkdir(parents=True)
    if raw is None:
        shutil.copyfile(FIXTURE, tmp_path / name / "checkpoints" / "last.pt")
    else:
        torch.save(raw, tmp_path / name / "checkpoints" / "last.pt")
    resumed = train(TrainConfig(data_dir=data, steps=6, out=tmp_path / name, resume=True, **SETTINGS))
    assert (resumed.start_step, resumed.steps) == (3, 6)
    return load_checkpoint(resumed.checkpoint)


def test_a_version_1_checkpoint_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    data = tiny_mnist_root(tmp_path / "data")
    whole = train(TrainConfig(data_dir=data, steps=6, out=tmp_path / "whole", **SETTINGS))
    raw = torch.load(FIXTURE, weights_only=True)
    assert raw["version"] == 1 and raw["step"] == 3 and len(raw["window"]) == 1  # an unlogged row is kept too
    resumed = resume_fixture(tmp_path, data, "old")
    a, b = load_checkpoint(whole.checkpoint)["parts"], resumed["parts"]
    for name in ("generator", "discriminator"):
        assert close_states(a[name], b[name], WEIGHTS_ROUNDING), name
    for name in ("g_update", "d_update"):
        for index, state in a[name]["optimizer"]["state"].items():
            assert close_states(state, b[name]["optimizer"]["state"][index], MOMENTS_ROUNDING), name
    restarted = resume_fixture(tmp_path, data, "restarted", {**raw, "position": 0})  # the data stream lost
    assert not close_states(a["generator"], restarted["parts"]["generator"], WEIGHTS_ROUNDING)
    assert [r["step"] for r in b["counters"]["history"]] == [2, 4, 6]
    # the fixture's first steps ran on another CPU, whose kernels round differently in the last bits: the
    # logged loss (6 decimals) agrees to the weights' tolerance, not bit for bit
    assert a["counters"]["history"][-1]["loss_d"] == pytest.approx(b["counters"]["history"][-1]["loss_d"], abs=1e-5)
    assert resumed["version"] == CHECKPOINT_VERSION == 2  # rewritten as version 2


def test_the_checkpoint_is_the_composition_of_the_stateful_parts(tmp_path):
    trainer = Trainer(TrainConfig("mlp-gan", dataset="ring-8", steps=2, batch_size=16, out=tmp_path / "run",
                                  quiet=True, device="cpu"))
    result = trainer.run()
    saved = load_checkpoint(result.checkpoint)
    parts = trainer.state.stateful_parts()
    assert set(saved["parts"]) == set(parts)
    for name, part in parts.items():  # each part restores from exactly what it wrote
        part.load_state_dict(saved["parts"][name])
    assert saved["parts"]["counters"]["step"] == 2 and saved["run"]["model"] == "mlp-gan"


def test_a_checkpoint_that_lacks_a_part_or_does_not_fit_is_refused_in_one_line(tmp_path):
    config = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu"}
    result = train(TrainConfig(steps=2, out=tmp_path / "run", **config))
    state = load_checkpoint(result.checkpoint)
    del state["parts"]["noise"]
    save_checkpoint(result.checkpoint, {k: v for k, v in state.items() if k not in ("format", "version")})
    with pytest.raises(ConfigError, match=r"holds no noise state") as caught:
        train(TrainConfig(steps=4, out=tmp_path / "run", resume=True, **config))
    assert "\n" not in str(caught.value)
    state = load_checkpoint(result.checkpoint)
    state["parts"]["noise"] = {"rng": state["parts"]["batches"]["rng"], "device": "cpu"}
    state["parts"]["batches"]["rng"] = torch.zeros(3, dtype=torch.uint8)  # not a generator state
    save_checkpoint(result.checkpoint, {k: v for k, v in state.items() if k not in ("format", "version")})
    with pytest.raises(ConfigError, match=r"its batches state cannot be restored"):
        train(TrainConfig(steps=4, out=tmp_path / "run", resume=True, **config))


def test_a_noise_state_from_another_kind_of_device_is_reseeded_and_said(tmp_path, capsys):
    config = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu"}
    result = train(TrainConfig(steps=2, out=tmp_path / "run", **config))
    state = load_checkpoint(result.checkpoint)
    state["parts"]["noise"]["device"] = "cuda"  # as a GPU run would have saved it
    state["parts"]["noise"]["rng"] = torch.zeros(16, dtype=torch.uint8)
    save_checkpoint(result.checkpoint, {k: v for k, v in state.items() if k not in ("format", "version")})
    capsys.readouterr()
    resumed = train(TrainConfig(steps=4, out=tmp_path / "run", resume=True, **config))
    said = capsys.readouterr().err
    assert "note: the noise stream was saved on cuda and cannot continue on cpu" in said  # even with --quiet
    import json

    notices = json.loads((resumed.export_dir / "config.json").read_text())["training"]["notices"]
    assert len(notices) == 1 and "reseeded" in notices[0]
