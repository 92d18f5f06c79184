"""bench/gpu_speed.py runs on the CPU (``--device cpu --quick``), so the GPU check cannot rot before a GPU runs it."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "gpu_speed.py"


def run_quick(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict[str, str]]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--out", str(tmp_path / "work"), *extra],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=900,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    return done, [dict(zip(cells(lines[0]), cells(line), strict=True)) for line in lines[1:]]


def cells(line: str) -> list[str]:
    """The cells of a Markdown table row (a cell's own bars are escaped: ``\\|``)."""
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def linear_flops(net) -> tuple[int, int]:
    """2 x in x out summed over the Linear layers (a forward pass per sample), and that of the first layer."""
    from torch import nn

    layers = [m for m in net.modules() if isinstance(m, nn.Linear)]
    return sum(2 * m.in_features * m.out_features for m in layers), 2 * layers[0].in_features * layers[0].out_features


def test_the_quick_cpu_run_of_the_gpu_check_measures_every_part(tmp_path):
    done, rows = run_quick(tmp_path, "--models", "mlp-gan")
    assert done.returncode == 0, done.stderr[-4000:]
    checks = [(row["check"], row["setting"]) for row in rows]
    assert [c for c, _ in checks] == ["train"] * 3 + ["sample"] * 3 + ["eval", "torchrun", "resume", "resume"]
    assert all(row["result"] == "ok" for row in rows), rows
    assert "skipped: --sync-bn" in done.stderr and "skipped: NCCL between processes" in done.stderr
    train = [row for row in rows if row["check"] == "train"]
    assert [row["setting"] for row in train] == ["fp32, batch 4", "bf16, batch 4", "bf16 --compile (auto), batch 4"]
    assert all(float(row["images/s"].replace(",", "")) > 0 for row in train)

    # one step's model FLOPs per image, as mlp-gan's step computes them (no BatchNorm in D: reals and fakes in one
    # pass of 2B): G makes D's fakes without gradients (G), D's forward, weight and input gradients on 2B (but none
    # for the input of its first layer: 2D + 2D + 2(D - D1)), then G's update: G and D forward, D's input
    # gradients (D), G's weight and input gradients (G + G - G1)
    import ganzoo
    from ganzoo.registry.records import call_with_accepted
    from ganzoo.training.config import model_config_for

    spec = ganzoo.get_model_spec("mlp-gan")
    model_config = model_config_for(spec, {}, sample_shape=(1, 28, 28), channels=1)

    g, g1 = linear_flops(call_with_accepted(spec.generator, model_config))
    d, d1 = linear_flops(call_with_accepted(spec.discriminator, model_config))
    expected = (4 * g - g1 + 8 * d - 2 * d1) / 1e9
    assert all(float(row["GFLOP/image"]) == pytest.approx(expected, rel=1e-3) for row in train), (train, expected)
    resumed = [row["notes"] for row in rows if row["check"] == "resume"]
    assert resumed == ["weights bit-equal: yes, largest difference 0"] * 2


@pytest.mark.slow
def test_the_quick_cpu_run_of_the_gpu_check_with_every_model(tmp_path):
    done, rows = run_quick(tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    assert {row["model"] for row in rows if row["check"] == "train"} == set(__import__("ganzoo").list_models())
    assert all(row["result"].startswith("ok") for row in rows), rows


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_failing_part_fails_the_check_loudly_and_the_shares_use_the_stated_peaks(tmp_path, monkeypatch, capsys):
    bench = load_script()

    def train_speed(args, name, data, precision, *, compile_mode=None, batch_size=None, count_flops=False):
        if precision == "bf16":
            raise RuntimeError("simulated: a kernel failed")
        timing = bench.Timing(1, count_flops)
        timing.flops_per_image, timing.images_per_s, timing.warmup_s = 2e9, 1000.0, 0.5
        return timing

    monkeypatch.setattr(bench, "train_speed", train_speed)
    status = bench.main(["--device", "cpu", "--quick", "--models", "mlp-gan", "--out", str(tmp_path),
                         "--peak-bf16", "10", "--peak-fp32", "4", "--parts", "train"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "| train | mlp-gan | fp32, batch 4 | 1,000 | 2 | 50.0% | 0.5 | ok |" in out  # 2 TFLOP/s of 4
    assert out.count("FAILED: RuntimeError: simulated: a kernel failed") == 2  # bf16 and bf16 --compile
    assert "RuntimeError: simulated: a kernel failed" in err and "FAILED (2): train mlp-gan bf16, batch 4;" in err
    assert "assumed peaks (TFLOP/s, dense): {'bf16': 10.0, 'fp32': 4.0}" in out


def test_unknown_models_are_refused():
    bad = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--models", "no-such-model"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown models ['no-such-model']" in bad.stderr
