"""The option table drives every place an option appears; --grad-clip, the option added through it; one writer.

A test option added to a copy of the table must show up in ``ganzoo train``, in a ``TrainConfig`` built from
the table, in the resume rules, the run record, config.json's training section, the card rows and the
equivalent command, with no other code touched.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from ganzoo.cli.app import build_app
from ganzoo.cli.train import config_values
from ganzoo.errors import ConfigError
from ganzoo.ranges import POSITIVE
from ganzoo.training import TrainConfig, optiontable, train
from ganzoo.training import config as config_module
from ganzoo.training.checkpoint import load_checkpoint
from ganzoo.training.optiontable import TRAIN_OPTIONS, TRAIN_RANGES, Cli, TrainOption, card_rows, row, when_set
from ganzoo.training.record import equivalent_command, run_record_of, run_settings, training_section
from ganzoo.training.resume import FIXED_ON_RESUME, check_resume_compatible
from ganzoo.training.step import Optimisation

KNOB = TrainOption(
    "test_knob", "float | None", range=POSITIVE, resume="inherit", config="test_knob",
    help="A knob for tests.",
    cli=(Cli(("--test-knob",), float | None, metavar="K", panel=optiontable.PANEL_LENGTH, help="Turn the test knob."),),
    card=row("test knob", "test_knob"), command=when_set("--test-knob", lambda v: f"{v:g}"),
)
FIXED_KNOB = dataclasses.replace(KNOB, name="fixed_knob", resume="fixed", config=None, card=None, command=None,
                                 cli=(Cli(("--fixed-knob",), float | None, help="A knob a run keeps."),))


@pytest.fixture
def extended(monkeypatch):
    """The table with two test options, and a ``TrainConfig`` made from it the way the real one is."""
    monkeypatch.setattr(optiontable, "TRAIN_OPTIONS", (*TRAIN_OPTIONS, KNOB, FIXED_KNOB))

    class Extended:
        """A request with the test options."""

    return config_module._fields_from_table(Extended)


def test_an_option_added_to_the_table_appears_in_the_cli(extended):
    command = typer.main.get_command(build_app()).commands["train"]
    knob = next(p for p in command.params if p.name == "test_knob")
    assert knob.opts == ["--test-knob"] and knob.help == "Turn the test knob."
    help_text = CliRunner().invoke(build_app(), ["train", "--help"], env={"COLUMNS": "200"}).output
    assert "--test-knob" in help_text and "Turn the test knob." in help_text
    values = {p.name: p.default for p in command.params}
    assert config_values({**values, "model": "mlp-gan", "test_knob": 2.5})["test_knob"] == 2.5


def test_an_option_added_to_the_table_is_a_field_and_resumes_by_its_rule(extended, tmp_path):
    request = extended("mlp-gan", dataset="ring-8")
    assert request.test_knob is None and request.fixed_knob is None
    saved = {"model": "mlp-gan", "dataset": "ring-8", "test_knob": 3.0, "fixed_knob": 1.5}
    merged = check_resume_compatible(request, saved, tmp_path)
    assert (merged.test_knob, merged.fixed_knob) == (3.0, 1.5)  # unset: the run's own
    changed = check_resume_compatible(extended("mlp-gan", test_knob=0.5), saved, tmp_path)
    assert changed.test_knob == 0.5  # an inherited option may change on resume
    with pytest.raises(ConfigError, match=r"holds a fixed_knob 1\.5 run, not 2\.0"):
        check_resume_compatible(extended("mlp-gan", fixed_knob=2.0), saved, tmp_path)


def test_an_option_added_to_the_table_is_recorded_on_the_card_and_in_the_command(extended):
    resolved = config_module.resolve(TrainConfig("mlp-gan", dataset="ring-8", out="runs/x"))
    resolved.request = extended("mlp-gan", dataset="ring-8", test_knob=2.5, fixed_knob=1.0)
    settings = run_settings(resolved)
    assert run_record_of(settings)["test_knob"] == 2.5 and run_record_of(settings)["fixed_knob"] == 1.0
    section = training_section(settings, {"steps": 4})
    assert section["test_knob"] == 2.5 and "fixed_knob" not in section  # config=None: not in config.json
    assert ("test knob", 2.5) in card_rows(section)
    assert "--test-knob 2.5" in equivalent_command(resolved, 10)


def test_the_config_resume_and_ranges_are_the_tables():
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    assert fields == [o.name for o in TRAIN_OPTIONS if o.field]
    assert {o.name: o.range for o in TRAIN_OPTIONS if o.range is not None} == TRAIN_RANGES
    assert set(FIXED_ON_RESUME) == {o.name for o in TRAIN_OPTIONS if o.resume == "fixed"}
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    assert defaults["grad_clip"] is None and defaults["dist_timeout"] == optiontable.DEFAULT_DIST_TIMEOUT_S


# --- --grad-clip ---------------------------------------------------------------------------------------------


def _sgd(net: torch.nn.Module, lr: float) -> torch.optim.SGD:
    """Plain SGD (the step is the gradient times lr), with the betas key ganzoo's Adam updates keep."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    optimizer.param_groups[0]["betas"] = (0.5, 0.999)
    return optimizer


