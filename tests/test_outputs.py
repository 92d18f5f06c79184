"""Output paths (ganzoo.io.files): checked before the work, and every OS error on one is a single line.

``unwritable`` is a folder that nothing can be written into, made by the ``lock`` fixture
(conftest.py): a read-only bind mount, a ``chmod 555`` folder, or an injected error.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from helpers import inject_os_error
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.errors import DiskFullError, OutputError, WeightsError
from ganzoo.io.files import (
    check_output_file,
    check_output_folder,
    find_os_error,
    make_folder,
    write_atomic,
    write_bytes,
    write_text,
)

runner = CliRunner()


@pytest.fixture
def unwritable(tmp_path: Path, lock: Callable[[Path], str]) -> tuple[Path, str]:
    """``(folder, what the error says)``: a folder holding ``old.png`` that nothing can be written into."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "old.png").write_bytes(b"old")
    return folder, lock(folder)


def test_a_file_path_that_is_a_folder_or_below_a_file_is_refused(tmp_path):
    (tmp_path / "grid").mkdir()
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match=r"grid \(-o\): it is a folder"):
        check_output_file(tmp_path / "grid", what="-o")
    with pytest.raises(OutputError, match=f"{tmp_path / 'plain'} is a file, not a folder"):
        check_output_file(tmp_path / "plain" / "deeper" / "x.png")
    assert check_output_file(tmp_path / "new" / "x.png") == tmp_path / "new" / "x.png"
    assert not (tmp_path / "new").exists()  # a check creates nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid", "plain"]


def test_a_folder_path_that_is_a_file_or_below_a_file_is_refused(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match=r"cannot use .*plain \(--out\): it exists and is a file, not a folder"):
        check_output_folder(tmp_path / "plain", what="--out")
    with pytest.raises(OutputError, match="plain is a file, not a folder"):
        check_output_folder(tmp_path / "plain" / "run")
    with pytest.raises(OutputError, match="plain is a file, not a folder"):
        make_folder(tmp_path / "plain" / "run")
    assert check_output_folder(tmp_path / "run" / "a") == tmp_path / "run" / "a"
    assert not (tmp_path / "run").exists()


def test_read_only_or_unwritable_places_are_refused_before_and_while_writing(unwritable):
    folder, problem = unwritable
    for check in (check_output_file, check_output_folder):
        with pytest.raises(OutputError) as caught:
            check(folder / "sub" / "x.png")
        assert problem in str(caught.value)
    with pytest.raises(OutputError) as caught:
        write_bytes(folder / "old.png", b"new")
    assert problem in str(caught.value) and "old.png" in str(caught.value)
    assert (folder / "old.png").read_bytes() == b"old"


def test_no_permission_is_named_as_such(tmp_path, monkeypatch):
    inject_os_error(monkeypatch, tmp_path / "theirs", errno.EACCES)
    (tmp_path / "theirs").mkdir()
    with pytest.raises(OutputError, match=f"no permission to write in {tmp_path / 'theirs'}$"):
        check_output_file(tmp_path / "theirs" / "x.png")
    with pytest.raises(OutputError, match="no permission to write in"):
        write_text(tmp_path / "theirs" / "a" / "config.json", "{}")


def test_proc_takes_no_new_files():
    for check in (check_output_file, check_output_folder):
        with pytest.raises(OutputError, match="/proc takes no new files"):
            check("/proc/ganzoo-out/x.png")
    with pytest.raises(OutputError, match=r"cannot write /proc/x\.png: /proc takes no new files"):
        write_bytes("/proc/x.png", b"x")


def test_write_atomic_names_the_path_for_a_folder_in_the_way(tmp_path):
    (tmp_path / "x.png").mkdir()
    with pytest.raises(OutputError, match=r"x.png: it is a folder"):
        write_bytes(tmp_path / "x.png", b"x")
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match="f is a file, not a folder"):
        write_bytes(tmp_path / "f" / "x.png", b"x")


class _FullDisk:
    """A file whose ``write`` raises ENOSPC once ``room`` bytes are written, as a full disk does."""

    def __init__(self, file, room: int):
        self.file, self.room = file, room

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


