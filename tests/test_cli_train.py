"""``ganzoo train`` through the CLI: a run end to end, resume, and one-line errors for bad requests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from ganzoo.cards.card import parse_front_matter
from ganzoo.cli.app import build_app
from ganzoo.cli.train import parse_options
from ganzoo.errors import ConfigError

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(build_app(), [str(a) for a in args])


def quick(out: Path, *extra: str) -> list[str]:
    return [
        "train", "mlp-gan", "--dataset", "ring-8", "--steps", "30", "--batch-size", "32", "--limit", "512",
        "--device", "cpu", "--out", str(out), "--log-every", "10", "--sample-every", "10", *extra,
    ]


def test_train_end_to_end_writes_export_samples_log_and_curves(tmp_path):
    out = tmp_path / "run"
    result = invoke(*quick(out, "--quiet"))
    assert result.exit_code == 0, result.output
    export = out / "export"
    for name in ("model.safetensors", "config.json", "README.md", "samples.png"):
        assert (export / name).is_file(), name
    for path in ("samples/step_000010.png", "samples/step_000020.png", "samples/final.png", "curves.png"):
        assert (out / path).is_file(), path
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30]
    assert set(records[0]) == {"step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "images_per_s", "lr", "time"}

    document = json.loads((export / "config.json").read_text())
    assert document["format"] == "ganzoo-export" and document["format_version"] == 1
    assert document["model"] == "mlp-gan" and document["config"]["sample_shape"] == [2]
    training = document["training"]
    assert training["command"] == " ".join(["ganzoo", *quick(out, "--quiet")])
    assert training["steps"] == 30 and training["batch_size"] == 32 and training["device"] == "cpu"
    assert training["hardware"] and training["wall_time_s"] > 0 and training["images_seen"] == 30 * 32

    card = (export / "README.md").read_text()
    front = parse_front_matter(card)
    assert front["library_name"] == "ganzoo" and front["datasets"] == ["ring-8"]
    assert {"ganzoo", "gan", "mlp-gan"} <= set(front["tags"]) and "loss_d" in front["metrics"]
    assert "![Fixed-noise samples" in card and training["command"] in card and "Intended use" in card
    for shown in (str(export), str(out / "samples" / "final.png"), str(out / "log.jsonl"), str(out / "curves.png")):
        assert shown in result.output
    assert "modes_covered" in result.output


def test_an_existing_run_needs_resume_and_resume_continues(tmp_path):
    out = tmp_path / "run"
    assert invoke(*quick(out, "--quiet", "--reuse-fakes")).exit_code == 0
    again = invoke(*quick(out, "--quiet"))
    assert again.exit_code == 1
    assert "already holds a run; pass --resume" in again.output and "Traceback" not in again.output
    resumed = invoke("train", "mlp-gan", "--out", out, "--steps", "40", "--resume", "--quiet", "--device", "cpu")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed at step 30" in resumed.output
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 40
    training = json.loads((out / "export" / "config.json").read_text())["training"]
    assert training["command"].splitlines()[1].endswith("--resume --quiet --device cpu")
    assert training["reuse_fakes"] is True  # the resumed run kept the switch it was started with
    switched = invoke("train", "mlp-gan", "--out", out, "--steps", "50", "--resume", "--fresh-noise", "--quiet")
    assert switched.exit_code == 1 and "holds a reuse_fakes True run, not False" in switched.output


def test_plain_progress_lines_when_not_a_terminal(tmp_path):
    result = invoke(*quick(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert "mlp-gan on ring-8: 30 steps" in result.output
    assert "step 30/30 (100%)" in result.output and "img/s" in result.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--option", "colour=red"], "mlp-gan has no option 'colour'; it accepts:"),
        (["--option", "latent_dim"], "--option takes KEY=VALUE"),
        (["--image-size", "64"], "mlp-gan has no option 'image_size'"),
        (["--precision", "fp16"], "--precision fp16 needs a CUDA GPU"),
        (["--epochs", "1"], "give --steps or --epochs, not both"),
        (["--loss", "wgan"], "unknown loss 'wgan'. Did you mean 'wgan-gp'?"),
        (["--device", "cuda"], "no CUDA GPU is available here"),
    ],
)
def test_bad_options_are_one_line_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = invoke(*quick(tmp_path / "run"), *args)
    assert result.exit_code == 1
    text = " ".join(result.output.split())  # rich may wrap a long line on a narrow console
    assert message in text, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3


@pytest.mark.parametrize(
    "args,message",
    [
        (["dcgan-mnist", "--dataset", "ring-8"], "dcgan-mnist does not train on dataset 'ring-8'"),
        (["dcgan-faces", "--image-size", "96"], "image_size=96 is not accepted by dcgan-faces; choose one of 64, 128"),
        (["dcgan-mnst"], "unknown model 'dcgan-mnst'. Did you mean 'dcgan-mnist'"),
        (["mlp-gan", "--dataset", "ring-8", "--lr", "-1"], "--lr must be a finite number > 0, got -1.0"),
    ],
)
def test_bad_models_datasets_and_values(args, message, tmp_path):
    result = invoke("train", *args, "--out", tmp_path / "run", "--device", "cpu")
    assert result.exit_code == 1
    assert message in " ".join(result.output.split()), result.output


def test_divergence_is_reported_with_the_checkpoint_kept(tmp_path):
    out = tmp_path / "run"
    assert invoke(*quick(out, "--quiet", "--checkpoint-every", "10")).exit_code == 0
    result = invoke(*quick(out, "--quiet", "--resume"), "--steps", "60", "--lr", "1e30")
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "became nan at step 31" in text and "last good checkpoint, at step 30" in text


def test_parse_options():
    assert parse_options(["a=1", "b-c = x"], image_size=128) == {"a": "1", "b_c": "x", "image_size": 128}
    with pytest.raises(ConfigError):
        parse_options(["=3"])


def test_the_train_command_module_does_not_import_torch():
    code = "import sys, ganzoo.cli.train, ganzoo.cli.app; ganzoo.cli.app.build_app(); print('torch' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"


def test_the_dist_timeout_default_is_the_trainers():
    from ganzoo.training.config import DEFAULT_DIST_TIMEOUT_S

    command = typer.main.get_command(build_app()).commands["train"]
    default = next(p.default for p in command.params if p.name == "dist_timeout")
    assert default == DEFAULT_DIST_TIMEOUT_S


def test_eval_samples_sets_the_evaluation_size_is_recorded_and_kept_on_resume(tmp_path):
    out = tmp_path / "run"
    first = invoke(*quick(out, "--quiet", "--eval-every", "15", "--eval-samples", "40", "--checkpoint-every", "15"))
    assert first.exit_code == 0, first.output
    resumed = invoke("train", "mlp-gan", "--dataset", "ring-8", "--steps", "45", "--resume", "--quiet", "--out", out)
    assert resumed.exit_code == 0, resumed.output
    scored = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if '"fid"' in line]
    assert [r["step"] for r in scored] == [15, 30, 45] and {r["eval_samples"] for r in scored} == {40}
    commands = json.loads((out / "export" / "config.json").read_text())["training"]["command"]
    assert "--eval-samples 40" in commands
    refused = invoke(*quick(tmp_path / "other", "--eval-every", "15", "--eval-samples", "4"))
    assert refused.exit_code != 0 and "--eval-samples must be a whole number from 5 to 50000, got 4" in refused.output


def test_a_resumed_run_reads_the_data_folder_it_recorded(tmp_path, monkeypatch):
    """``--data`` given relative at the start is recorded absolute: a resume from elsewhere, without ``--data``,
    reads the same folder and says so; ``--data`` given again wins; a record that is no path is one line."""
    from helpers import tiny_image_folder

    from ganzoo.training.checkpoint import load_checkpoint
    from ganzoo.training.config import TrainConfig
    from ganzoo.training.resume import check_resume_compatible

    faces = tiny_image_folder(tmp_path / "data")
    monkeypatch.chdir(tmp_path / "data")
    out = tmp_path / "run"
    common = ["--device", "cpu", "--quiet", "--out", out]
    model = ["r3gan", "--dataset", "image-folder", "--batch-size", "4", "--option", "image_size=64",
             "--option", "patch=4", "--option", "widths=8,8"]
    first = invoke("train", *model, "--data", "faces", "--steps", "2", *common)
    assert first.exit_code == 0, first.output
    monkeypatch.chdir(tmp_path)
    resumed = invoke("train", "r3gan", "--resume", "--steps", "3", *common)
    assert resumed.exit_code == 0, resumed.output
    assert f"--data {faces.resolve()}: the folder this run was trained on" in resumed.output
    moved = tmp_path / "moved"
    faces.rename(moved)
    gone = invoke("train", "r3gan", "--resume", "--steps", "4", *common)
    assert gone.exit_code == 1 and f"image folder {faces.resolve()} does not exist" in gone.output
    again = invoke("train", "r3gan", "--resume", "--steps", "4", "--data", moved, *common)
    assert again.exit_code == 0, again.output
    assert "the folder this run was trained on" not in again.output

    saved = load_checkpoint(out / "checkpoints" / "last.pt", map_location="cpu")["run"]
    assert saved["data_dir"] == str(moved.resolve())
    whole = load_checkpoint(out / "checkpoints" / "last.pt", map_location="cpu")
    torch.save({**whole, "run": {**saved, "data_dir": 7}}, tmp_path / "bad.pt")
    with pytest.raises(ConfigError, match=r"run\.data_dir"):  # the type, where every recorded field's is checked
        load_checkpoint(tmp_path / "bad.pt")
    for bad in (7, "", "x" * 5000, "a\0b"):
        with pytest.raises(ConfigError, match="records a data folder that is not a path; resume with --data DIR"):
            check_resume_compatible(TrainConfig(model="r3gan", resume=True), {**saved, "data_dir": bad}, out)
