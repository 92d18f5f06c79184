"""ganzoo-wgan's own tests: ganzoo's contract checks in one line, then what is special to this plugin."""

from __future__ import annotations

import csv
import math
import re

import pytest
import torch

import ganzoo
import ganzoo.testing

# Every model, loss, dataset and callback this plugin registers, against ganzoo's contract: one test per aspect
# (the callback's checks train with a row every 2 steps, into a file of another name).
test_ganzoo_contract = ganzoo.testing.contract_tests(
    "ganzoo-wgan", callback_options={"wgan-steps-csv": {"every": 2, "file": "critic.csv"}}
)


def test_records_belong_to_this_plugin():
    assert ganzoo.get_callback_spec("wgan-steps-csv").plugin == "wgan"
    assert ganzoo.get_model_spec("wgan-gp-dcgan").plugin == "wgan"
    assert ganzoo.get_loss_spec("wgan-lp").plugin == "wgan"
    assert ganzoo.get_dataset_spec("shapes-28").plugin == "wgan"


def test_shapes_are_the_shapes_their_labels_say():
    data = ganzoo.get_dataset_spec("shapes-28").load(split="test")
    assert data.samples.shape == (1000, 1, 28, 28) and data.samples.dtype == torch.uint8
    assert torch.bincount(data.labels).tolist() == [334, 333, 333]
    ink = data.samples.float().div(255).mean(dim=(1, 2, 3))
    # for the same half-size r: disc pi r^2 > square (1.6 r)^2 > cross (2.04 r^2)
    disc, square, cross = (ink[data.labels == k].mean().item() for k in range(3))
    assert disc > square > cross > 0
    again = ganzoo.get_dataset_spec("shapes-28").load(split="test")
    assert torch.equal(again.samples, data.samples)


def test_lipschitz_penalty_is_one_sided():
    loss = ganzoo.get_loss_spec("wgan-lp").build()

    class Linear(torch.nn.Module):
        def __init__(self, scale: float):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.full((4,), scale))

        def forward(self, x, labels=None):
            return x.flatten(1) @ self.weight

    x = torch.zeros(3, 4)
    assert loss.penalty(Linear(0.25), x, x + 1).item() == 0.0  # gradient norm 0.5: within the constraint
    assert loss.penalty(Linear(1.0), x, x + 1).item() == pytest.approx(10.0 * (2.0 - 1.0) ** 2)


def test_the_critic_has_no_batch_norm():
    gan = ganzoo.create("wgan-gp-dcgan", seed=0)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in gan.discriminator.modules())
    assert gan.sample(2, seed=0).shape == (2, 1, 28, 28)


RUN = {"dataset": "shapes-28", "batch_size": 8, "limit": 64, "options": {"width": 8}, "device": "cpu", "quiet": True}


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_the_csv_has_every_nth_steps_losses_and_a_resume_goes_on_where_the_checkpoint_was(tmp_path):
    out = tmp_path / "run"
    ganzoo.train(ganzoo.TrainConfig("wgan-gp-dcgan", steps=4, out=out, callbacks=("wgan-steps-csv",),
                                    callback_options={"wgan-steps-csv": {"every": "2"}}, **RUN))
    table = rows(out / "steps.csv")
    assert table[0] == ["step", "loss_d", "loss_g", "d_real", "d_fake"]
    assert [row[0] for row in table[1:]] == ["2", "4"]
    assert all(math.isfinite(float(value)) for row in table[1:] for value in row[1:])
    # resumed for two steps more, naming neither the callback nor its options: both are kept
    ganzoo.train(ganzoo.TrainConfig("wgan-gp-dcgan", steps=6, out=out, resume=True, device="cpu", quiet=True))
    assert [row[0] for row in rows(out / "steps.csv")[1:]] == ["2", "4", "6"]


@pytest.mark.parametrize(("options", "message"), [
    ({"every": "0"}, "option every=0 of callback 'wgan-steps-csv' must be at least 1"),
    ({"file": "../escape.csv"}, "option file='../escape.csv' of callback 'wgan-steps-csv' must be a plain file name"),
    ({"every": "2.5"}, "option every='2.5' of callback 'wgan-steps-csv' must be int"),
])
def test_bad_options_are_one_line_errors(tmp_path, options, message):
    with pytest.raises(ganzoo.ConfigError, match=re.escape(message)):
        ganzoo.train(ganzoo.TrainConfig("wgan-gp-dcgan", steps=1, out=tmp_path / "run", callbacks=("wgan-steps-csv",),
                                        callback_options={"wgan-steps-csv": options}, **RUN))
    assert not (tmp_path / "run").exists()
