"""Schedules (``--schedule NAME=START:END:IMAGES[:SHAPE]``): their values, their checks, and a run that follows
them, records them, shows them on the card and resumes exactly across a change of value."""

from __future__ import annotations

import json
import math

import pytest
import torch
from helpers import tiny_mnist_root
from typer.testing import CliRunner

from ganzoo.cards.folder import WEIGHTS_NAME
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError
from ganzoo.training import TrainConfig, Trainer, train
from ganzoo.training.schedules import Schedule, parse_schedule, parse_schedules

# 16 images a step: lr and beta2 move over the first 4 steps, gamma and the EMA over 6; the run has 8
SCHEDULES = ("lr=2e-3:2e-4:64:linear", "beta2=0.9:0.99:64", "r1_gamma=1:0.1:96", "ema=0:500:96:cosine")


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    return tiny_mnist_root(tmp_path_factory.mktemp("data"), count=64)


def dcgan(mnist, out, **fields) -> TrainConfig:
    settings = {"steps": 8, "batch_size": 16, "checkpoint_every": 3, "log_every": 1, "sample_every": 1000,
                "r1_gamma": 1.0, "reg_every": 2, "ema": 500.0, **fields}
    return TrainConfig("dcgan-mnist", data_dir=mnist, out=out, device="cpu", quiet=True, **settings)


def test_values_follow_the_curve_and_hold_the_end():
    linear, cosine = Schedule("lr", 1.0, 0.0, 100, "linear"), Schedule("lr", 1.0, 0.0, 100, "cosine")
    assert [linear.value_at(n) for n in (0, 25, 100, 500)] == [1.0, 0.75, 0.0, 0.0]
    assert cosine.value_at(0) == 1.0 and cosine.value_at(50) == pytest.approx(0.5) and cosine.value_at(200) == 0.0
    assert cosine.value_at(25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert parse_schedule("r1-gamma=0.05:0.005:20000000") == Schedule("r1_gamma", 0.05, 0.005, 20_000_000, "cosine")
    assert parse_schedule(parse_schedule("lr=2e-4:5e-5:1e6:linear").spelling()).images == 1_000_000


@pytest.mark.parametrize(("spelling", "message"), [
    ("gamma=1:0:10", "cannot schedule 'gamma'"),
    ("lr=1e-3:1e-4", "write lr=START:END:IMAGES"),
    ("lr=1e-3:0:10", "must stay above 0"),
    ("beta2=0.9:1:10", r"beta2 is Adam's beta2 of both optimizers, a value in \[0, 1\)"),
    ("lr=1e-3:1e-4:0", "IMAGES must be a whole number"),
    ("lr=1e-3:1e-4:2.5", "IMAGES must be a whole number"),
    ("lr=nan:1e-4:10", "START must be a number"),
    ("lr=1e-3:1e-4:10:step", "the shape must be cosine or linear"),
])
def test_a_bad_schedule_is_a_one_line_error(spelling, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_schedule(spelling)
    assert "\n" not in str(caught.value)


def test_each_setting_is_scheduled_once():
    with pytest.raises(ConfigError, match="lr is given twice"):
        parse_schedules(["lr=1e-3:1e-4:10", "lr=1e-3:1e-5:10"])


def test_a_schedule_of_a_practice_the_run_does_not_use_is_refused(mnist, tmp_path):
    with pytest.raises(ConfigError, match="give --r2-gamma > 0"):
        Trainer(dcgan(mnist, tmp_path / "run", schedule=("r2_gamma=1:0:10",))).prepare()
    assert not (tmp_path / "run").exists()


def test_a_run_follows_records_and_shows_its_schedules_and_resumes_exactly_across_a_change(mnist, tmp_path):
    whole = train(dcgan(mnist, tmp_path / "whole", schedule=SCHEDULES))
    train(dcgan(mnist, tmp_path / "parts", steps=3, schedule=SCHEDULES))  # stops while every value is moving
    resumed_trainer = Trainer(TrainConfig("dcgan-mnist", data_dir=mnist, out=tmp_path / "parts", steps=8,
                                          resume=True, quiet=True, device="cpu"))
    assert resumed_trainer.state.practices.schedules == parse_schedules(SCHEDULES)  # kept without --schedule
    resumed = resumed_trainer.run()
    assert (whole.export_dir / WEIGHTS_NAME).read_bytes() == (resumed.export_dir / WEIGHTS_NAME).read_bytes()
    saved = [torch.load(r.checkpoint, weights_only=False)["parts"] for r in (whole, resumed)]
    averages = [state["ema"] for state in saved]
    assert averages[0]["half_life"] == averages[1]["half_life"] == 500.0  # the schedule's end, held
    assert all(torch.equal(averages[0]["module"][k], averages[1]["module"][k]) for k in averages[0]["module"])
    assert torch.equal(saved[0]["generator"]["main.0.weight"] if "main.0.weight" in saved[0]["generator"] else
                       next(iter(saved[0]["generator"].values())), next(iter(saved[1]["generator"].values())))

    lrs = [json.loads(line)["lr"] for line in whole.log.read_text().splitlines()]
    assert lrs[:5] == pytest.approx([2e-3, 2e-3 - 4.5e-4, 2e-3 - 9e-4, 2e-3 - 13.5e-4, 2e-4])  # then held
    assert lrs[5:] == pytest.approx([2e-4] * 3)
    training = json.loads((whole.export_dir / "config.json").read_text())["training"]
    assert [s["name"] for s in training["schedules"]] == ["lr", "beta2", "r1_gamma", "ema"]
    card = (whole.export_dir / "README.md").read_text()
    assert "schedule of lr" in card and "0.002 to 0.0002 over 64 images (linear)" in card

    unscheduled = train(dcgan(mnist, tmp_path / "plain"))
    assert (unscheduled.export_dir / WEIGHTS_NAME).read_bytes() != (whole.export_dir / WEIGHTS_NAME).read_bytes()


def test_resume_refuses_another_schedule_and_accepts_the_same_one_spelled_differently(mnist, tmp_path):
    train(dcgan(mnist, tmp_path / "run", steps=2, schedule=("lr=2e-3:2e-4:64",)))
    with pytest.raises(ConfigError, match=r"holds a run with --schedule lr=0\.002:0\.0002:64:cosine") as caught:
        train(dcgan(mnist, tmp_path / "run", steps=4, resume=True, schedule=("lr=1e-3:2e-4:64",)))
    assert "\n" not in str(caught.value)
    train(dcgan(mnist, tmp_path / "run", steps=4, resume=True, schedule=("lr=0.002:0.0002:64:cosine",)))


def test_the_cli_checks_a_schedule_before_any_data_is_loaded(tmp_path):
    result = CliRunner().invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--out", str(tmp_path / "o"),
                                              "--schedule", "lr=1:2"])
    assert result.exit_code != 0
    assert "write lr=START:END:IMAGES" in result.output and not (tmp_path / "o").exists()
