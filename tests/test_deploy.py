"""``ganzoo export`` / ``ganzoo.deploy``: every registered model to ONNX and TorchScript, checked; and what is refused.

The models come from the registry (a plugin's model is exported here with no new test code);
each file is then run the way a user runs it (onnxruntime, ``torch.jit.load``), on latents the
export's own check never saw, and compared with ``ganzoo.load`` of the same source.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import ganzoo
from ganzoo.cli.app import build_app
from ganzoo.deploy import export_generator, read_metadata
from ganzoo.errors import ConfigError, ExportError, MissingExtraError
from ganzoo.models.sampling import PretrainedGenerator

runner = CliRunner()
FORMATS = ("onnx", "torchscript")
CASES = [(model, fmt) for model in ganzoo.list_models() for fmt in FORMATS]


def source_of(model: str, tmp_path) -> str:
    """The zoo name when the model has weights, else an export folder of an untrained one (as ganzoo.save writes)."""
    if ganzoo.get_model_spec(model).weights:
        return model
    return str(ganzoo.save(ganzoo.create(model, seed=0), tmp_path / "export"))


def run_file(path, fmt: str, z: torch.Tensor, labels: torch.Tensor | None) -> np.ndarray:
    if fmt == "onnx":
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {"z": z.numpy(), **({"labels": labels.numpy()} if labels is not None else {})}
        return session.run(None, feeds)[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # torch calls TorchScript deprecated on every load
        module = torch.jit.load(str(path))
    with torch.no_grad():
        return (module(z) if labels is None else module(z, labels)).numpy()


@pytest.mark.parametrize(("model", "fmt"), CASES, ids=[f"{m}-{f}" for m, f in CASES])
def test_every_registered_model_exports_and_the_file_computes_what_load_gives(model, fmt, tmp_path):
    source = source_of(model, tmp_path)
    target = tmp_path / f"g.{fmt}"
    report = export_generator(source, target, format=fmt)
    assert report.path == target and target.is_file() and report.max_abs_diff <= 1e-4

    loaded = ganzoo.load(source)
    z = loaded.latents(5, seed=123)  # not the check's latents, nor its batch sizes
    labels = loaded.class_labels(5, [i % loaded.num_classes for i in range(5)]) if loaded.num_classes else None
    expected = loaded.decode(z, labels).numpy()
    assert np.abs(run_file(target, fmt, z, labels) - expected).max() <= 1e-4

    metadata = read_metadata(target)
    assert metadata["model"] == model and metadata["latent_dim"] == str(loaded.latent_dim)
    assert json.loads(metadata["sample_shape"]) == list(loaded.sample_shape)
    assert metadata["num_classes"] == ("null" if loaded.num_classes is None else str(loaded.num_classes))
    assert metadata["ganzoo_version"] == ganzoo.__version__ and len(metadata["weights_sha256"]) == 64
    if loaded.weights is not None:
        assert metadata["weights_sha256"] == loaded.weights.sha256
    if fmt == "onnx":
        graph = onnx.load(str(target)).graph
        names = ["z", "labels"] if loaded.num_classes else ["z"]
        assert [i.name for i in graph.input] == names
        assert all(i.type.tensor_type.shape.dim[0].dim_param for i in graph.input), "the batch must be dynamic"
        if loaded.num_classes:
            assert graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_the_cli_exports_and_says_how_close_the_file_is(tmp_path):
    target = tmp_path / "cgan.pt"
    result = runner.invoke(build_app(), ["export", "cgan-mnist.mnist", "--format", "torchscript", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert f"wrote {target} (torchscript, cgan-mnist.mnist, inputs z, labels)" in result.output
    assert "on batches of 1 and 8" in result.output
    assert read_metadata(target)["name"] == "cgan-mnist.mnist"


def test_an_unknown_format_is_one_line(tmp_path):
    result = runner.invoke(build_app(), ["export", "dcgan-mnist", "--format", "tflite", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert result.output.strip() == "error: unknown export format 'tflite': use one of onnx, torchscript"
    with pytest.raises(ConfigError, match="unknown export format"):
        export_generator("dcgan-mnist", tmp_path / "x", format="coreml")


def test_the_help_names_the_extra_with_its_brackets():
    result = runner.invoke(build_app(), ["export", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert 'pip install "ganzoo[onnx]"' in result.output and "needs ganzoo[onnx]" in result.output


def test_a_missing_onnx_extra_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r'ONNX export needs .*onnxscript.*pip install "ganzoo\[onnx\]"'):
        export_generator("dcgan-mnist", tmp_path / "g.onnx", format="onnx")
    result = runner.invoke(build_app(), ["export", "dcgan-mnist", "-o", str(tmp_path / "g.onnx")])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert 'pip install "ganzoo[onnx]"' in result.output and not (tmp_path / "g.onnx").exists()
    # TorchScript needs nothing more than torch
    export_generator("dcgan-mnist", tmp_path / "g.pt", format="torchscript")


# --- generators that cannot be exported faithfully ---------------------------------------------------------------


@torch.library.custom_op("ganzoo_test::wobble", mutates_args=())
def wobble(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


@wobble.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


class Shift(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x + 0.0

    @staticmethod
    def backward(ctx, grad):
        return grad


class Tiny(nn.Module):
    num_classes = None
    latent_dim = 4
    sample_shape = (4,)

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.linear = nn.Linear(4, 4)

    def forward(self, z, labels=None):
        x = self.linear(z)
        if self.kind == "custom-op":
            x = wobble(x)
        elif self.kind == "python-function":
            x = Shift.apply(x)
        elif self.kind == "own-noise":
            x = x + torch.rand_like(x)  # differs on every call: no file can match it
        return torch.tanh(x)


def tiny(kind: str) -> PretrainedGenerator:
    return PretrainedGenerator(Tiny(kind), name=f"tiny-{kind}")


def test_an_operator_without_onnx_translation_is_named(tmp_path):
    named = r"^cannot export 'tiny-custom-op' to ONNX: the operator 'ganzoo_test::wobble'"
    with pytest.raises(ExportError, match=named):
        export_generator(tiny("custom-op"), tmp_path / "g.onnx", format="onnx")
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left


def test_a_python_function_that_torchscript_cannot_hold_is_named(tmp_path):
    with pytest.raises(ExportError, match=r"to TorchScript: it calls the Python function 'Shift'"):
        export_generator(tiny("python-function"), tmp_path / "g.pt", format="torchscript")
    assert list(tmp_path.iterdir()) == []
    export_generator(tiny("python-function"), tmp_path / "g.onnx", format="onnx")  # ONNX traces through it


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_that_differs_from_the_generator_is_refused_and_not_written(fmt, tmp_path):
    target = tmp_path / "g.bin"
    target.write_bytes(b"an older file")
    refused = rf"the {fmt} file of 'tiny-own-noise' \(batch 1\) differs .*more than 0.0001"
    with pytest.raises(ExportError, match=refused):
        export_generator(tiny("own-noise"), target, format=fmt)
    assert target.read_bytes() == b"an older file" and sorted(p.name for p in tmp_path.iterdir()) == ["g.bin"]


def test_the_model_is_left_as_it_was(tmp_path):
    model = ganzoo.create("dcgan-mnist", seed=0)
    model.generator.train()
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    export_generator(model, tmp_path / "g.pt", format="torchscript")
    assert model.generator.training
    assert all(torch.equal(before[k], v) for k, v in model.generator.state_dict().items())
    assert read_metadata(tmp_path / "g.pt")["weights_sha256"] == ""  # made in code: no weights file
