"""bench/time_to_quality.py runs end to end on tiny MNIST files, so the benchmark cannot rot between its real runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import tiny_mnist_root

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "time_to_quality.py"


def race(data: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(data), "--every", "2", "--n", "64", "--threads", "1", *extra],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600,
    )


def table_rows(stdout: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in stdout.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows[1:]}


def test_a_target_both_reach_at_once_settles_the_race_after_the_first_scoring(tmp_path):
    data = tiny_mnist_root(tmp_path, count=256)
    done = race(data, "--target", "1e9", "--max-steps", "10",
                "--ganzoo-args", "--ema 10000 --batch-size 32 --loss relativistic --r1-gamma 0.1 --reg-every 2")
    assert done.returncode == 0, done.stderr[-4000:]
    assert "ganzoo recipe: --ema 10000 --batch-size 32" in done.stdout
    rows = table_rows(done.stdout)
    assert set(rows) == {"ganzoo", "textbook"}
    # both reached it at the first scoring, two steps in: the race stopped there
    assert rows["ganzoo"][1] == "2" and rows["textbook"][1] == "2", rows
    assert all(row[0].endswith(" s") for row in rows.values())
    assert "of the textbook's time" in done.stdout


def test_an_unreachable_target_runs_to_max_steps_and_says_not_reached(tmp_path):
    data = tiny_mnist_root(tmp_path, count=256)
    done = race(data, "--target", "-1", "--max-steps", "4", "--ganzoo-args", "--ema 0 --batch-size 32")
    assert done.returncode == 0, done.stderr[-4000:]
    rows = table_rows(done.stdout)
    assert rows["ganzoo"][0].startswith("not reached") and rows["ganzoo"][1] == "> 4", rows
    assert rows["textbook"][0].startswith("not reached") and rows["textbook"][1] == "> 4", rows
    assert "of the textbook's time" not in done.stdout


def test_a_flag_the_race_does_not_know_is_a_one_line_error(tmp_path):
    done = race(tmp_path, "--ganzoo-args", "--lr 1e-3")
    assert done.returncode != 0
    assert "--ganzoo-args: --lr is not one of" in done.stderr
    assert "Traceback" not in done.stderr


def test_by_default_the_race_runs_the_recipe_recorded_for_the_shipped_weights(tmp_path):
    import shlex

    import ganzoo

    recorded = shlex.split(ganzoo.get_model_spec("dcgan-mnist").weights[0].recipe.splitlines()[0])
    data = tiny_mnist_root(tmp_path, count=256)
    done = race(data, "--target", "1e9", "--max-steps", "4")
    assert done.returncode == 0, done.stderr[-4000:]
    printed = shlex.split(done.stdout.split("ganzoo recipe: ", 1)[1].splitlines()[0])
    assert printed and printed[0].startswith("--"), printed
    for position, word in enumerate(printed):  # the recorded flags, with their recorded values
        if word.startswith("--"):
            assert word in recorded, (word, recorded)
            value = printed[position + 1] if position + 1 < len(printed) else "--"
            if not value.startswith("--"):
                assert recorded[recorded.index(word) + 1] == value, (word, value, recorded)
    assert "--out" not in printed and "--seed" not in printed  # only the flags the race passes on
