"""ganzoo train --tensorboard: the curves and grids read back with TensorBoard's own EventAccumulator, a resumed
run continuing the same curves, the command and facts that record it, and the one-line error without the extra."""

from __future__ import annotations

import io
import json
import shutil
import sys

import numpy as np
import pytest
from helpers import crash_at, tiny_mnist_root
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from typer.testing import CliRunner

from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, FolderEscapeError, OutputError
from ganzoo.training import Callback, TrainConfig, train
from ganzoo.training.checkpoint import load_checkpoint, save_checkpoint

SETTINGS = {"model": "dcgan-mnist", "options": {"width": 4}, "batch_size": 8, "log_every": 2, "sample_every": 2,
            "quiet": True, "device": "cpu", "lr": 3e-4}
CURVES = ("loss/D", "loss/G", "D/real", "D/fake", "speed/images_per_s", "lr/G", "lr/D")


def events(folder) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def log_records(out) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_every_log_record_and_every_grid_becomes_an_event(tmp_path):
    data = tiny_mnist_root(tmp_path / "data")
    result = train(TrainConfig(data_dir=data, steps=7, out=tmp_path / "run", tensorboard=True, **SETTINGS))
    found = events(tmp_path / "run" / "tb")
    assert set(CURVES) <= set(found.Tags()["scalars"])
    records = log_records(result.out)
    assert [r["step"] for r in records] == [2, 4, 6, 7]
    for tag, field in (("loss/D", "loss_d"), ("loss/G", "loss_g"), ("D/real", "d_real"), ("D/fake", "d_fake"),
                       ("speed/images_per_s", "images_per_s")):
        curve = found.Scalars(tag)
        assert [e.step for e in curve] == [2, 4, 6, 7], tag
        assert [e.value for e in curve] == pytest.approx([r[field] for r in records], rel=1e-5), tag
    assert [e.value for e in found.Scalars("lr/G")] == pytest.approx([3e-4] * 4)
    images = found.Images("samples")
    assert [e.step for e in images] == [2, 4, 6, 7]  # every --sample-every grid, then the final one
    grids = ["step_000002.png", "step_000004.png", "step_000006.png", "final.png"]
    for event, name in zip(images, grids, strict=True):
        shown = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)).convert("L"))
        assert np.array_equal(shown, np.asarray(Image.open(result.samples_dir / name).convert("L"))), name
    facts = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert facts["tensorboard"] == str(tmp_path / "run" / "tb")
    words = facts["command"].split()  # the equivalent command of a run started from Python
    assert "--tensorboard" in words and "--tensorboard-dir" not in words


def test_a_resumed_run_continues_the_same_curves_without_a_step_twice(tmp_path):
    data = tiny_mnist_root(tmp_path / "data")
    out = tmp_path / "run"
    config = {"data_dir": data, "steps": 10, "out": out, "tensorboard": True, "checkpoint_every": 4, **SETTINGS}
    on_disk = []

    class Watch(Callback):  # runs after the built-ins: the checkpoint of step 4 is written
        def on_step_end(self, run):
            if run.step == 4:
                on_disk.append([e.step for e in events(out / "tb").Scalars("loss/D")])

    with pytest.raises(RuntimeError, match="killed"):
        train(TrainConfig(**config), callbacks=[Watch(), crash_at(7)])
    assert on_disk == [[2, 4]]  # on disk when the checkpoint is: a kill after it loses no event before it
    first = events(out / "tb")
    assert [e.step for e in first.Scalars("loss/D")] == [2, 4, 6]  # step 6 came after the checkpoint at 4

    resumed = {key: value for key, value in config.items() if key != "tensorboard"}  # kept without the flag
    train(TrainConfig(**{**resumed, "resume": True}))
    found = events(out / "tb")
    records = log_records(out)
    assert [r["step"] for r in records] == [2, 4, 6, 8, 10]
    for tag in CURVES:
        assert [e.step for e in found.Scalars(tag)] == [2, 4, 6, 8, 10], tag
    assert [e.value for e in found.Scalars("loss/D")] == pytest.approx([r["loss_d"] for r in records], rel=1e-5)
    assert [e.step for e in found.Images("samples")] == [2, 4, 6, 8, 10]
    assert len(list((out / "tb").glob("events.out.tfevents.*"))) == 2  # one file per session, one curve


RING = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu", "log_every": 1}


def test_a_moved_run_folder_writes_its_events_into_itself(tmp_path):
    original, moved = tmp_path / "original", tmp_path / "moved"
    train(TrainConfig(steps=2, out=original, tensorboard=True, **RING))
    assert load_checkpoint(original / "checkpoints" / "last.pt")["run"]["tensorboard"] == "tb"  # relative
    shutil.copytree(original, moved)
    before = sorted(p.name for p in (original / "tb").iterdir())
    train(TrainConfig(steps=4, out=moved, resume=True, **RING))  # TensorBoard kept without the flag
    assert sorted(p.name for p in (original / "tb").iterdir()) == before  # the original is left alone
    assert [e.step for e in events(moved / "tb").Scalars("loss/D")] == [1, 2, 3, 4]


