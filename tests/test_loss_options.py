"""``--loss-option KEY=VALUE``: typed and checked against the loss's declared options, used by the run,
and recorded in the checkpoint (resume keeps it), config.json, the equivalent command and the card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError
from ganzoo.training import TrainConfig, train
from ganzoo.training.config import resolve
from ganzoo.training.loop import equivalent_command
from ganzoo.training.resume import check_resume_compatible

runner = CliRunner()


def quick(out: Path, *extra: str) -> list[str]:
    return [
        "train", "mlp-gan", "--dataset", "ring-8", "--steps", "4", "--batch-size", "32", "--limit", "256",
        "--device", "cpu", "--out", str(out), "--quiet", *extra,
    ]


def test_loss_options_are_typed_from_strings_and_kept_resolved():
    resolved = resolve(TrainConfig("mlp-gan", loss="wgan-gp", loss_options={"gp_weight": "2.5", "d_steps": "2"}))
    assert resolved.loss_options == {"gp_weight": 2.5, "d_steps": 2}
    built = resolved.loss_spec.build(**resolved.loss_options)
    assert (built.gp_weight, built.d_steps) == (2.5, 2)
    assert resolve(TrainConfig("mlp-gan")).loss_options == {}


@pytest.mark.parametrize(
    ("loss", "options", "message"),
    [
        ("hinge", {"gp_weight": "1"}, "loss 'hinge' has no option 'gp_weight'; it accepts: d_steps"),
        ("wgan-gp", {"gp_wieght": "1"}, "loss 'wgan-gp' has no option 'gp_wieght'; it accepts: d_steps, gp_weight"),
        ("wgan-gp", {"d_steps": "two"}, "option d_steps='two' of loss 'wgan-gp' must be int"),
        ("wgan-gp", {"d_steps": "0"}, "d_steps must be a positive integer, got 0"),
        ("wgan-gp", {"gp_weight": "-1"}, "gp_weight must be >= 0"),
    ],
)
def test_bad_loss_options_are_one_line_errors_before_any_data_is_loaded(loss, options, message):
    with pytest.raises(ConfigError) as caught:
        resolve(TrainConfig("mlp-gan", loss=loss, loss_options=options))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_loss_declares_its_options_with_types():
    assert dict(ganzoo.get_loss_spec("wgan-gp").options) == {"gp_weight": float, "d_steps": int}
    with pytest.raises(ConfigError, match="option 'gp' must declare a type"):
        ganzoo.LossSpec(name="x", summary="x", builder="a.b:c", options={"gp": 1.0})


def test_the_cli_trains_with_loss_options_and_records_them_everywhere(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(build_app(), quick(out, "--loss-option", "d_steps=2"))
    assert result.exit_code == 0, result.output
    document = json.loads((out / "export" / "config.json").read_text())
    training = document["training"]
    assert training["loss_options"] == {"d_steps": 2}
    assert training["d_steps"] == 2  # the loss was built with it
    assert "--loss-option d_steps=2" in training["command"]
    card = (out / "export" / "README.md").read_text()
    assert "--loss-option d_steps=2" in card
    assert "| loss options | d_steps=2 |" in card  # the hyper-parameter table
    from ganzoo.training.checkpoint import load_checkpoint

    assert load_checkpoint(out / "checkpoints" / "last.pt")["run"]["loss_options"] == {"d_steps": 2}

    changed = runner.invoke(build_app(), [*quick(out, "--loss-option", "d_steps=3"), "--resume", "--steps", "6"])
    assert changed.exit_code == 1
    expected = "holds a run with loss options {'d_steps': 2}, not {'d_steps': 3}; resume without --loss-option"
    assert expected in " ".join(changed.output.split())
    resumed = runner.invoke(build_app(), [*quick(out), "--resume", "--steps", "6"])
    assert resumed.exit_code == 0, resumed.output
    training = json.loads((out / "export" / "config.json").read_text())["training"]
    assert training["loss_options"] == {"d_steps": 2} and training["d_steps"] == 2


def test_a_malformed_or_unknown_loss_option_on_the_command_line(tmp_path):
    malformed = runner.invoke(build_app(), quick(tmp_path / "a", "--loss-option", "d_steps"))
    assert malformed.exit_code == 1 and "--loss-option takes KEY=VALUE" in malformed.output
    unknown = runner.invoke(build_app(), quick(tmp_path / "b", "--loss-option", "gp_weight=1"))
    assert unknown.exit_code == 1
    assert "loss 'non-saturating' has no option 'gp_weight'; it accepts: d_steps" in " ".join(unknown.output.split())


def test_the_equivalent_command_of_a_python_run_repeats_the_loss_options(tmp_path):
    config = TrainConfig("mlp-gan", dataset="ring-8", loss="wgan-gp", loss_options={"gp_weight": 5},
                         out=tmp_path / "run")
    command = equivalent_command(resolve(config), 10)
    assert "--loss wgan-gp" in command and "--loss-option gp_weight=5.0" in command


def test_resume_inherits_the_loss_options_and_refuses_others(tmp_path):
    saved = {"model": "mlp-gan", "loss": "non-saturating", "seed": 0, "loss_options": {"d_steps": 2}}
    merged = check_resume_compatible(TrainConfig("mlp-gan"), saved, tmp_path)
    assert merged.loss_options == {"d_steps": 2}
    assert check_resume_compatible(TrainConfig("mlp-gan", loss_options={"d_steps": "2"}), saved, tmp_path)
    with pytest.raises(ConfigError, match=r"loss options \{'d_steps': 2\}, not \{'d_steps': 1\}"):
        check_resume_compatible(TrainConfig("mlp-gan", loss_options={"d_steps": 1}), saved, tmp_path)
    # a checkpoint written before loss options existed holds none
    old = {key: value for key, value in saved.items() if key != "loss_options"}
    assert check_resume_compatible(TrainConfig("mlp-gan"), old, tmp_path).loss_options == {}


def test_python_training_with_loss_options(tmp_path):
    result = train(TrainConfig("mlp-gan", dataset="ring-8", steps=2, batch_size=32, limit=256, device="cpu",
                               out=tmp_path / "run", quiet=True, loss_options={"d_steps": 3}))
    training = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert training["d_steps"] == 3 and training["loss_options"] == {"d_steps": 3}


def test_resume_compares_model_options_typed_as_the_run_recorded_them(tmp_path):
    saved = {"model": "mlp-gan", "loss": "non-saturating", "seed": 0, "options": {"latent_dim": 8}}
    # the command line gives strings: '--option latent_dim=8' is the run's own setting, not a change
    merged = check_resume_compatible(TrainConfig("mlp-gan", options={"latent_dim": "8"}), saved, tmp_path)
    assert merged.options == {"latent_dim": 8}
    with pytest.raises(ConfigError, match=r"options \{'latent_dim': 8\}, not \{'latent_dim': 16\}"):
        check_resume_compatible(TrainConfig("mlp-gan", options={"latent_dim": "16"}), saved, tmp_path)
