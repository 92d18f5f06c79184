"""Smaller faults: a truncation that would never end, a size given twice, a download error that repeats itself."""

from __future__ import annotations

import signal
from contextlib import contextmanager

import pytest
import torch
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.cli.train import parse_options
from ganzoo.errors import ConfigError, WeightsError
from ganzoo.models.sampling import MIN_TRUNCATION

runner = CliRunner()


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging: the redraw loop this guards against never returned."""

    def expire(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_truncation_below_the_minimum_is_refused_at_once():
    model = ganzoo.load("dcgan-mnist", download=False)
    with deadline(30):
        with pytest.raises(ConfigError, match=f"truncation must be a finite number >= {MIN_TRUNCATION} .*got 1e-07"):
            model.latents(4, seed=0, truncation=1e-7)
        with pytest.raises(ConfigError, match="redrawing the others would practically never end"):
            model.sample(4, seed=0, truncation=MIN_TRUNCATION / 2)
        z = model.latents(64, seed=0, truncation=MIN_TRUNCATION)  # the minimum itself ends, and holds
    assert z.abs().max() <= MIN_TRUNCATION
    assert torch.equal(z, model.latents(64, seed=0, truncation=MIN_TRUNCATION))


def test_the_sample_command_refuses_a_tiny_truncation_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with deadline(60):
        result = runner.invoke(build_app(), ["sample", "dcgan-mnist", "--offline", "-n", "4", "--truncation", "1e-7"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: --truncation must be a finite number >= 0.04 (typically 0.5 to 2; below 0.04 so few latent values "
        "lie within it that redrawing the others would practically never end), got 1e-07"
    ]
    assert not (tmp_path / "samples.png").exists()


def test_image_size_given_twice_with_different_values_is_an_error():
    with pytest.raises(ConfigError, match="--image-size 64 and --option image_size=128 disagree"):
        parse_options(["image_size=128"], image_size=64)
    assert parse_options(["image_size=64"], image_size=64) == {"image_size": 64}  # agreeing is fine


def test_train_command_refuses_conflicting_image_sizes(tmp_path):
    result = runner.invoke(build_app(), ["train", "dcgan-faces", "--option", "image_size=128", "--image-size", "64",
                                         "--data", str(tmp_path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "disagree" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_a_download_error_names_the_url_once(tmp_path):
    url = "http://127.0.0.1:9/weights.safetensors"  # the discard port: nothing listens there
    with pytest.raises(WeightsError) as caught:
        ganzoo.load(url, cache_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"cannot download the weights from {url}: ")
    assert message.count(url) == 1
