"""``ganzoo train --compile``: a compiled run trains what an uncompiled one does, records it, resumes exactly, and
refuses in one line where torch.compile cannot work (each cause simulated, so each check can fail)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import ganzoo
from ganzoo.cards.folder import WEIGHTS_NAME
from ganzoo.cli.app import build_app
from ganzoo.errors import ConfigError
from ganzoo.training import TrainConfig, Trainer, compiling, train


def ring(out, **fields) -> TrainConfig:
    settings = {"steps": 4, "batch_size": 16, "limit": 256, "log_every": 1, "sample_every": 1000,
                "checkpoint_every": 1000, **fields}
    return TrainConfig("mlp-gan", dataset="ring-8", device="cpu", quiet=True, out=out, **settings)


def test_a_compiled_run_trains_and_exports_what_an_uncompiled_run_does(tmp_path):
    plain = train(ring(tmp_path / "plain", ema=50.0))
    trainer = Trainer(ring(tmp_path / "compiled", ema=50.0, compile=True))
    step = trainer.state.train_step
    assert step.compiled is not None and step.compiled.mode == "default"
    assert step.G_call is step.compiled.generator and step.D_train is step.compiled.d_train
    compiled = trainer.run()

    history = compiled.metrics
    for name in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert torch.isfinite(torch.tensor(history[name])), (name, history)
    weights = [load_file(result.export_dir / WEIGHTS_NAME) for result in (plain, compiled)]
    assert weights[0].keys() == weights[1].keys() and not any("_orig_mod" in key for key in weights[1])
    for key, value in weights[0].items():  # the same function: only the rounding of the sums differs
        assert value.shape == weights[1][key].shape, key
        torch.testing.assert_close(weights[1][key], value, rtol=0, atol=1e-3)
    models = [ganzoo.load(result.export_dir) for result in (plain, compiled)]
    assert models[1].ema and models[0].generator.state_dict().keys() == models[1].generator.state_dict().keys()
    assert models[1].sample(8, seed=0).shape == models[0].sample(8, seed=0).shape == (8, 2)

    training = json.loads((compiled.export_dir / "config.json").read_text())["training"]
    assert training["compile"] == {"mode": "default", "backend": "inductor"}
    assert json.loads((plain.export_dir / "config.json").read_text())["training"]["compile"] is None
    assert "--compile" in training["command"].split()
    assert "| torch.compile | mode default |" in (compiled.export_dir / "README.md").read_text()
    assert torch.load(compiled.checkpoint, weights_only=False)["run"]["compile"] is True


def test_a_compiled_run_resumes_exactly_and_may_turn_compile_off(tmp_path):
    whole = train(ring(tmp_path / "whole", compile=True))
    train(ring(tmp_path / "parts", steps=2, compile=True))
    again = Trainer(ring(tmp_path / "parts", resume=True))  # unset: the run keeps its own
    assert again.state.train_step.compiled is not None
    resumed = again.run()
    assert (whole.export_dir / WEIGHTS_NAME).read_bytes() == (resumed.export_dir / WEIGHTS_NAME).read_bytes()
    off = Trainer(ring(tmp_path / "parts", steps=5, resume=True, compile=False))
    assert off.state.train_step.compiled is None
    off.run()
    assert json.loads((tmp_path / "parts" / "export" / "config.json").read_text())["training"]["compile"] is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"compile_mode": "default"}, "--compile-mode default needs --compile"),
        ({"compile": True, "compile_mode": "fastest"}, "unknown --compile-mode 'fastest'; use one of default,"),
        ({"compile": True, "compile_mode": "reduce-overhead"}, "records CUDA graphs and needs a CUDA device"),
    ],
)
def test_bad_compile_requests_are_one_line_errors(tmp_path, fields, message):
    with pytest.raises(ConfigError, match=message) as caught:
        Trainer(ring(tmp_path / "run", **fields)).prepare()
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_python_without_torch_compile_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(torch._dynamo, "is_dynamo_supported", lambda: False)
    with pytest.raises(ConfigError, match=r"has no torch.compile for Python \d+\.\d+ .*; train without --compile"):
        Trainer(ring(tmp_path / "run", compile=True)).prepare()
    Trainer(ring(tmp_path / "plain")).run()  # without --compile the same machine trains


def test_a_cpu_without_a_cpp_compiler_is_refused_before_training(tmp_path):
    import torch._inductor.config as inductor_config

    with inductor_config.patch({"cpp.cxx": ("ganzoo-no-such-c++",)}), pytest.raises(
        ConfigError, match=r"needs a C\+\+ compiler .*looked for ganzoo-no-such-c\+\+.*train without"
    ):
        Trainer(ring(tmp_path / "run", compile=True)).prepare()
    with inductor_config.patch({"cpp.cxx": ("ganzoo-no-such-c++",)}), pytest.raises(ConfigError, match="C\\+\\+"):
        # said before the data are loaded: this folder holds none, which would be the error otherwise
        Trainer(TrainConfig("dcgan-mnist", data_dir=tmp_path / "no-data", device="cpu", quiet=True, compile=True,
                            out=tmp_path / "mnist")).prepare()
    assert compiling._cpp_compilers() != ("ganzoo-no-such-c++",)


def test_cuda_without_triton_is_refused(monkeypatch):
    import torch.utils._triton as triton_check

    monkeypatch.setattr(triton_check, "has_triton", lambda: False)
    with pytest.raises(ConfigError, match="--compile on CUDA needs Triton"):
        compiling.check_compile_available(torch.device("cuda"))
    monkeypatch.setattr(triton_check, "has_triton", lambda: True)
    compiling.check_compile_available(torch.device("cuda"))  # with Triton the check lets it through
    assert compiling.compile_mode(None, torch.device("cuda")) == compiling.CUDA_MODE
    assert compiling.compile_mode(None, torch.device("cpu")) == "default"
    assert compiling.compile_mode("reduce-overhead", torch.device("cuda")) == "reduce-overhead"


def _failing_backend(graph, example_inputs, **kwargs):
    raise RuntimeError("simulated: the kernel compiler crashed")


def test_torch_compile_failing_at_the_first_step_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(compiling, "BACKEND", _failing_backend)
    with pytest.raises(ConfigError) as caught:
        train(ring(tmp_path / "run", compile=True))
    message = str(caught.value)
    assert message.startswith("--compile: torch.compile (mode default) failed on the generator (")
    assert "simulated: the kernel compiler crashed" in message and message.endswith("; train without --compile")
    assert "\n" not in message
    assert not (tmp_path / "run" / "export").exists()
    # the CLI says the same in one line and exits 1, and the run folder is free for a run without --compile
    monkeypatch.setattr(compiling, "BACKEND", _failing_backend)
    args = ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "2", "--batch-size", "16", "--limit", "64",
            "--device", "cpu", "--quiet", "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(build_app(), [*args, "--compile"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "failed on the generator" in lines[0] and "train without --compile" in lines[0]
    assert CliRunner().invoke(build_app(), args).exit_code == 0


def test_an_error_of_the_computation_is_not_called_a_compile_failure():
    def boom(*args):
        raise torch.OutOfMemoryError("simulated: out of memory")

    call = compiling.CompiledCall(boom, "generator", "default")
    with pytest.raises(torch.OutOfMemoryError):
        call(torch.zeros(1))
