"""bench/time_to_quality.py runs end to end on tiny MNIST files, so the benchmark cannot rot between its real runs."""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import tiny_mnist_root

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "time_to_quality.py"


def race(data: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(data), "--n", "64", "--threads", "1", *extra],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600,
    )


def table_rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    """(loop, target) -> [training time, steps, images, FID then]."""
    rows = [line.strip("|").split("|") for line in stdout.splitlines() if line.startswith("| ")]
    return {(cells[0].strip(), cells[1].strip()): [cell.strip() for cell in cells[2:]] for cells in rows[1:]}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("time_to_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


def test_a_target_both_reach_at_once_settles_the_race_after_the_first_scoring(tmp_path):
    data = tiny_mnist_root(tmp_path, count=256)
    done = race(data, "--every", "2", "--target", "1e9", "--max-steps", "10",
                "--ganzoo-args", "--ema 10000 --batch-size 32 --loss relativistic --r1-gamma 0.1 --reg-every 2")
    assert done.returncode == 0, done.stderr[-4000:]
    assert "ganzoo: ganzoo train dcgan-mnist --ema 10000 --batch-size 32" in done.stdout
    rows = table_rows(done.stdout)
    assert set(rows) == {("ganzoo", "1e+09"), ("textbook", "1e+09")}
    # both reached it at the first scoring, two steps in: the race stopped there
    assert rows["ganzoo", "1e+09"][1] == "2" and rows["textbook", "1e+09"][1] == "2", rows
    assert rows["ganzoo", "1e+09"][2] == "64" and rows["textbook", "1e+09"][2] == "256", rows  # images: batches
    assert all(row[0].endswith(" s") for row in rows.values())
    assert "of textbook's time" in done.stdout or "of ganzoo's time" in done.stdout


def test_an_unreachable_target_runs_to_max_steps_and_says_not_reached(tmp_path):
    data = tiny_mnist_root(tmp_path, count=256)
    done = race(data, "--every", "2", "--target", "-1", "--max-steps", "4", "--ganzoo-args", "--ema 0 --batch-size 32")
    assert done.returncode == 0, done.stderr[-4000:]
    rows = table_rows(done.stdout)
    for loop in ("ganzoo", "textbook"):
        assert rows[loop, "-1"][0].startswith("not reached") and rows[loop, "-1"][1] == "> 4", rows
    assert "FID -1: no loop reached it" in done.stdout
    assert "stopped: --max-steps 4" in done.stdout


def test_two_ganzoo_models_race_on_their_own_recipes_with_two_targets(tmp_path):
    data = tiny_mnist_root(tmp_path, count=256)
    done = race(data, "--every", "2", "--max-steps", "2", "--target", "1e9", "--target", "-1",
                "--loop", "dcgan=train:dcgan-mnist --batch-size 16 --ema 0",
                "--loop", "r3gan=train:r3gan --batch-size 8 --option widths=32,16,16 --lr 5e-4")
    assert done.returncode == 0, done.stderr[-4000:]
    assert "r3gan: ganzoo train r3gan --batch-size 8 --option widths=32,16,16 --lr 5e-4" in done.stdout
    rows = table_rows(done.stdout)
    assert set(rows) == {(loop, target) for loop in ("dcgan", "r3gan") for target in ("1e+09", "-1")}
    assert rows["dcgan", "1e+09"][1:3] == ["2", "32"] and rows["r3gan", "1e+09"][1:3] == ["2", "16"], rows
    assert rows["r3gan", "-1"][0].startswith("not reached"), rows
    assert "textbook" not in done.stdout


@pytest.mark.parametrize(("extra", "message"), [
    (("--ganzoo-args", "--out elsewhere"), "--loop: --out is set by the race for every loop; leave it out"),
    (("--ganzoo-args", "--no-such-flag 3"), "is not a ganzoo train command"),
    (("--loop", "a=zoo:no-such-model"), "error: unknown model 'no-such-model'"),
    (("--loop", "a=textbook", "--loop", "a=textbook"), "each loop needs its own name"),
    (("--loop", "bogus"), "give NAME=SPEC"),
])
def test_a_loop_the_race_cannot_run_is_a_one_line_error(tmp_path, extra, message):
    done = race(tmp_path, *extra)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_by_default_the_race_runs_the_recipe_recorded_for_the_shipped_weights(bench):
    import ganzoo

    recorded = shlex.split(ganzoo.get_model_spec("dcgan-mnist").weights[0].recipe.splitlines()[0])
    printed = bench.zoo_recipe("dcgan-mnist")
    assert printed[0] == "dcgan-mnist" and len(printed) > 3, printed
    for position, word in enumerate(printed[1:], start=1):  # the recorded flags, with their recorded values
        if word.startswith("--"):
            assert word in recorded, (word, recorded)
            value = printed[position + 1] if position + 1 < len(printed) else "--"
            if not value.startswith("--"):
                assert recorded[recorded.index(word) + 1] == value, (word, value, recorded)
    assert not set(printed) & set(bench.RACE_SETS)  # only the flags the race does not set itself
    assert bench.config_fields(printed)["model"] == "dcgan-mnist"  # and ganzoo train's parser takes them


def entrant(bench, name, seconds, reached, steps=10, max_steps=100):
    made = bench.Entrant(name, SimpleNamespace(steps=steps, images=steps * 8), list(reached))
    made.seconds, made.reached = seconds, dict(reached)
    return made


def race_args(**changes):
    return argparse.Namespace(**{"max_steps": 100, "max_seconds": None, "give_up": 2.0, **changes})


def test_a_loop_gives_up_only_when_every_missing_target_was_reached_by_another_in_half_its_time(bench):
    fast = entrant(bench, "fast", 100.0, {20.0: (50.0, 5, 40, 19.0), 10.0: None})
    slow = entrant(bench, "slow", 100.0, {20.0: None, 10.0: None})
    field = [fast, slow]
    slow.settle(field, race_args())
    assert slow.stopped == ""  # FID 10 was reached by nobody: keep going
    fast.reached[10.0] = (60.0, 6, 48, 9.0)
    slow.settle(field, race_args())
    assert slow.stopped == ""  # 100 s < 2 x 60 s
    slow.seconds = 120.0
    slow.settle(field, race_args())
    assert slow.stopped.startswith("trained 2x as long")
    fast.settle(field, race_args())
    assert fast.stopped == "reached every target"


def test_a_loop_stops_at_its_step_or_time_budget(bench):
    field = [entrant(bench, "a", 10.0, {20.0: None}, steps=100)]
    field[0].settle(field, race_args())
    assert field[0].stopped == "--max-steps 100"
    field = [entrant(bench, "b", 301.0, {20.0: None})]
    field[0].settle(field, race_args(max_seconds=300.0))
    assert field[0].stopped == "--max-seconds 300"


def test_a_run_trained_apart_is_scored_from_its_kept_checkpoints_at_its_logged_times(tmp_path):
    """--scored-run: each kept last.pt scored with the race's protocol, at the run's log.jsonl time of its step."""
    import json
    import shutil

    data = tiny_mnist_root(tmp_path, count=256)
    run, kept = tmp_path / "run", tmp_path / "kept"
    kept.mkdir()
    train = [sys.executable, "-m", "ganzoo", "train", "dcgan-mnist", "--data", str(data), "--batch-size", "8",
             "--log-every", "1", "--checkpoint-every", "2", "--quiet", "--device", "cpu", "--out", str(run)]
    for steps, more in ((2, ()), (3, ("--resume",))):
        done = subprocess.run([*train, "--steps", str(steps), *more], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        shutil.copy(run / "checkpoints" / "last.pt", kept / f"at-{steps}.pt")
    times = {r["step"]: r["time"] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines())}
    done = race(data, "--scored-run", f"apart={run}", "--checkpoints", str(kept / "at-3.pt"), str(kept / "at-2.pt"),
                "--target", "1e9", "--target", "-1")
    assert done.returncode == 0, done.stderr[-4000:]
    rows = table_rows(done.stdout)
    assert rows["apart", "1e+09"][:3] == [f"{times[2]:.0f} s", "2", "16"], rows  # the earlier checkpoint first
    assert rows["apart", "-1"][0] == f"not reached in {times[3]:.0f} s" and rows["apart", "-1"][1:3] == ["> 3", "> 24"]
    alone = race(data, "--scored-run", f"apart={run}")
    assert alone.returncode != 0 and "--scored-run NAME=RUN and --checkpoints FILE... go together" in alone.stderr
