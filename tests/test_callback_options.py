"""A callback's options (``--callback-option NAME.KEY=VALUE``) and the per-step metrics a callback reads.

Options go the way of a model's and a loss's: declared on the record with a type, typed from the command
line, refused in one line when wrong, recorded in the checkpoint and ``config.json``, kept on ``--resume``
(a different value is refused, as for the model's options), repeated by the equivalent command and shown
by ``ganzoo info``. ``run.step_metrics`` is every step's losses, the values the log record averages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from helpers import plugin_object
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError
from ganzoo.training import Callback, StepMetrics, TrainConfig, train
from ganzoo.training.checkpoint import load_checkpoint
from ganzoo.training.window import METRICS

RING = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu", "log_every": 2}
CLI_RING = ["train", "mlp-gan", "--dataset", "ring-8", "--batch-size", "16", "--device", "cpu", "--quiet",
            "--log-every", "2"]


class StepLog(Callback):
    """Every ``every`` steps, the step's metrics as a line of ``OUT/steps.jsonl``, tagged with ``label``."""

    def __init__(self, every: int = 1, label: str = "run", exact: bool = False):
        if every < 1:
            raise ConfigError(f"option every={every} of callback 'step-log' must be at least 1; give every=1 or more")
        self.every, self.label, self.exact = every, label, exact
        self.written = 0

    def on_train_start(self, run):
        path = run.paths.out / "steps.jsonl"
        if run.is_main and path.exists():  # a resumed run forgets the lines written after its checkpoint
            kept = [line for line in path.read_text().splitlines() if json.loads(line)["step"] <= run.step]
            path.write_text("".join(line + "\n" for line in kept))

    def on_step_end(self, run):
        if run.step % self.every == 0 and run.is_main:
            metrics = run.step_metrics
            line = {"step": metrics.step, "label": self.label, **metrics}
            with (run.paths.out / "steps.jsonl").open("a", encoding="utf-8") as file:
                file.write(json.dumps(line) + "\n")
            self.written += 1

    def state_dict(self):
        return {"written": self.written}

    def load_state_dict(self, state):
        self.written = int(state["written"])


@pytest.fixture
def step_log_plugin(use_plugins):
    @ganzoo.hookimpl
    def register_callbacks(register):
        register(ganzoo.CallbackSpec(name="step-log", summary="Every step's metrics in OUT/steps.jsonl.",
                                     builder=StepLog, options={"every": int, "label": str, "exact": bool}))

    use_plugins(plugin_object(register_callbacks=register_callbacks))


def lines(out):
    return [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]


