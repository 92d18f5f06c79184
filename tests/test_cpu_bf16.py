"""``--precision bf16`` on a CPU without native bf16: allowed, with one line naming the capability and the fix.

torch emulates bf16 on an x86 CPU without AVX-512 BF16 or AMX, so bf16 there is slower than fp32; what
torch reports (``torch.cpu._is_avx512_bf16_supported``, ``_is_amx_tile_supported``,
``torch.backends.cpu.get_cpu_capability``) is monkeypatched both ways, so the tests hold on any machine.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ganzoo.cli.app import build_app
from ganzoo.models.device import NATIVE_BF16_CPUS, cpu_bf16, resolve_precision

CPU = torch.device("cpu")


def pretend(monkeypatch: pytest.MonkeyPatch, *, avx512_bf16: bool, amx: bool, capability: str = "AVX2",
            machine: str = "x86_64") -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(platform, "machine", lambda: machine)


def test_an_x86_cpu_without_avx512_bf16_or_amx_gets_a_one_line_note(monkeypatch):
    pretend(monkeypatch, avx512_bf16=False, amx=False, capability="AVX2")
    assert cpu_bf16().native is False and cpu_bf16().capability == "AVX2"
    precision = resolve_precision("bf16", CPU)
    assert precision.dtype == torch.bfloat16  # allowed: it computes the same function, only slower
    note = precision.note
    assert note is not None and "\n" not in note
    assert "--precision bf16 is emulated on this CPU (torch reports AVX2;" in note and "--precision fp32" in note
    assert NATIVE_BF16_CPUS in note
    assert resolve_precision("fp32", CPU).note is None


@pytest.mark.parametrize(("avx512_bf16", "amx"), [(True, False), (False, True), (True, True)])
def test_a_cpu_with_native_bf16_gets_no_note(monkeypatch, avx512_bf16, amx):
    pretend(monkeypatch, avx512_bf16=avx512_bf16, amx=amx, capability="AVX512")
    assert cpu_bf16().native is True
    assert "native bf16" in cpu_bf16().describe()
    assert resolve_precision("bf16", CPU).note is None


def test_bf16_hardware_under_torchs_avx2_code_is_emulated(monkeypatch):
    """ATEN_CPU_CAPABILITY=avx2, or a VM that hides AVX-512: ATen's AVX2 kernels have no bf16 instructions."""
    pretend(monkeypatch, avx512_bf16=True, amx=True, capability="AVX2")
    assert cpu_bf16().native is False and cpu_bf16().describe() == "AVX2, bf16 emulated"
    assert "torch reports AVX2" in resolve_precision("bf16", CPU).note


def test_where_torch_cannot_tell_nothing_is_claimed(monkeypatch):
    pretend(monkeypatch, avx512_bf16=False, amx=False, capability="SVE256", machine="aarch64")
    assert cpu_bf16().native is None and "unknown" in cpu_bf16().describe()
    assert resolve_precision("bf16", CPU).note is None
    pretend(monkeypatch, avx512_bf16=False, amx=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")  # an older torch
    assert cpu_bf16().native is None


def train(out: Path, precision: str):
    args = ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "2", "--batch-size", "32", "--limit", "64",
            "--device", "cpu", "--precision", precision, "--out", str(out), "--sample-every", "2"]
    return CliRunner().invoke(build_app(), args)


def test_ganzoo_train_says_it_once_and_the_export_records_it(monkeypatch, tmp_path):
    pretend(monkeypatch, avx512_bf16=False, amx=False, capability="AVX2")
    result = train(tmp_path / "emulated", "bf16")
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "emulated on this CPU" in line]
    assert len(said) == 1 and "torch reports AVX2" in said[0], result.output
    notices = json.loads((tmp_path / "emulated" / "export" / "config.json").read_text())["training"]["notices"]
    assert notices == [resolve_precision("bf16", CPU).note]
    pretend(monkeypatch, avx512_bf16=False, amx=True, capability="AVX512")
    result = train(tmp_path / "native", "bf16")
    assert result.exit_code == 0, result.output
    assert "emulated" not in result.output
    assert "notices" not in json.loads((tmp_path / "native" / "export" / "config.json").read_text())["training"]