def test_an_older_checkpoints_absolute_path_is_converted_inside_the_folder_and_refused_outside(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(steps=2, out=out, tensorboard=True, **RING))
    checkpoint = out / "checkpoints" / "last.pt"
    state = load_checkpoint(checkpoint)
    state["run"]["tensorboard"] = str(out / "tb")  # what ganzoo wrote before paths were relative
    save_checkpoint(checkpoint, state)
    train(TrainConfig(steps=3, out=out, resume=True, **RING))
    assert [e.step for e in events(out / "tb").Scalars("loss/D")] == [1, 2, 3]
    elsewhere = tmp_path / "elsewhere"
    state = load_checkpoint(checkpoint)
    for recorded in (str(elsewhere), "../elsewhere"):  # a copied folder's original, or a hostile checkpoint
        state["run"]["tensorboard"] = recorded
        save_checkpoint(checkpoint, state)
        with pytest.raises(FolderEscapeError, match=r"a checkpoint may not direct writes out of its folder: "
                                                    r"resume with --tensorboard") as refused:
            train(TrainConfig(steps=4, out=out, resume=True, **RING))
        assert "\n" not in str(refused.value) and recorded in str(refused.value)
    assert not elsewhere.exists()
    train(TrainConfig(steps=4, out=out, resume=True, tensorboard=True, **RING))  # the way out the message offers
    assert [e.step for e in events(out / "tb").Scalars("loss/D")] == [1, 2, 3, 4]


def test_the_cli_takes_a_folder_and_the_command_repeats_it(tmp_path):
    data = tiny_mnist_root(tmp_path / "data")
    out, board = tmp_path / "run", tmp_path / "boards" / "mine"
    done = CliRunner().invoke(build_app(), [
        "train", "dcgan-mnist", "--data", str(data), "--option", "width=4", "--steps", "3", "--batch-size", "8",
        "--log-every", "1", "--device", "cpu", "--quiet", "--out", str(out), "--tensorboard-dir", str(board)])
    assert done.exit_code == 0, done.output
    assert not (out / "tb").exists()
    assert [e.step for e in events(board).Scalars("loss/G")] == [1, 2, 3]
    from ganzoo.training.config import resolve
    from ganzoo.training.run import equivalent_command

    resolved = resolve(TrainConfig("dcgan-mnist", out=out, tensorboard=board))
    command = equivalent_command(resolved, 3)
    assert f"--tensorboard-dir {board}" in command and f"--out {out}" in command
    assert TrainConfig("dcgan-mnist", tensorboard=board).to_dict()["tensorboard"] == str(board)
    assert resolve(TrainConfig("dcgan-mnist", out=out)).tensorboard is None


def test_without_the_extra_the_flag_is_one_line_naming_it(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "torch.utils.tensorboard" or m.startswith("torch.utils.tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard fails, as when it is not installed
    needs = r'--tensorboard needs the tensorboard package .*pip install "ganzoo\[tensorboard\]"'
    with pytest.raises(ConfigError, match=needs):
        train(TrainConfig("mlp-gan", dataset="ring-8", steps=2, out=tmp_path / "run", quiet=True, device="cpu",
                          tensorboard=True))
    assert not (tmp_path / "run" / "log.jsonl").exists()  # refused before any training
    done = CliRunner().invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "2", "--device",
                                            "cpu", "--out", str(tmp_path / "cli"), "--tensorboard"])
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and 'pip install "ganzoo[tensorboard]"' in lines[0] and "Traceback" not in done.output


def test_an_unwritable_folder_is_refused_before_training(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="--tensorboard-dir"):
        train(TrainConfig("mlp-gan", dataset="ring-8", steps=2, out=tmp_path / "run", quiet=True, device="cpu",
                          tensorboard=tmp_path / "file" / "tb"))
    assert not (tmp_path / "run" / "log.jsonl").exists()


def test_every_number_a_log_record_gains_becomes_a_curve():
    from ganzoo.training.callbacks.tensorboard import scalar_tags

    record = {"step": 8, "epoch": 2, "loss_d": 1.25, "d_fake": 0.5, "ema_beta": 0.999, "augment_p": 0.1,
              "time": 12.5, "lr": 2e-4, "note": "text", "flag": True}
    assert scalar_tags(record) == {"progress/epoch": 2.0, "loss/D": 1.25, "D/fake": 0.5, "train/ema_beta": 0.999,
                                   "train/augment_p": 0.1}