def test_a_callback_with_options_round_trips_through_train_resume_and_info(tmp_path, step_log_plugin):
    runner, app = CliRunner(), build_app()
    info = runner.invoke(app, ["info", "step-log", "--json"])
    assert info.exit_code == 0, info.output
    described = json.loads(info.stdout)
    assert described["options"] == {"every": "int", "label": "str", "exact": "bool"}
    assert "--callback step-log --callback-option step-log.every=VALUE" in described["use"]
    plain = runner.invoke(app, ["info", "step-log"]).stdout
    assert "every (int), label (str), exact (bool)" in plain

    out = tmp_path / "run"
    first = runner.invoke(app, [*CLI_RING, "--steps", "4", "--out", str(out), "--callback", "step-log",
                                "--callback-option", "step-log.every=2", "--callback-option", "step-log.label=first"])
    assert first.exit_code == 0, first.output
    assert [(line["step"], line["label"]) for line in lines(out)] == [(2, "first"), (4, "first")]
    training = json.loads((out / "export" / "config.json").read_text())["training"]
    assert training["callback_options"] == {"step-log": {"every": 2, "label": "first"}}  # typed: 2, not "2"
    saved = load_checkpoint(out / "checkpoints" / "last.pt")
    assert saved["run"]["callback_options"] == {"step-log": {"every": 2, "label": "first"}}
    assert saved["parts"]["callback:step-log"] == {"written": 2}
    card = (out / "export" / "README.md").read_text()
    assert "| callback options | step-log: every=2, label=first |" in card

    # resumed without the options (nor --callback): the run keeps its callback and the callback its options
    resumed = runner.invoke(app, [*CLI_RING, "--steps", "6", "--out", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert [line["step"] for line in lines(out)] == [2, 4, 6]
    assert load_checkpoint(out / "checkpoints" / "last.pt")["parts"]["callback:step-log"] == {"written": 3}
    training = json.loads((out / "export" / "config.json").read_text())["training"]
    assert training["callback_options"] == {"step-log": {"every": 2, "label": "first"}}
    # the same values again are the same run; a different one is refused in one line naming the recorded values
    same = runner.invoke(app, [*CLI_RING, "--steps", "8", "--out", str(out), "--resume",
                               "--callback-option", "step-log.every=2", "--callback-option", "step-log.label=first"])
    assert same.exit_code == 0, same.output
    changed = runner.invoke(app, [*CLI_RING, "--steps", "10", "--out", str(out), "--resume",
                                  "--callback-option", "step-log.every=3"])
    assert changed.exit_code == 1
    assert "callback 'step-log' has options every=2, label=first, not every=3" in changed.output
    assert "resume without --callback-option step-log.*" in changed.output
    assert [line["step"] for line in lines(out)] == [2, 4, 6, 8]  # refused before anything ran


def test_the_equivalent_command_repeats_the_options_and_python_takes_them_too(tmp_path, step_log_plugin):
    result = train(TrainConfig(steps=2, out=tmp_path / "run", callbacks=("step-log",),
                               callback_options={"step-log": {"every": "1", "exact": "yes"}}, **RING))
    training = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert training["callback_options"] == {"step-log": {"every": 1, "exact": True}}
    assert "--callback step-log --callback-option step-log.every=1 --callback-option step-log.exact=True" in \
        training["command"]
    assert [line["step"] for line in lines(tmp_path / "run")] == [1, 2]
    # a callback given no options is built with its own defaults, and records none
    plain = train(TrainConfig(steps=1, out=tmp_path / "plain", callbacks=("step-log",), **RING))
    assert json.loads((plain.export_dir / "config.json").read_text())["training"]["callback_options"] == {}
    assert lines(tmp_path / "plain")[0]["label"] == "run"


@pytest.mark.parametrize(("pair", "message"), [
    ("step-log.every=often", "option every='often' of callback 'step-log' must be int"),
    ("step-log.every=0", "option every=0 of callback 'step-log' must be at least 1"),
    ("step-log.evry=2", "callback 'step-log' has no option 'evry'; it accepts: every, exact, label"),
    ("other.every=2", "--callback-option names callback 'other', but the run uses step-log; add --callback other"),
    ("every=2", "--callback-option takes NAME.KEY=VALUE, got 'every=2'"),
    ("step-log.every", "--callback-option takes NAME.KEY=VALUE"),
])
def test_bad_callback_options_are_one_line_errors_before_anything_is_written(tmp_path, step_log_plugin, pair,
                                                                           message):
    out = tmp_path / "run"
    done = CliRunner().invoke(build_app(), [*CLI_RING, "--steps", "2", "--out", str(out), "--callback", "step-log",
                                            "--callback-option", pair])
    assert done.exit_code == 1 and message in done.output, done.output
    assert len(done.output.strip().splitlines()) == 1 and "Traceback" not in done.output
    assert not out.exists()


def test_options_for_a_callback_the_run_does_not_use_are_refused(step_log_plugin):
    with pytest.raises(ConfigError, match="but the run uses no callback; add --callback step-log"):
        ganzoo.training.resolve(TrainConfig("mlp-gan", dataset="ring-8", callback_options={"step-log": {"every": 2}}))


def test_a_record_declares_its_options_with_types():
    with pytest.raises(ConfigError, match="callback 'bad': option 'every' must declare a type"):
        ganzoo.CallbackSpec(name="bad", summary="x", builder=StepLog, options={"every": 3})


class Seen(Callback):
    def __init__(self) -> None:
        self.at_start = "unset"
        self.steps: list[StepMetrics] = []
        self.records: list[dict] = []

    def on_train_start(self, run):
        self.at_start = run.step_metrics

    def on_step_end(self, run):
        assert run.step_metrics.step == run.step
        self.steps.append(run.step_metrics)

    def on_train_end(self, run):
        self.records = list(run.counters.history)


def test_every_steps_metrics_are_a_read_only_mapping_whose_means_are_the_log_records(tmp_path):
    seen = Seen()
    train(TrainConfig(steps=6, out=tmp_path / "run", **RING), callbacks=[seen])
    assert seen.at_start is None  # before this session's first step
    assert [m.step for m in seen.steps] == [1, 2, 3, 4, 5, 6]
    first = seen.steps[0]
    assert isinstance(first, Mapping) and list(first) == list(METRICS) and len(first) == 4
    assert all(isinstance(first[key], float) for key in METRICS)
    with pytest.raises(TypeError):
        first["loss_d"] = 0.0  # type: ignore[index]
    with pytest.raises(KeyError):
        first["loss"]
    assert len({m["loss_d"] for m in seen.steps}) > 1  # each step's own values, not one repeated
    # the log record every --log-every (2) steps is the mean of the steps' values since the last one
    assert [r["step"] for r in seen.records] == [2, 4, 6]
    for record, pair in zip(seen.records, (seen.steps[0:2], seen.steps[2:4], seen.steps[4:6]), strict=True):
        for key in METRICS:
            assert record[key] == pytest.approx((pair[0][key] + pair[1][key]) / 2, abs=2e-6)
    assert "StepMetrics(step=1, {'loss_d':" in repr(first)
