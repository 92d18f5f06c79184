"""What users of StyleGAN2-ADA and Lightning expect of a trainer (issue 34): --threads, --init-from, --eval-every."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from helpers import tiny_image_folder, tiny_mnist_root
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import ganzoo
from ganzoo.cards.folder import read_export
from ganzoo.errors import ConfigError
from ganzoo.training import TrainConfig, Trainer, train
from ganzoo.training.callbacks import CpuSpeedWatch
from ganzoo.training.checkpoint import load_checkpoint
from ganzoo.training.threads import SpeedWatch, auto_threads, parse_threads

RING = dict(model="mlp-gan", dataset="ring-8", batch_size=16, limit=256, device="cpu", quiet=True, log_every=2,
            sample_every=1000, checkpoint_every=1000, threads=1)


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def states_equal(first: dict, second: dict) -> bool:
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


# ---------------------------------------------------------------------------------------------------- --threads
@pytest.mark.parametrize("cores,load,processes,expected", [
    (8, 0.2, 1, 8), (8, 5.4, 1, 3), (2, 3.3, 1, 1), (8, 0.0, 2, 4), (4, 1.0, 4, 1),
])
def test_auto_threads_takes_the_free_cores_of_the_affinity_less_the_load(monkeypatch, cores, load, processes,
                                                                         expected):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr("os.getloadavg", lambda: (load, 0.0, 0.0))
    count, why = auto_threads(processes)
    assert count == expected
    assert f"{cores} core(s) available, load average {load:.1f}" in why


@pytest.mark.parametrize("given", ["0", "-2", "2.5", "many", "2000"])
def test_a_bad_thread_count_is_one_line(given):
    with pytest.raises(ConfigError, match=r"--threads takes a whole number from 1 to 1024 or 'auto'"):
        parse_threads(given)
    assert parse_threads("auto") == "auto" and parse_threads("3") == 3 and parse_threads(None) is None


def test_the_speed_watch_warns_once_when_the_speed_stays_far_below_the_first_records():
    watch = SpeedWatch()
    said = [watch.observe(speed) for speed in (900, 1200, 1100, 1150, 250, 1000, 280, 200, 190, 150, 100)]
    # 250 alone is a hiccup (a checkpoint, a grid); 280 then 200 are two slow records in a row: one warning
    assert said == [None] * 7 + [1200, None, None, None]
    assert SpeedWatch().observe(float("nan")) is None


def test_the_oversubscription_notice_says_what_to_do():
    notes: list[str] = []
    history: list[dict] = []
    run = SimpleNamespace(counters=SimpleNamespace(history=history), device=torch.device("cpu"), notice=notes.append)
    callback = CpuSpeedWatch(facts=lambda: (2, 2, 3.7))
    callback.on_train_start(run)
    for step, speed in enumerate((7000, 7200, 6900, 7100, 400, 380, 390), start=1):
        history.append({"step": step, "images_per_s": speed})
        if step == 3:
            history.append({"step": step, "fid": 1.0})  # an evaluation's record has no speed
        callback.on_step_end(run)
    assert len(notes) == 1
    assert notes[0].startswith("the CPU is oversubscribed: training runs at 380 images/s, 19x slower than the 7,200")
    assert "2 torch thread(s) on 2 available core(s), load average 3.7" in notes[0]
    assert "--threads 1" in notes[0] and "fewer jobs" in notes[0]


def test_threads_are_set_recorded_and_kept_by_a_resume(tmp_path):
    before = torch.get_num_threads()
    try:
        result = train(TrainConfig(**{**RING, "threads": 2}, steps=2, out=tmp_path / "run"))
        assert torch.get_num_threads() == 2
        training = json.loads((result.export_dir / "config.json").read_text())["training"]
        assert training["threads"] == 2 and "(2 torch threads)" in training["hardware"]
        assert "--threads 2" in training["command"]
        assert load_checkpoint(result.checkpoint)["run"]["threads"] == 2
        torch.set_num_threads(1)
        again = train(TrainConfig(**{**RING, "threads": None}, steps=3, out=tmp_path / "run", resume=True))
        assert torch.get_num_threads() == 2  # the run's own count: the same rounding, so the resume is exact
        assert load_checkpoint(again.checkpoint)["run"]["threads"] == 2
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------------- --init-from
FACES = dict(model="dcgan-faces", batch_size=4, device="cpu", quiet=True, log_every=1000, sample_every=1000,
             checkpoint_every=1000, num_samples=4, options={"ngf": 4, "ndf": 4}, threads=1)


def test_fine_tuning_starts_a_new_run_from_an_exports_g_ema_and_d(tmp_path):
    first = train(TrainConfig(**FACES, data_dir=tiny_image_folder(tmp_path / "a", count=8), steps=2, ema=50,
                              out=tmp_path / "pre"))
    weights = read_export(first.export_dir, ema=False)
    average = read_export(first.export_dir, ema=True)[1]
    data = tiny_image_folder(tmp_path / "b", count=8)
    trainer = Trainer(TrainConfig(**FACES, data_dir=data, steps=2, ema=50, init_from=str(first.export_dir),
                                  out=tmp_path / "tuned", seed=7)).prepare()
    run = trainer.state
    assert states_equal(weights[1], run.generator.state_dict())
    assert states_equal(weights[2], run.discriminator.state_dict())
    assert states_equal(average, run.ema.module.state_dict())
    assert any("the generator, its moving average, the discriminator" in line for line in run.notices.lines)
    result = trainer.run()
    training = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert training["init_from"] == str(first.export_dir)
    assert f"--init-from {first.export_dir}" in training["command"]
    assert f"| initialised from | {first.export_dir} |" in result.card.read_text()
    assert not states_equal(weights[1], read_export(result.export_dir, ema=False)[1])  # it trained


def test_a_zoo_name_gives_the_generator_and_a_fresh_discriminator(tmp_path):
    data = tiny_mnist_root(tmp_path / "data")
    config = TrainConfig("dcgan-mnist", dataset="mnist", data_dir=data, steps=1, batch_size=4, limit=8, device="cpu",
                         quiet=True, out=tmp_path / "run", init_from="dcgan-mnist", threads=1)
    run = Trainer(config).prepare().state
    zoo = ganzoo.load("dcgan-mnist").generator.state_dict()
    assert all(torch.equal(zoo[k].float(), v) for k, v in run.generator.state_dict().items() if k in zoo)
    assert any("the discriminator starts from scratch" in line for line in run.notices.lines)
    run.lock.release()


def test_a_source_of_another_shape_or_model_is_refused_naming_the_tensor(tmp_path):
    first = train(TrainConfig(**FACES, data_dir=tiny_image_folder(tmp_path / "a", count=8), steps=1,
                              out=tmp_path / "pre"))
    data = tiny_image_folder(tmp_path / "b", count=8)
    wider = {**FACES, "options": {"ngf": 8, "ndf": 4}}
    with pytest.raises(ConfigError, match=r"does not fit this run: tensor 'generator\.\S+' is 100x32x4x4 in the "
                       r"source but 100x64x4x4 in this run; .*give the same --option values") as caught:
        train(TrainConfig(**wider, data_dir=data, steps=1, init_from=str(first.export_dir), out=tmp_path / "x"))
    assert "\n" not in str(caught.value)
    mnist = tiny_mnist_root(tmp_path / "data")
    with pytest.raises(ConfigError, match="holds a dcgan-faces model, not dcgan-mnist"):
        train(TrainConfig("dcgan-mnist", dataset="mnist", data_dir=mnist, steps=1, batch_size=4, device="cpu",
                          quiet=True, out=tmp_path / "y", init_from=str(first.export_dir)))


def test_init_from_with_resume_is_refused_in_one_line(tmp_path):
    train(TrainConfig(**RING, steps=2, out=tmp_path / "run", init_from=None))
    with pytest.raises(ConfigError, match=r"^--init-from starts a new run .* drop --init-from"):
        train(TrainConfig(**RING, steps=3, out=tmp_path / "run", resume=True, init_from="mlp-gan"))


# ------------------------------------------------------------------------------------------------ --eval-every
def test_evaluations_are_logged_timed_kept_as_best_and_exported(tmp_path):
    result = train(TrainConfig(**RING, steps=6, out=tmp_path / "run", eval_every=3, eval_samples=40,
                               tensorboard=True))
    scored = [r for r in records(result.out) if "fid" in r]
    assert [r["step"] for r in scored] == [3, 6]
    assert all(r["eval_samples"] == 40 and r["eval_seconds"] >= 0 and r["kid_mean"] == r["kid_mean"] for r in scored)
    best = min(scored, key=lambda r: r["fid"])
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert saved["parts"]["counters"]["step"] == best["step"]
    exported = tmp_path / "run" / "export-best"
    training = json.loads((exported / "config.json").read_text())
    assert training["training"]["steps"] == best["step"]
    assert training["metrics"]["fid"] == best["fid"]
    assert f"at step {best['step']} of 6" in training["training"]["selected"]
    loaded = ganzoo.load(exported)
    assert states_equal(saved["parts"]["generator"], loaded.generator.state_dict())
    events = EventAccumulator(str(tmp_path / "run" / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("eval/fid")] == [3, 6]
    assert {"eval/kid_mean", "eval/seconds"} <= set(events.Tags()["scalars"])
    assert "train/eval_samples" not in events.Tags()["scalars"]


def test_evaluation_time_is_left_out_of_images_per_s(tmp_path, monkeypatch):
    from ganzoo.training.callbacks import snapshot_metrics

    offset = [0.0]
    real_clock = time.perf_counter
    monkeypatch.setattr(time, "perf_counter", lambda: real_clock() + offset[0])
    scoring = snapshot_metrics.SnapshotScorer.score

    def slow(self, run):
        offset[0] += 100.0  # an evaluation of 100 seconds, on a faked clock
        return scoring(self, run)

    monkeypatch.setattr(snapshot_metrics.SnapshotScorer, "score", slow)
    result = train(TrainConfig(**RING, steps=4, out=tmp_path / "run", eval_every=2, eval_samples=40))
    speeds = [r["images_per_s"] for r in records(result.out) if "images_per_s" in r]
    assert min(speeds) > 10  # 32 images in 100 s would read 0.3 images/s
    assert result.images_per_s > 10 and result.wall_time_s > 200
    training = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert training["evaluation_time_s"] >= 200


def test_a_run_with_evaluations_resumes_exactly_and_trains_what_a_run_without_them_trains(tmp_path):
    settings = dict(RING, checkpoint_every=3, eval_every=2, eval_samples=40, ema=500)
    whole = train(TrainConfig(**settings, steps=7, out=tmp_path / "whole"))
    train(TrainConfig(**settings, steps=3, out=tmp_path / "parts"))
    resumed = train(TrainConfig(**settings, steps=7, out=tmp_path / "parts", resume=True))
    plain = train(TrainConfig(**{**settings, "eval_every": None}, steps=7, out=tmp_path / "plain"))
    a, b, c = (load_checkpoint(r.checkpoint)["parts"] for r in (whole, resumed, plain))
    for key in ("generator", "discriminator"):
        assert states_equal(a[key], b[key]) and states_equal(a[key], c[key]), key
    assert states_equal(a["ema"]["module"], b["ema"]["module"])
    assert torch.equal(a["noise"]["rng"], b["noise"]["rng"]) and torch.equal(a["noise"]["rng"], c["noise"]["rng"])
    whole_fids, parts_fids = ({r["step"]: r["fid"] for r in p["counters"]["history"] if "fid" in r} for p in (a, b))
    assert list(whole_fids) == [2, 4, 6, 7]
    assert list(parts_fids) == [2, 3, 4, 6, 7]  # the first part finished at step 3, and scored its end
    assert {step: parts_fids[step] for step in whole_fids} == whole_fids  # the same samples, the same scores
    best_a = load_checkpoint(tmp_path / "whole" / "checkpoints" / "best.pt")["parts"]["generator"]
    best_b = load_checkpoint(tmp_path / "parts" / "checkpoints" / "best.pt")["parts"]["generator"]
    assert states_equal(best_a, best_b)
