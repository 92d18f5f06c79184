"""The example third-party plugin, examples/ganzoo-wgan, installed for real with pip and used as a user would.

As in tests/test_entry_points.py, the package is installed with pip into a private target
directory put on PYTHONPATH of subprocesses, so ``importlib.metadata`` finds its entry point
exactly as after ``pip install ganzoo-wgan``; the test environment is never changed. The
source is copied first so that setuptools' build/ and egg-info/ land in the copy, not in
the repository. Removing the target directory is the uninstall (pip cannot uninstall from
a --target), after which ganzoo must show no trace of the plugin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_ganzoo

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ganzoo-wgan"


def pip_install(source: Path, target: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def example_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("src") / "ganzoo-wgan"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return source


@pytest.fixture(scope="module")
def site(example_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip_install(example_source, target)
    return target


def test_the_example_is_not_part_of_the_ganzoo_package():
    # The main pyproject lists its packages explicitly; neither the example's package nor its folder is there.
    settings = (ROOT / "pyproject.toml").read_text().split("[tool.setuptools]", 1)[1].split("\n[", 1)[0]
    assert "packages = [" in settings and "ganzoo_wgan" not in settings and "examples" not in settings
    for path in (EXAMPLE / "ganzoo_wgan").glob("*.py"):
        text = path.read_text()
        public = text.replace("from ganzoo.training import Callback", "")  # the callbacks' documented base class
        assert "ganzoo_plugins" not in text and "ganzoo.training" not in public, path


def test_list_and_plugins_show_it(site):
    listed = run_ganzoo(site, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["wgan-gp-dcgan"]["plugin"] == "wgan"
    assert "warning" not in listed.stderr
    plugins = {p["name"]: p for p in json.loads(run_ganzoo(site, "plugins", "--json").stdout)}
    wgan = plugins["wgan"]
    assert (wgan["distribution"], wgan["version"], wgan["builtin"], wgan["error"]) == ("ganzoo-wgan", "0.1.0",
                                                                                        False, None)
    assert wgan["hooks"] == ["register_callbacks", "register_commands", "register_datasets", "register_losses",
                             "register_models"]
    assert wgan["registered"] == {"models": ["wgan-gp-dcgan"], "losses": ["wgan-lp"], "datasets": ["shapes-28"],
                                  "extractors": [], "callbacks": ["wgan-steps-csv"]}
    info = json.loads(run_ganzoo(site, "info", "wgan-steps-csv", "--json").stdout)
    assert info["options"] == {"every": "int", "file": "str"} and info["plugin"] == "wgan"


def test_train_its_model_with_its_loss_on_its_dataset(site, tmp_path):
    out = tmp_path / "run"
    done = run_ganzoo(site, "train", "wgan-gp-dcgan", "--dataset", "shapes-28", "--loss", "wgan-lp", "--steps", "3",
                      "--batch-size", "8", "--limit", "64", "--option", "width=8", "--device", "cpu",
                      "--out", str(out), "--quiet", "--callback", "wgan-steps-csv",
                      "--callback-option", "wgan-steps-csv.every=2", OMP_NUM_THREADS="1")
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[0] for line in (out / "steps.csv").read_text().splitlines()] == ["step", "2"]
    config = json.loads((out / "export" / "config.json").read_text())
    assert config["training"]["callback_options"] == {"wgan-steps-csv": {"every": 2}}
    assert (config["model"], config["dataset"], config["loss"]) == ("wgan-gp-dcgan", "shapes-28", "wgan-lp")
    assert config["training"]["steps"] == 3 and config["training"]["d_steps"] == 5
    assert config["sample_shape"] == [1, 28, 28] and config["config"]["width"] == 8
    assert (out / "export" / "model.safetensors").stat().st_size > 0
    sampled = run_ganzoo(site, "sample", str(out / "export"), "-n", "4", "-o", str(tmp_path / "grid.png"))
    assert sampled.returncode == 0, sampled.stderr
    assert (tmp_path / "grid.png").stat().st_size > 0


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_its_model_exports_and_the_file_runs_without_the_plugin(site, tmp_path, fmt):
    """ganzoo export of a plugin's trained model; the file is then run here, where the plugin is not installed."""
    import numpy as np

    from ganzoo.deploy import read_metadata

    out = tmp_path / "run"
    done = run_ganzoo(site, "train", "wgan-gp-dcgan", "--dataset", "shapes-28", "--steps", "2", "--batch-size", "4",
                      "--limit", "16", "--option", "width=8", "--device", "cpu", "--out", str(out), "--quiet",
                      OMP_NUM_THREADS="1")
    assert done.returncode == 0, done.stderr
    target = tmp_path / f"wgan.{fmt}"
    done = run_ganzoo(site, "export", str(out / "export"), "--format", fmt, "-o", str(target), OMP_NUM_THREADS="1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {target} ({fmt}, wgan-gp-dcgan, inputs z)")
    metadata = read_metadata(target)
    assert metadata["model"] == "wgan-gp-dcgan" and metadata["sample_shape"] == "[1, 28, 28]"
    z = np.random.default_rng(0).standard_normal((3, int(metadata["latent_dim"]))).astype(np.float32)
    if fmt == "onnx":
        import onnxruntime

        images = onnxruntime.InferenceSession(str(target)).run(None, {"z": z})[0]
    else:
        import warnings

        import torch

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)  # TorchScript is deprecated, and says so
            images = torch.jit.load(str(target))(torch.from_numpy(z)).detach().numpy()
    assert images.shape == (3, 1, 28, 28) and np.abs(images).max() <= 1.0


def test_its_command_runs(site):
    done = run_ganzoo(site, "wgan-info", "--json", OMP_NUM_THREADS="1")
    assert done.returncode == 0, done.stderr
    ready = {row["model"]: row["wasserstein_ready"] for row in json.loads(done.stdout)}
    assert ready["wgan-gp-dcgan"] is True and ready["mlp-gan"] is True
    assert ready["dcgan-mnist"] is False  # BatchNorm in its discriminator
    text = run_ganzoo(site, "wgan-info", "dcgan-m*")
    assert "dcgan-mnist" in text.stdout and "not ready: BatchNorm in the critic" in text.stdout
    assert run_ganzoo(site, "wgan-info", "nothing*").returncode == 1


def test_its_own_test_suite_passes_the_contract_checks(site, example_source):
    """The example's tests, as its author runs them: ganzoo.testing's one line plus its own."""
    environ = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests"],
        cwd=example_source, capture_output=True, text=True, env=environ,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    expected = [f"model:wgan-gp-dcgan:{a}" for a in ("build", "datasets", "gradients", "train")]
    expected += ["loss:wgan-lp:values", "dataset:shapes-28:load"]
    expected += [f"callback:wgan-steps-csv:{aspect}" for aspect in ("options", "events", "resume")]
    for check in expected:
        assert f"test_ganzoo_contract[{check}] PASSED" in done.stdout, done.stdout[-3000:]
    assert "SKIPPED" not in done.stdout


def test_removing_it_leaves_no_trace(example_source, tmp_path):
    target = tmp_path / "site"
    pip_install(example_source, target)
    assert "wgan-gp-dcgan" in run_ganzoo(target, "list").stdout
    shutil.rmtree(target)
    listed = run_ganzoo(target, "list", "--json")
    assert listed.returncode == 0 and listed.stderr == ""
    assert "wgan-gp-dcgan" not in {row["name"] for row in json.loads(listed.stdout)}
    assert "wgan" not in {p["name"] for p in json.loads(run_ganzoo(target, "plugins", "--json").stdout)}
    assert run_ganzoo(target, "wgan-info").returncode != 0
