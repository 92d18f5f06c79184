"""The CUDA path on a real GPU: every built-in trains at fp32 and bf16, compiles, loads, samples and evaluates.

Marked ``cuda``: the default run leaves them out (``-m 'not slow and not cuda'`` in pyproject.toml);
``pytest -m cuda`` runs them, and skips them (only them) on a machine without a CUDA GPU.
"""

from __future__ import annotations

import json

import pytest
import torch
from helpers import tiny_dataset_for, tiny_mnist_root
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.training import TrainConfig, Trainer, placement, train
from ganzoo.training.streams import BatchStream

pytestmark = pytest.mark.cuda

MODELS = ganzoo.list_models()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("name", MODELS)
def test_every_model_trains_on_cuda(name, precision, tmp_path):
    dataset, root = tiny_dataset_for(ganzoo.get_model_spec(name), tmp_path)
    result = train(TrainConfig(name, dataset=dataset, data_dir=root, steps=3, batch_size=8, limit=32, device="cuda",
                               precision=precision, quiet=True, out=tmp_path / "run", log_every=1))
    for metric in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert torch.isfinite(torch.tensor(result.metrics[metric])), (metric, result.metrics)
    training = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert training["device"].startswith("cuda") and training["precision"] == precision
    assert torch.cuda.get_device_name() in training["hardware"]
    model = ganzoo.load(result.export_dir, device="cuda")
    samples = model.sample(4, seed=0)
    assert samples.shape[0] == 4 and torch.isfinite(samples).all()


@pytest.mark.parametrize("mode", [None, "reduce-overhead", "default"])
def test_a_compiled_run_trains_on_cuda(mode, tmp_path):
    """The CUDA default mode, CUDA graphs (each step marks its beginning) and torch's default mode."""
    trainer = Trainer(TrainConfig("mlp-gan", dataset="ring-8", steps=6, batch_size=64, device="cuda", quiet=True,
                                  out=tmp_path / "run", log_every=1, compile=True, compile_mode=mode,
                                  precision="bf16"))
    assert trainer.state.train_step.compiled is not None
    result = trainer.run()
    assert all(torch.isfinite(torch.tensor(record["loss_d"])) for record in trainer.state.counters.history)
    training = json.loads((result.export_dir / "config.json").read_text())["training"]
    assert training["compile"]["mode"] == (mode or "max-autotune-no-cudagraphs")
    ganzoo.load(result.export_dir, device="cuda").sample(8, seed=0)


@pytest.mark.parametrize("name", MODELS)
def test_pretrained_weights_sample_on_cuda_as_on_the_cpu(name):
    on_gpu, on_cpu = ganzoo.load(name, device="cuda"), ganzoo.load(name, device="cpu")
    assert on_gpu.device.type == "cuda"
    gpu, cpu = on_gpu.sample(64, seed=1, batch_size=64), on_cpu.sample(64, seed=1, batch_size=64)
    torch.testing.assert_close(gpu, cpu, rtol=0, atol=2e-2)  # TF32 convolutions round differently


def test_eval_runs_on_cuda(tmp_path):
    root = tiny_mnist_root(tmp_path / "data", count=64)
    result = CliRunner().invoke(build_app(), ["eval", "dcgan-mnist", "--data", str(root), "--device", "cuda",
                                              "-n", "64", "--batch-size", "32", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]
    assert metrics["fid"] >= 0 and torch.isfinite(torch.tensor(metrics["fid"]))


def test_data_that_do_not_fit_stay_in_host_memory_and_give_the_same_batches(tmp_path, monkeypatch):
    samples = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(64) % 10
    on_gpu = BatchStream(samples.cuda(), labels.cuda(), batch_size=16, seed=3)
    staged = BatchStream(samples, labels, batch_size=16, seed=3, device=torch.device("cuda", 0))
    for _ in range(6):  # over an epoch's end
        (a, la), (b, lb) = on_gpu.next(), staged.next()
        assert b.device.type == "cuda" and lb.device.type == "cuda"
        assert torch.equal(a, b) and torch.equal(la, lb)

    monkeypatch.setattr(placement, "DEVICE_DATA_SHARE", 0.0)  # nothing fits: the host path, said in a note
    root = tiny_mnist_root(tmp_path / "data", count=64)
    trainer = Trainer(TrainConfig("cgan-mnist", data_dir=root, steps=3, batch_size=16, device="cuda", quiet=True,
                                  out=tmp_path / "run"))
    assert trainer.state.batches.samples.device.type == "cpu"
    result = trainer.run()
    notices = json.loads((result.export_dir / "config.json").read_text())["training"]["notices"]
    assert any("they stay in host memory" in line for line in notices)
