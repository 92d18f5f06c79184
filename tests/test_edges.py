"""Odd file-system entries, names and interruptions: one line, said before the work, never a hang.

A named pipe in an image folder, a file given where a folder is wanted, an output name that is
not UTF-8 or whose suffix names another format, and Ctrl-C in any command (issue 28, sections 6
and 7).
"""

from __future__ import annotations

import os
import signal
import threading
import warnings

import pytest
from ganzoo_plugins.datasets import images as images_module
from helpers import make_folder, tiny_mnist_root
from PIL import Image
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app, main
from ganzoo.errors import DataNotFoundError

runner = CliRunner()


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _never(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} was called")

    return refuse


# ---------------------------------------------------------------- image folders: regular files only


def test_a_named_pipe_called_png_in_an_image_folder_is_skipped_not_read(tmp_path):
    folder = make_folder(tmp_path / "faces")
    pipe = folder / "a" / "x.png"
    os.mkfifo(pipe)
    loaded: list = []
    failures: list = []

    def load() -> None:
        try:
            loaded.append(images_module.load_image_folder(folder, image_size=8))
        except BaseException as error:  # reported in the test's thread
            failures.append(error)

    worker = threading.Thread(target=load, daemon=True)
    with warnings.catch_warnings(record=True) as caught:  # the module's switches: they hold in every thread
        warnings.simplefilter("always")
        worker.start()
        worker.join(timeout=30)
        if worker.is_alive():  # it opened the pipe and waits for a writer: give it one, so the thread ends
            descriptor = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            os.close(descriptor)
            worker.join(timeout=10)
            pytest.fail("loading the image folder blocked on a named pipe")
    assert loaded and len(loaded[0]) == 6, failures
    said = [str(w.message) for w in caught]
    assert len(said) == 1 and "skipped 1 entry" in said[0] and "not a regular file" in said[0]
    assert said[0].endswith(f"e.g. {pipe}")


# ---------------------------------------------------------------- --data that is a file


@pytest.mark.parametrize("dataset", ["image-folder", "mnist"])
def test_a_file_given_as_the_data_folder_is_called_a_file(tmp_path, dataset):
    picture = tmp_path / "faces.jpg"
    Image.new("RGB", (8, 8)).save(picture)
    with pytest.raises(DataNotFoundError) as refused:
        ganzoo.get_dataset_spec(dataset).load(picture, "train")
    assert str(refused.value) == (
        f"--data {picture} is a file, not a folder: name the folder that holds the data (e.g. {tmp_path}/)"
    )


def test_train_with_a_file_as_data_says_it_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (8, 8)).save("faces.jpg")
    result = runner.invoke(build_app(), ["train", "dcgan-faces", "--data", "faces.jpg", "--steps", "1", "--quiet"])
    line = _one_line(result)
    assert "faces.jpg is a file, not a folder" in line and "does not exist" not in line


# ---------------------------------------------------------------- output names


def test_an_out_folder_whose_name_is_not_utf8_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = os.fsdecode(b"run\xff")
    args = ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "5", "--batch-size", "32", "--limit", "64",
            "--quiet", "--out", out]
    line = _one_line(runner.invoke(build_app(), args))
    assert line == (
        "error: cannot use run\\xff (--out): its name is not valid UTF-8, so ganzoo cannot record it (config.json, "
        "cards and logs are UTF-8); rename it"
    )
    assert os.listdir(tmp_path) == []  # nothing trained, nothing half-exported


def test_sample_writes_the_format_its_suffix_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, kind in (("grid.jpg", "JPEG"), ("grid.JPEG", "JPEG"), ("grid.png", "PNG"), ("grid.bmp", "BMP")):
        result = runner.invoke(build_app(), ["sample", "dcgan-mnist", "--offline", "-n", "4", "-o", name])
        assert result.exit_code == 0, result.output
        with Image.open(name) as written:
            assert written.format == kind, name


@pytest.mark.parametrize(
    ("option", "name", "expected"),
    [
        ("-o", "grid.txt", "the suffix .txt names no format ganzoo writes here; end the name in .png, .jpg, .jpeg"),
        ("-o", "grid", "the name has no suffix to say which format to write; end the name in .png"),
        ("--tensor", "samples.pt", "the suffix .pt names no format ganzoo writes here; end the name in .safetensors"),
    ],
)
def test_sample_refuses_a_suffix_that_names_another_format_before_drawing(tmp_path, monkeypatch, option, name,
                                                                          expected):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("ganzoo.models.sampling.Sampler.latents", _never("Sampler.latents"))
    line = _one_line(runner.invoke(build_app(), ["sample", "dcgan-mnist", "--offline", "-n", "4", option, name]))
    assert line.startswith(f"error: cannot write {name} ({option}")
    assert expected in line
    assert os.listdir(tmp_path) == []


def test_the_walk_gif_must_be_named_gif(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["sample", "dcgan-mnist", "--offline", "--interpolate", "-n", "2", "--gif", "walk.png"]
    assert "end the name in .gif" in _one_line(runner.invoke(build_app(), args))


# ---------------------------------------------------------------- Ctrl-C in any command


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("patched", "argv"),
    [
        ("ganzoo.models.load", ["eval", "dcgan-mnist"]),
        ("ganzoo.models.load", ["sample", "dcgan-mnist", "-n", "4"]),
        ("ganzoo.models.huggingface.push_export", ["push", "export", "me/model"]),
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


def test_mnist_root_still_loads(tmp_path):
    """The data-folder check lets a real folder through, as it was."""
    assert len(ganzoo.get_dataset_spec("mnist").load(tiny_mnist_root(tmp_path), "train")) > 0