def test_an_update_clips_the_global_gradient_norm_before_it_steps():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 1))
    before = [p.detach().clone() for p in net.parameters()]
    update = Optimisation(_sgd(net, 1.0), torch.amp.GradScaler("cpu", enabled=False),
                          max_norm=0.01)
    update.step((net(torch.randn(16, 8)) ** 2).mean() * 100)
    grads = [p.grad for p in net.parameters()]
    assert torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])) == pytest.approx(0.01)
    for old, new, grad in zip(before, net.parameters(), grads, strict=True):  # SGD stepped on the clipped gradients
        assert torch.allclose(old - grad, new.detach())
    x = torch.randn(4, 8)
    unclipped = []
    for max_norm in (None, 1e9):  # a norm under the bound is left exactly as it is
        Optimisation(_sgd(net, 0.0), torch.amp.GradScaler("cpu", enabled=False),
                     max_norm=max_norm).step(net(x).mean())
        unclipped.append([p.grad.clone() for p in net.parameters()])
    assert all(torch.equal(g, h) for g, h in zip(*unclipped, strict=True))


def test_grad_clip_is_range_checked_in_one_line(tmp_path):
    out = tmp_path / "run"
    done = CliRunner().invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--out", str(out), "-q",
                                            "--grad-clip", "0"])
    assert done.exit_code == 1 and done.output.strip() == "error: --grad-clip must be a finite number > 0, got 0.0"
    assert not out.exists()


def _settings(**extra):
    return dict(model="mlp-gan", dataset="ring-8", batch_size=16, limit=256, device="cpu", quiet=True,
                checkpoint_every=3, log_every=3, sample_every=100, **extra)


def test_a_clipped_run_trains_resumes_exactly_and_records_the_clip(tmp_path):
    whole = train(TrainConfig(steps=6, out=tmp_path / "whole", grad_clip=0.05, **_settings()))
    plain = train(TrainConfig(steps=6, out=tmp_path / "plain", **_settings()))
    train(TrainConfig(steps=3, out=tmp_path / "parts", grad_clip=0.05, **_settings()))
    resumed = train(TrainConfig(steps=6, out=tmp_path / "parts", resume=True, **_settings()))  # keeps its clip
    a, b = load_checkpoint(whole.checkpoint)["parts"], load_checkpoint(resumed.checkpoint)["parts"]
    for name in ("generator", "discriminator"):
        assert all(torch.equal(a[name][k], b[name][k]) for k in a[name]), name
    c = load_checkpoint(plain.checkpoint)["parts"]["generator"]
    assert not all(torch.equal(a["generator"][k], c[k]) for k in c)  # the clip changed the updates
    assert load_checkpoint(resumed.checkpoint)["run"]["grad_clip"] == 0.05
    training = json.loads((resumed.export_dir / "config.json").read_text())["training"]
    assert training["grad_clip"] == 0.05
    card = (resumed.export_dir / "README.md").read_text()
    assert "| gradient clipping | global norm of G's and of D's gradients at most 0.05 |" in card
    assert "--grad-clip 0.05" in (whole.export_dir / "README.md").read_text()  # the equivalent command


def test_a_checkpoint_from_before_grad_clip_resumes_without_it(tmp_path):
    merged = check_resume_compatible(TrainConfig("mlp-gan"), {"model": "mlp-gan", "lr": 1e-3}, tmp_path)
    assert merged.grad_clip is None and merged.lr == 1e-3


# --- one writer of config.json -------------------------------------------------------------------------------


def _calls(path: Path, name: str) -> int:
    tree = ast.parse(path.read_text())
    return sum(1 for node in ast.walk(tree) if isinstance(node, ast.Call)
               and getattr(node.func, "id", getattr(node.func, "attr", None)) == name)


def test_the_trainer_and_lightning_write_config_json_through_one_writer():
    root = Path(__import__("ganzoo").__file__).parent
    trainers = [*(root / "training").rglob("*.py"), *(root / "lightning").rglob("*.py")]
    writers = {p.relative_to(root).as_posix() for p in trainers if _calls(p, "write_export")}
    assert writers == {"training/record.py"}  # (ganzoo.save writes a folder with no training section)
    for exporter in ("training/artifacts.py", "lightning/artifacts.py"):
        assert _calls(root / exporter, "export_training") == 1, exporter


def test_lightning_clips_and_its_config_json_holds_the_tables_keys(tmp_path):
    import lightning as L
    from helpers import tiny_mnist_root

    from ganzoo.cards.folder import read_export
    from ganzoo.lightning import GANModule

    root = tiny_mnist_root(tmp_path / "data", count=16)
    gan = GANModule("cnn-gan", batch_size=8, num_samples=4, grad_clip=0.01)
    trainer = L.Trainer(max_steps=2 * (gan.d_steps + 1), accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, datamodule=gan.datamodule(data_dir=root))
    grads = [p.grad for p in gan.discriminator.parameters() if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    assert norm <= 0.01 * (1 + 1e-5)
    training = read_export(gan.export(tmp_path / "export"))[0]["training"]
    keys = {o.config for o in TRAIN_OPTIONS if o.field and o.config is not None}
    assert keys <= set(training) and training["grad_clip"] == 0.01
    assert "| gradient clipping |" in (tmp_path / "export" / "README.md").read_text()
