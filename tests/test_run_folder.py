"""A run folder has one writer, never gets stuck, and a run stops cleanly on SIGTERM (issue: reliability)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError, DiskFullError, FolderEscapeError, TrainingDivergedError
from ganzoo.io.files import write_atomic
from ganzoo.training import Callback, TrainConfig, TrainingStopped, train
from ganzoo.training.checkpoint import load_checkpoint
from ganzoo.training.parallel.runlock import LOCK_NAME, RunFolderLock

RING = {"model": "mlp-gan", "dataset": "ring-8", "batch_size": 16, "quiet": True, "device": "cpu", "log_every": 1}


class SignalAt(Callback):
    """Sends a signal to this process at the end of step ``step``: it arrives as step ``step + 1`` runs
    (the built-in callbacks, which stop the run, have already had their turn at this step)."""

    def __init__(self, step: int, signum: int):
        self.step, self.signum = step, signum

    def on_step_end(self, run):
        if run.step == self.step:
            os.kill(os.getpid(), self.signum)


def generator_of(path) -> dict:
    return load_checkpoint(path)["parts"]["generator"]


# ---------------------------------------------------------------- one writer
HOLD = """
import sys, time
from ganzoo.training.parallel.runlock import RunFolderLock
RunFolderLock(sys.argv[1]).acquire()
print("holding", flush=True)
time.sleep(120)
"""


def test_a_second_writer_is_refused_at_once_naming_the_holder_and_kill_9_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.perf_counter()
        with pytest.raises(ConfigError, match=rf"is being written by another ganzoo train \(pid {holder.pid}\)"):
            train(TrainConfig(steps=2, out=out, **RING))
        assert time.perf_counter() - started < 10
        with pytest.raises(ConfigError, match=rf"pid {holder.pid}"):
            train(TrainConfig(steps=2, out=out, resume=True, **RING))
    finally:
        holder.kill()  # SIGKILL: the kernel drops the lock with the process
        holder.wait()
    assert train(TrainConfig(steps=2, out=out, **RING)).steps == 2
    assert (out / LOCK_NAME).exists() and not RunFolderLock(out).acquire().release()  # free again


def test_the_lock_is_held_for_the_whole_run(tmp_path):
    class TrySecondWriter(Callback):
        def on_step_end(self, run):
            if run.step == 1:
                with pytest.raises(ConfigError, match=f"pid {os.getpid()}"):
                    RunFolderLock(run.paths.out).acquire()
                self.checked = True

    probe = TrySecondWriter()
    train(TrainConfig(steps=2, out=tmp_path / "run", **RING), callbacks=[probe])
    assert probe.checked
    RunFolderLock(tmp_path / "run").acquire().release()  # released at the end


# ---------------------------------------------------------------- runs that cannot get stuck
def test_a_folder_without_checkpoint_or_export_can_be_started_afresh(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(TrainingDivergedError, match="no checkpoint had been written yet"):  # a NaN at step 1
        train(TrainConfig(steps=5, out=out, lr=1e30, checkpoint_every=100, **RING))
    assert (out / "log.jsonl").exists() and not (out / "checkpoints" / "last.pt").exists()
    with pytest.raises(ConfigError, match=r"no checkpoint at .*drop --resume"):
        train(TrainConfig(steps=5, out=out, resume=True, **RING))
    capsys.readouterr()
    again = train(TrainConfig(steps=3, out=out, **RING))  # the way out the message offers works
    assert again.steps == 3 and "starting afresh" in capsys.readouterr().err
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]  # the dead attempt's records are gone
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):  # now there is one to lose
        train(TrainConfig(steps=3, out=out, **RING))


def test_stale_temporaries_of_a_killed_write_are_removed_on_the_next_start(tmp_path, capsys):
    out = tmp_path / "run"
    train(TrainConfig(steps=2, out=out, **RING))
    stale = out / "checkpoints" / ".ganzoo-last.pt.k3j9x2ab.tmp"
    stale.write_bytes(b"half a checkpoint")
    capsys.readouterr()
    train(TrainConfig(steps=3, out=out, resume=True, **RING))
    assert not stale.exists() and "removed 1 temporary file" in capsys.readouterr().err


def test_the_cleanup_removes_only_ganzoos_own_temporaries_and_never_follows_a_link(tmp_path, monkeypatch):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "samples").symlink_to(elsewhere, target_is_directory=True)  # a linked sub-folder: not the run's

    def killed(file):  # a durable write killed half-way leaves its temporary, under ganzoo's own name
        file.write(b"half a checkpoint")
        monkeypatch.setattr(os, "replace", lambda *_: os.kill(os.getpid(), signal.SIGKILL))

    def left_by_a_killed_write(folder):
        before = set(folder.iterdir())
        child = os.fork()
        if child == 0:  # pragma: no cover - the child dies in os.replace
            write_atomic(folder / "last.pt", killed)
        os.waitpid(child, 0)
        (left,) = set(folder.iterdir()) - before
        return left

    stale = left_by_a_killed_write(out / "checkpoints")
    theirs = left_by_a_killed_write(elsewhere)  # ganzoo's name, but outside the run folder
    kept = [out / ".notes.tmp", out / "checkpoints" / ".draft.abcdefgh.tmp"]  # a user's, named like a temporary
    for path in kept:
        path.write_text("mine")
    link = out / ".ganzoo-x.abcdefgh.tmp"
    link.symlink_to(kept[0])
    with pytest.raises(FolderEscapeError, match=rf"{out / 'samples'} is a symbolic link"):  # after the cleanup
        train(TrainConfig(steps=1, out=out, resume=True, **RING))
    assert not stale.exists()
    assert theirs.exists() and all(p.read_text() == "mine" for p in kept) and link.is_symlink()


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_is_untouched(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("do not truncate me")
    (out / LOCK_NAME).symlink_to(precious)
    for resume in (True, False):
        with pytest.raises(FolderEscapeError, match=rf"{out / LOCK_NAME} is a symbolic link") as refused:
            train(TrainConfig(steps=1, out=out, resume=resume, **RING))
        assert "\n" not in str(refused.value)
    assert precious.read_text() == "do not truncate me"


def test_a_run_folder_entry_that_links_out_is_refused_and_nothing_is_written_there(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(steps=2, out=out, **RING))
    elsewhere = tmp_path / "elsewhere"
    (out / "export").rename(elsewhere)
    (out / "export").symlink_to(elsewhere, target_is_directory=True)
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir()}
    trained = []

    class Trained(Callback):
        def on_step_end(self, run):
            trained.append(run.step)

    with pytest.raises(FolderEscapeError, match=rf"{out / 'export'} is a symbolic link to {elsewhere}, outside "
                                                rf"the run folder {out}"):
        train(TrainConfig(steps=3, out=out, resume=True, **RING), callbacks=[Trained()])
    assert trained == []  # refused before any work
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before
    (out / "export").unlink()
    (out / "log.jsonl").rename(tmp_path / "log.jsonl")
    (out / "log.jsonl").symlink_to(tmp_path / "log.jsonl")
    log = (tmp_path / "log.jsonl").read_bytes()
    with pytest.raises(FolderEscapeError, match=r"log.jsonl is a symbolic link"):
        train(TrainConfig(steps=3, out=out, resume=True, **RING))
    assert (tmp_path / "log.jsonl").read_bytes() == log  # not truncated, not appended to
    (out / "log.jsonl").unlink()
    assert train(TrainConfig(steps=3, out=out, resume=True, **RING)).steps == 3  # the links gone, it goes on


def test_resume_with_fewer_steps_than_done_is_refused_and_changes_nothing(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(steps=4, out=out, **RING))
    before = {p: p.read_bytes() for p in (out / "checkpoints" / "last.pt", out / "export" / "config.json",
                                          out / "export" / "README.md")}
    with pytest.raises(ConfigError, match=r"has trained 4 steps already and --steps/--epochs asks for 2"):
        train(TrainConfig(steps=2, out=out, resume=True, **RING))
    assert all(path.read_bytes() == data for path, data in before.items())


# ---------------------------------------------------------------- signals
def test_sigterm_stops_after_the_step_with_a_checkpoint_and_the_run_resumes_exactly(tmp_path, capsys):
    whole = train(TrainConfig(steps=5, out=tmp_path / "whole", **RING))
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingStopped) as stopped:
        train(TrainConfig(steps=5, out=tmp_path / "cut", **RING), callbacks=[SignalAt(2, signal.SIGTERM)])
    assert stopped.value.exit_code == 143 and stopped.value.step == 3
    assert "stopped by SIGTERM at step 3; checkpoint saved" in capsys.readouterr().err  # said, though --quiet
    assert signal.getsignal(signal.SIGTERM) is handler
    resumed = train(TrainConfig(steps=5, out=tmp_path / "cut", resume=True, **RING))
    a, b = generator_of(whole.checkpoint), generator_of(resumed.checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ctrl_c_with_quiet_says_where_the_checkpoint_is(tmp_path, capsys):
    with pytest.raises(TrainingStopped) as stopped:
        train(TrainConfig(steps=5, out=tmp_path / "run", **RING), callbacks=[SignalAt(3, signal.SIGINT)])
    assert stopped.value.exit_code == 130
    said = capsys.readouterr().err
    assert said.count("\n") == 1 and "stopped by Ctrl-C at step 4; checkpoint saved to" in said


def test_the_cli_exits_143_on_sigterm_with_a_checkpoint(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "ganzoo", "train", "mlp-gan", "--dataset", "ring-8", "--steps", "200000",
               "--batch-size", "16", "--device", "cpu", "--out", str(out), "--log-every", "5"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        assert "200000 steps" in process.stderr.readline()  # training has started
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, rest
    assert "stopped by SIGTERM at step" in rest and "Traceback" not in rest
    assert load_checkpoint(out / "checkpoints" / "last.pt")["parts"]["counters"]["step"] > 0


# ---------------------------------------------------------------- output paths and a full disk
@pytest.mark.parametrize("where", ["a file", "below a file", "/proc"])
def test_an_unwritable_out_is_one_line_before_training_starts(tmp_path, where):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    out = {"a file": blocker, "below a file": blocker / "run", "/proc": "/proc/ganzoo-run"}[where]
    runner = CliRunner()
    result = runner.invoke(build_app(), ["train", "dcgan-mnist", "--data", str(tmp_path / "no-data-here"),
                                         "--steps", "2", "--out", str(out)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--out" in lines[0] and str(out) in lines[0], result.output
    assert "MNIST" not in result.output  # refused before the (missing) data was looked at
    assert blocker.read_text() == "not a folder"


def test_a_full_disk_at_a_checkpoint_is_one_line_and_keeps_the_last_good_one(tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(TrainConfig(steps=2, out=out, checkpoint_every=1, **RING))
    good = (out / "checkpoints" / "last.pt").read_bytes()
    saving = torch.save

    def full_disk(obj, file, *args, **kwargs):
        if obj.get("parts", {}).get("counters", {}).get("step") == 4:
            file.write(b"x" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        return saving(obj, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(DiskFullError) as caught:
        train(TrainConfig(steps=6, out=out, checkpoint_every=1, resume=True, **RING))
    message = str(caught.value)
    assert "\n" not in message and "no space left on the device" in message and str(out / "checkpoints") in message
    assert "the last good checkpoint, at step 3, is kept" in message and "continue with --resume" in message
    monkeypatch.undo()
    assert load_checkpoint(out / "checkpoints" / "last.pt")["parts"]["counters"]["step"] == 3
    assert good != (out / "checkpoints" / "last.pt").read_bytes()  # step 3 was written before the disk filled
    assert not [p for p in (out / "checkpoints").iterdir() if p.name != "last.pt"]  # no half-written file
    assert train(TrainConfig(steps=6, out=out, resume=True, **RING)).steps == 6  # the advice works