def test_a_full_disk_is_one_line_for_torch_save_and_the_old_file_survives(tmp_path):
    path = write_bytes(tmp_path / "last.pt", b"the previous checkpoint")

    def checkpoint(file):
        torch.save({"weights": torch.zeros(50_000)}, _FullDisk(file, room=4096))  # torch raises RuntimeError

    with pytest.raises(DiskFullError) as caught:
        write_atomic(path, checkpoint)
    message = str(caught.value)
    assert message.startswith(f"cannot write {path}: no space left on the device (")
    assert "free" in message and "\n" not in message
    assert caught.value.path == path and caught.value.free is not None
    assert path.read_bytes() == b"the previous checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_a_full_disk_states_the_size_when_known(tmp_path):
    def full(file):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(DiskFullError, match=r"it needs 2.5 MB\)") as caught:
        write_atomic(tmp_path / "export" / "model.safetensors", full, size=2_500_000)
    assert caught.value.needed == 2_500_000


def test_a_path_writer_reporting_the_errno_in_its_message_is_understood(tmp_path):
    def safetensors_on_a_full_disk(file):  # the message safetensors' Rust writer gives (a SafetensorError)
        raise Exception("Error while serializing: I/O error: No space left on device (os error 28)")

    with pytest.raises(DiskFullError, match="no space left on the device"):
        write_atomic(tmp_path / "cache.safetensors", safetensors_on_a_full_disk)
    quota = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
    with pytest.raises(DiskFullError, match="disk quota exceeded"):
        write_atomic(tmp_path / "x", lambda file: (_ for _ in ()).throw(quota))


def test_errors_that_are_not_about_the_path_pass_unchanged(tmp_path):
    def refused(file):
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        except OSError as failure:
            raise WeightsError(f"cannot download weights from URL: {failure}") from None

    with pytest.raises(WeightsError, match="cannot download"):
        write_atomic(tmp_path / "w.safetensors", refused)
    with pytest.raises(ValueError, match="a bug"):
        write_atomic(tmp_path / "w", lambda file: (_ for _ in ()).throw(ValueError("a bug")))
    assert find_os_error(ValueError("a bug")) is None
    assert find_os_error(RuntimeError("wrapped")) is None


# ---------------------------------------------------------------- the commands


@pytest.mark.parametrize("which", ["-o", "--tensor", "--save-individual"])
def test_sample_refuses_each_bad_output_in_one_line_before_drawing(tmp_path, monkeypatch, which):
    monkeypatch.chdir(tmp_path)
    Path("taken").write_text("a file")
    Path("folder").mkdir()
    drawn = []
    monkeypatch.setattr("ganzoo.models.sampling.Sampler.latents", lambda self, *a, **k: drawn.append(1))
    bad = {"-o": ["-o", "folder"], "--tensor": ["--tensor", "taken/x.safetensors"],
           "--save-individual": ["--save-individual", "taken"]}[which]
    result = runner.invoke(build_app(), ["sample", "dcgan-mnist", "--offline", "-n", "4", *bad])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert which in lines[0] and ("is a folder" in lines[0] or "is a file" in lines[0])
    assert drawn == []


def test_sample_to_proc_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(build_app(), ["sample", "dcgan-mnist", "--offline", "-n", "4", "-o", "/proc/x.png"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: cannot write /proc/x.png (-o/--output): /proc takes no new files " \
        "(a virtual file system?)"


def test_eval_write_card_checks_the_export_folder_before_evaluating(tmp_path, monkeypatch, lock):
    export = tmp_path / "export"
    ganzoo.save(ganzoo.create("mlp-gan", seed=0), export, samples=False)
    problem = lock(export)
    evaluated = []
    monkeypatch.setattr("ganzoo.metrics.evaluate_model", lambda *a, **k: evaluated.append(1))
    result = runner.invoke(build_app(), ["eval", str(export), "--write-card", "-n", "2", "-q"])
    assert result.exit_code == 1, result.output
    assert evaluated == []
    assert result.output.strip() == f"error: cannot write {export / 'config.json'} (--write-card): {problem}"


def test_save_refuses_an_unusable_folder_before_sampling(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(OutputError, match=r"taken \(save\(\)\): it exists and is a file, not a folder"):
        ganzoo.save(ganzoo.create("mlp-gan", seed=0), tmp_path / "taken")
