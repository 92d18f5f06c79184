"""Training callbacks: the built-ins' events, a plugin's callback by name, its state across a resume, stopping."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import plugin_object
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.errors import TrainingDivergedError, UnknownNameError
from ganzoo.training import Callback, TrainConfig, Trainer, train
from ganzoo.training.checkpoint import load_checkpoint

RING = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu", "log_every": 2}


class StepCounter(Callback):
    """Counts the steps it saw; its count travels in the checkpoint."""

    def __init__(self) -> None:
        self.count = 0

    def on_step_end(self, run):
        self.count += 1

    def on_train_end(self, run):
        if run.is_main:
            (run.paths.out / "count.txt").write_text(str(self.count))

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = int(state["count"])


@pytest.fixture
def counter_plugin(use_plugins):
    @ganzoo.hookimpl
    def register_callbacks(register):
        register(ganzoo.CallbackSpec(name="step-counter", summary="Counts steps.", builder=StepCounter))

    use_plugins(plugin_object(register_callbacks=register_callbacks))


class Events(Callback):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_train_start(self, run):
        self.seen.append("start")

    def on_step_end(self, run):
        self.seen.append(f"step {run.step}")

    def on_train_end(self, run):
        self.seen.append(f"end {run.outcome}")

    def teardown(self, run):
        self.seen.append("teardown")


def test_a_plugin_callback_is_turned_on_by_name_and_resumes_with_its_state(tmp_path, counter_plugin):
    assert ganzoo.list_callbacks() == ["step-counter"]
    first = train(TrainConfig(steps=3, out=tmp_path / "run", callbacks=("step-counter",), **RING))
    assert (tmp_path / "run" / "count.txt").read_text() == "3"
    saved = load_checkpoint(first.checkpoint)
    with_callback = saved["parts"]["generator"]
    assert saved["parts"]["callback:step-counter"] == {"count": 3} and saved["run"]["callbacks"] == ["step-counter"]
    training = json.loads((first.export_dir / "config.json").read_text())["training"]
    assert training["callbacks"] == ["step-counter"]
    # resumed without naming it: the run keeps its callbacks, and the count goes on from the checkpoint
    train(TrainConfig(steps=5, out=tmp_path / "run", resume=True, **RING))
    assert (tmp_path / "run" / "count.txt").read_text() == "5"
    plain = train(TrainConfig(steps=3, out=tmp_path / "plain", **RING))  # the callback changes no weights
    without = load_checkpoint(plain.checkpoint)["parts"]["generator"]
    assert all(torch.equal(with_callback[k], without[k]) for k in with_callback)


def test_the_command_repeats_the_callbacks_and_unknown_names_are_suggested(tmp_path, counter_plugin):
    result = train(TrainConfig(steps=2, out=tmp_path / "run", callbacks=("step-counter",), **RING))
    command = json.loads((result.export_dir / "config.json").read_text())["training"]["command"]
    assert "--callback step-counter" in command
    with pytest.raises(UnknownNameError, match="Did you mean 'step-counter'"):
        train(TrainConfig(steps=2, out=tmp_path / "typo", callbacks=("step-countr",), **RING))
    assert not (tmp_path / "typo").exists()  # refused before anything is written


def test_the_cli_lists_describes_and_turns_on_callbacks(tmp_path, counter_plugin):
    runner = CliRunner()
    listed = runner.invoke(build_app(), ["list", "--callbacks", "--json"])
    assert [row["name"] for row in json.loads(listed.stdout)] == ["step-counter"]
    info = runner.invoke(build_app(), ["info", "step-counter", "--json"])
    assert info.exit_code == 0 and json.loads(info.stdout)["record"] == "callback"
    out = tmp_path / "cli"
    trained = runner.invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "2", "--batch-size",
                                          "16", "--device", "cpu", "--quiet", "--out", str(out),
                                          "--callback", "step-counter"])
    assert trained.exit_code == 0, trained.output
    assert (out / "count.txt").read_text() == "2"
    wrong = runner.invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "2",
                                        "--out", str(tmp_path / "x"), "--callback", "nope"])
    assert wrong.exit_code != 0 and "unknown callback 'nope'" in wrong.output


def test_events_come_in_order_and_teardown_follows_a_failure(tmp_path):
    events = Events()
    train(TrainConfig(steps=3, out=tmp_path / "run", **RING), callbacks=[events])
    assert events.seen == ["start", "step 1", "step 2", "step 3", "end finished", "teardown"]
    failing = Events()
    with pytest.raises(TrainingDivergedError):
        train(TrainConfig(steps=8, out=tmp_path / "nan", lr=1e30, **RING), callbacks=[failing])
    assert failing.seen[0] == "start" and failing.seen[-1] == "teardown"
    assert not any(event.startswith("end") for event in failing.seen)  # no end of a run that failed


def test_a_callback_can_stop_the_run_with_a_checkpoint(tmp_path):
    class StopAt2(Callback):
        def on_step_end(self, run):
            if run.step == 2:
                run.outcome = "interrupted"

    events = Events()
    with pytest.raises(KeyboardInterrupt):
        Trainer(TrainConfig(steps=5, out=tmp_path / "run", **RING), callbacks=[StopAt2(), events]).run()
    assert events.seen[-2:] == ["end interrupted", "teardown"]
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["parts"]["counters"]["step"] == 2
    assert not (tmp_path / "run" / "export").exists()
    assert train(TrainConfig(steps=5, out=tmp_path / "run", resume=True, **RING)).steps == 5


def test_a_data_sets_failing_sample_metrics_are_a_note_not_a_lost_run(tmp_path, use_plugins):
    def broken(samples, dataset):
        raise ValueError("no centres for " + dataset)

    @ganzoo.hookimpl
    def register_datasets(register):
        register(ganzoo.DatasetSpec(name="ring-8-broken", summary="ring-8 with metrics that fail.",
                                    loader="ganzoo_plugins.datasets.toy2d:load_ring_8", sample_shape=(2,),
                                    embedded=True, sample_metrics=broken))

    use_plugins(plugin_object(register_datasets=register_datasets))
    result = train(TrainConfig(steps=2, out=tmp_path / "run", **{**RING, "dataset": "ring-8-broken"}))
    notes = json.loads((result.export_dir / "config.json").read_text())["training"]["notices"]
    plugin = ganzoo.get_dataset_spec("ring-8-broken").plugin
    assert notes == [f"the sample metrics of dataset 'ring-8-broken' (plugin '{plugin}') failed and are left out: "
                     "ValueError: no centres for ring-8-broken"]
    assert "modes_covered" not in result.metrics and result.export_dir.is_dir()
    ring = train(TrainConfig(steps=2, out=tmp_path / "ring", **RING))  # the built-in toy sets declare theirs
    assert ring.metrics["modes_covered"].endswith("/8")


def test_a_checkpoint_holds_each_callbacks_state_after_the_step_it_was_written_at(tmp_path, counter_plugin):
    """The periodic checkpoint is written after the run's own callbacks: a resume goes on from the next step, so a
    state saved before the callback's on_step_end would lose that step (the count would be 1 here, not 2)."""

    class Killed(Callback):
        def on_step_end(self, run):
            if run.step == 3:
                raise RuntimeError("killed after step 3")

    with pytest.raises(RuntimeError, match="killed"):
        train(TrainConfig(steps=4, checkpoint_every=2, out=tmp_path / "run", callbacks=("step-counter",), **RING),
              callbacks=[Killed()])
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert saved["parts"]["counters"]["step"] == 2 and saved["parts"]["callback:step-counter"] == {"count": 2}
    train(TrainConfig(steps=4, out=tmp_path / "run", resume=True, **RING))
    assert (tmp_path / "run" / "count.txt").read_text() == "4"  # as in a run that was never stopped
