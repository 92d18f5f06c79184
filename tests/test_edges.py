"""Odd file-system entries, names and interruptions: one line, said before the work, never a hang.

A named pipe in an image folder, a file given where a folder is wanted, an output name that is
not UTF-8 or whose suffix names another format, and Ctrl-C in any command (issue 28, sections 6
and 7).
"""

from __future__ import annotations

import signal

import pytest
from typer.testing import CliRunner

from ganzoo.cli.app import main

runner = CliRunner()


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _never(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} was called")

    return refuse


# ---------------------------------------------------------------- Ctrl-C in any command


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("patched", "argv"),
    [
        ("ganzoo.hub.load", ["eval", "dcgan-mnist"]),
        ("ganzoo.hub.load", ["sample", "dcgan-mnist", "-n", "4"]),
        ("ganzoo.hfhub.push_export", ["push", "export", "me/model"]),
    ],
)
def test_ctrl_c_in_a_command_is_said_once_by_the_cli(tmp_path, monkeypatch, capsys, patched, argv):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(patched, _interrupt)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 130
    assert capsys.readouterr().err == "ganzoo: interrupted\n"


def test_a_command_that_answers_ctrl_c_itself_is_not_told_twice(tmp_path, monkeypatch, capsys):
    """Training says where its checkpoint is and exits 130 ``from None``: the CLI adds nothing."""
    from ganzoo.training import TrainingStopped

    def stopped(config, **kwargs):
        raise TrainingStopped(3, signal.SIGINT)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("ganzoo.training.train", stopped)
    with pytest.raises(SystemExit) as exited:
        main(["train", "mlp-gan", "--dataset", "ring-8", "--steps", "5", "--quiet"])
    assert exited.value.code == 130
    assert "interrupted" not in capsys.readouterr().err
