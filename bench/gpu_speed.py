"""The GPU check: every built-in model's speed on the GPU, and the CUDA paths proven, in one short run.

For every built-in model, through ganzoo's real ``Trainer`` on synthetic data files of the models' shapes
(written first): training images/s at fp32, bf16 and bf16 with ``--compile`` (for dcgan-faces also the
other modes and larger batches), model FLOPs per image (``FlopCounterMode`` over one training step,
forward and backward, divided by its images) and the share of the GPU's peak; sampling images/s of
``ganzoo.load(name, device=...).sample(n)`` at a large batch (and of the generator alone); ``ganzoo eval``
wall time; ``torchrun`` with one process, with and without ``--sync-bn`` (two NCCL processes where there
are two GPUs); resume equality with ``torch.use_deterministic_algorithms(True)`` and without.

One Markdown table on stdout (progress on stderr). Any error is printed with its traceback, marked FAILED
in the table, and makes the exit status 1. ``--device cpu --quick`` runs every part at tiny sizes on the
CPU, saying which CUDA-only parts it skips (tests/test_gpu_speed.py runs it, so the script cannot rot).

Assumed peaks (NVIDIA H200 datasheet; the dense figures are half the "with sparsity" ones it lists):
H200 SXM bf16 989 TFLOP/s dense (1,979 with sparsity), fp32 67 TFLOP/s; H200 NVL bf16 835 dense (1,671
with sparsity), fp32 60. PyTorch runs fp32 convolutions on TF32 tensor cores by default
(``torch.backends.cudnn.allow_tf32``), so an fp32 share of the fp32 peak can pass 100% for the DCGANs.
Other GPUs: give ``--peak-bf16`` / ``--peak-fp32`` (TFLOP/s), else the share is left out.

    python bench/gpu_speed.py [--device cuda] [--quick] [--models a,b] [--parts train,sample,...] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo
from ganzoo.training import TrainConfig, Trainer
from ganzoo.training.callbacks import Callback
from ganzoo.training.parallel.compiling import COMPILE_MODES

PEAKS = {"H200 NVL": {"bf16": 835.0, "fp32": 60.0}, "H200": {"bf16": 989.0, "fp32": 67.0}}
QUICK_BATCH = 4
"""--quick: the batch of every training run (tiny: the CPU's bf16 convolutions are slow with torch 2.14)."""
PARTS = ("train", "sample", "eval", "torchrun", "resume")
ROWS: list[dict[str, Any]] = []
FAILURES: list[str] = []
START = time.perf_counter()


def say(text: str) -> None:
    print(f"[{time.perf_counter() - START:6.1f} s] {text}", file=sys.stderr, flush=True)


def row(check: str, model: str, setting: str, **values: Any) -> None:
    ROWS.append({"check": check, "model": model, "setting": setting, **values})
    say(f"{check} {model} {setting}: {values}")


@contextlib.contextmanager
def part(check: str, model: str, setting: str) -> Iterator[None]:
    """A context in which an error is printed with its traceback, marked FAILED in the table and counted."""
    try:
        yield
    except Exception as error:
        traceback.print_exc()
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        row(check, model, setting, result=f"FAILED: {type(error).__name__}: {first}")
        FAILURES.append(f"{check} {model} {setting}")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- synthetic data files of the models' shapes
def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file as LeCun's MNIST files are written: magic, big-endian sizes, unsigned bytes."""
    path.write_bytes(bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
                     + array.astype(np.uint8).tobytes())


def write_data(root: Path, train: int, test: int, faces: int) -> dict[str, Path]:
    """MNIST IDX files (random digits and labels) and an image folder of random 64x64 RGB images."""
    from PIL import Image

    rng = np.random.default_rng(0)
    raw = root / "mnist" / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(count) % 10)
    folder = root / "faces" / "all"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(faces):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{index:05d}.png")
    return {"mnist": root / "mnist", "image-folder": root / "faces"}


# ---------------------------------------------------------------- training speed and FLOPs
class Timing(Callback):
    """Times the steps after ``warmup`` (the GPU synchronised at both ends); counts one step's FLOPs first."""

    def __init__(self, warmup: int, count_flops: bool):
        self.warmup, self.count_flops = warmup, count_flops
        self.flops_per_image: float | None = None

    def on_train_start(self, run: Any) -> None:
        if self.count_flops:  # one extra step, outside the timing (a benchmark's weights do not matter)
            from torch.utils.flop_counter import FlopCounterMode

            with FlopCounterMode(display=False) as counter:
                run.train_step(0)
            self.flops_per_image = counter.get_total_flops() / run.train_step.images
        sync(run.device)
        self.started = time.perf_counter()

    def on_step_end(self, run: Any) -> None:
        if run.step == self.warmup:
            sync(run.device)
            self.timed_from = time.perf_counter()
        if run.step == run.total_steps:
            sync(run.device)
            seconds = time.perf_counter() - self.timed_from
            self.images_per_s = (run.step - self.warmup) * run.train_step.images / seconds
            self.warmup_s = self.timed_from - self.started


def train_speed(args: argparse.Namespace, name: str, data: dict[str, Path], precision: str, *, compile_mode: Any = None,
                batch_size: int | None = None, count_flops: bool = False) -> Timing:
    spec = ganzoo.get_model_spec(name)
    warmup, timed = (1, 2) if args.quick else (10, args.steps)
    timing = Timing(warmup, count_flops)
    tag = f"{name}-{precision}-{compile_mode}-{batch_size}-{time.monotonic_ns()}"
    Trainer(TrainConfig(
        name, dataset=spec.default_dataset, data_dir=data[spec.default_dataset], device=str(args.device),
        steps=warmup + timed, batch_size=batch_size or (QUICK_BATCH if args.quick else None), precision=precision,
        compile=compile_mode is not None or None, compile_mode=compile_mode if compile_mode != "auto" else None,
        quiet=True, out=args.out / "runs" / tag, sample_every=10**9, checkpoint_every=10**9,
    ), callbacks=[timing]).run()
    return timing


def training(args: argparse.Namespace, data: dict[str, Path], peaks: dict[str, float] | None) -> None:
    flops: dict[str, float] = {}

    def measure(name: str, precision: str, mode: Any = None, batch: int | None = None) -> None:
        spec = ganzoo.get_model_spec(name)
        setting = f"{precision}" + (f" --compile ({mode})" if mode else "") + \
            f", batch {batch or (QUICK_BATCH if args.quick else spec.hyperparameters.get('batch_size', 64))}"
        with part("train", name, setting):
            timing = train_speed(args, name, data, precision, compile_mode=mode, batch_size=batch,
                                 count_flops=name not in flops)
            if timing.flops_per_image is not None:
                flops[name] = timing.flops_per_image
            per_image = flops.get(name)
            share = None
            if peaks is not None and per_image is not None:
                share = per_image * timing.images_per_s / (peaks[precision] * 1e12)
            row("train", name, setting, images_per_s=timing.images_per_s,
                gflop_per_image=per_image / 1e9 if per_image else None, peak_share=share,
                seconds=timing.warmup_s, result="ok", notes="seconds: set-up steps (compilation)")

    cuda_mode = args.compile_mode  # "auto": ganzoo's default mode on this device
    for name in args.models:
        for precision, mode in (("fp32", None), ("bf16", None), ("bf16", cuda_mode)):
            measure(name, precision, mode)
    if "dcgan-faces" not in args.models:
        return
    if args.device.type != "cuda":  # on the CPU "default" is the default mode, and the rest record CUDA graphs
        say("skipped: the other compile modes of dcgan-faces (CUDA only)")
    for mode in ("default", "reduce-overhead") if args.device.type == "cuda" else ():
        measure("dcgan-faces", "bf16", mode)
    if args.quick:
        say("skipped in --quick: dcgan-faces at larger batches")
    for batch in (512, 1024) if not args.quick else ():
        measure("dcgan-faces", "bf16", None, batch)
        measure("dcgan-faces", "bf16", cuda_mode, batch)


# ---------------------------------------------------------------- sampling and eval
def images_per_s(device: torch.device, n: int, repeats: int, call: Any, *args: Any, **kwargs: Any) -> float:
    """``call(*args, **kwargs)`` makes ``n`` images: once to warm up (kernels chosen, memory allocated), then timed."""
    call(*args, **kwargs)
    sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        call(*args, **kwargs)
    sync(device)
    return repeats * n / (time.perf_counter() - started)


def sampling(args: argparse.Namespace) -> None:
    device = args.device
    for name in args.models:
        n = 256 if args.quick else (16384 if name == "dcgan-faces" else 65536)
        model = None
        with part("sample", name, f"sample({n}, batch_size={n}), on the CPU"):
            model = ganzoo.load(name, device=str(device))
            rate = images_per_s(device, n, 1 if args.quick else 5, model.sample, n, batch_size=n)
            row("sample", name, f"sample({n}, batch_size={n}), on the CPU", result="ok", images_per_s=rate)
        for precision in ("fp32", "bf16") if model is not None else ():
            setting = f"generator only, {precision}, batch {n}, on the device"
            with part("sample", name, setting), torch.no_grad():
                z = torch.randn(n, model.latent_dim, device=device)
                labels = torch.arange(n, device=device) % model.num_classes if model.num_classes else None
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    rate = images_per_s(device, n, 1 if args.quick else 20, model.generator, z, labels)
                row("sample", name, setting, result="ok", images_per_s=rate)


def evaluation(args: argparse.Namespace, data: dict[str, Path]) -> None:
    from typer.testing import CliRunner

    from ganzoo.cli.app import build_app

    n = 128 if args.quick else 10000
    for name in args.models:
        dataset = ganzoo.get_model_spec(name).default_dataset
        with part("eval", name, f"-n {n}"):
            command = ["eval", name, "--dataset", dataset, "--data", str(data[dataset]), "--device",
                       str(args.device), "-n", str(n), "--json", "--quiet"]
            started = time.perf_counter()
            result = CliRunner().invoke(build_app(), command)
            seconds = time.perf_counter() - started
            if result.exit_code != 0:
                raise RuntimeError(f"ganzoo {' '.join(command)} exited {result.exit_code}: {result.output[-500:]}")
            fid = json.loads(result.output)["metrics"].get("fid")
            row("eval", name, f"ganzoo eval -n {n} (in this process)", seconds=seconds, result="ok",
                notes=f"FID {fid:.4g} against synthetic data")


# ---------------------------------------------------------------- torchrun, --sync-bn
def distributed(args: argparse.Namespace, data: dict[str, Path]) -> None:
    cuda = args.device.type == "cuda"
    gpus = torch.cuda.device_count() if cuda else 0
    runs = [("1 process", ["--nproc-per-node", "1"], [])]
    if cuda:
        runs.append(("1 process, --sync-bn", ["--nproc-per-node", "1"], ["--sync-bn"]))
    else:
        say("skipped: --sync-bn (torch runs SyncBatchNorm on CUDA only)")
    if gpus >= 2:
        runs += [("2 processes (NCCL)", ["--nproc-per-node", "2"], []),
                 ("2 processes (NCCL), --sync-bn", ["--nproc-per-node", "2"], ["--sync-bn"])]
    else:
        say(f"skipped: NCCL between processes (needs 2 GPUs; this machine has {gpus})")
    steps = "3" if args.quick else "50"
    for setting, launch, extra in runs:
        out = args.out / "runs" / f"torchrun-{len(extra)}-{launch[-1]}"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", *launch, "-m", "ganzoo", "train",
                   "dcgan-mnist", "--data", str(data["mnist"]), "--steps", steps, "--device", args.device.type,
                   "--quiet", "--out", str(out), "--dist-timeout", "120",
                   *(["--batch-size", str(QUICK_BATCH)] if args.quick else []), *extra]
        with part("torchrun", "dcgan-mnist", setting):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
            if done.returncode != 0:
                raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-800:]}")
            world = json.loads((out / "export" / "config.json").read_text())["training"]["world_size"]
            note = "one process: ganzoo trains without a process group, so no NCCL" if world == 1 else "NCCL"
            row("torchrun", "dcgan-mnist", setting, seconds=time.perf_counter() - started, result="ok",
                notes=f"world size {world}: {note}")


# ---------------------------------------------------------------- exact resume (a child: cuBLAS reads its env)
def resume_check(args: argparse.Namespace, data: dict[str, Path]) -> None:
    for deterministic in (True, False):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        if deterministic:
            env["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
        command = [sys.executable, str(Path(__file__).with_name("resume_equality.py")), "--device", str(args.device),
                   "--out", str(args.out / "runs"), "--data", str(data["mnist"]), "--models", ",".join(args.models),
                   *(["--quick"] if args.quick else []), *(["--deterministic"] if deterministic else [])]
        setting = "use_deterministic_algorithms(True)" if deterministic else "default algorithms"
        with part("resume", "-", setting):
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-800:]}")
            for name, outcome in json.loads(done.stdout.strip().splitlines()[-1]).items():
                equal = outcome.get("bit_equal")
                if "error" in outcome:
                    FAILURES.append(f"resume {name} {setting}")
                result = outcome.get("error", "ok" if equal else "ok (not bit-equal)")
                largest = outcome.get("max_diff", "-")
                row("resume", name, setting, result=result,
                    notes=f"weights bit-equal: {'yes' if equal else 'no'}, largest difference {largest}")


# ---------------------------------------------------------------- the table
def fmt(value: Any, kind: str) -> str:
    if value is None or value == "":
        return ""
    if kind == "rate":
        return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value:,.0f}"
    if kind == "flops":
        return f"{value:.4g}"
    if kind == "share":
        return f"{100 * value:.1f}%"
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|")  # a cell's own bars, escaped as Markdown escapes them


COLUMNS = [("check", "check", ""), ("model", "model", ""), ("setting", "setting", ""), ("images/s", "images_per_s",
           "rate"), ("GFLOP/image", "gflop_per_image", "flops"), ("% of peak", "peak_share", "share"),
           ("seconds", "seconds", ""), ("result", "result", ""), ("notes", "notes", "")]


def table(header: str) -> str:
    lines = [header, "", "| " + " | ".join(c[0] for c in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(entry.get(key), kind) for _, key, kind in COLUMNS) + " |" for entry in ROWS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the CPU test of this script)")
    parser.add_argument("--models", default=",".join(ganzoo.list_models()))
    parser.add_argument("--parts", default=",".join(PARTS), help=f"some of {','.join(PARTS)} (a rerun of a part)")
    parser.add_argument("--compile-mode", default="auto", choices=("auto", *COMPILE_MODES),
                        help="the mode of the --compile rows (auto: ganzoo's default on the device)")
    parser.add_argument("--steps", type=int, default=200, help="timed training steps per measurement")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--peak-bf16", type=float, default=None, help="TFLOP/s, dense (default: known GPUs)")
    parser.add_argument("--peak-fp32", type=float, default=None, help="TFLOP/s (default: known GPUs)")
    args = parser.parse_args(argv)
    args.device = torch.device(args.device)
    args.models = [m for m in args.models.split(",") if m]
    unknown = [m for m in args.models if m not in ganzoo.list_models()]
    args.parts = [p for p in args.parts.split(",") if p]
    if not set(args.parts) <= set(PARTS):
        parser.error(f"unknown parts {sorted(set(args.parts) - set(PARTS))}; use some of {', '.join(PARTS)}")
    if unknown:
        parser.error(f"unknown models {unknown}; use some of {ganzoo.list_models()}")
    if args.device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU here; use --device cpu --quick to try the script")
    with tempfile.TemporaryDirectory(prefix="ganzoo-gpu-speed-") as temporary:
        args.out = (args.out or Path(temporary)).resolve()
        os.environ.setdefault("GANZOO_CACHE_DIR", str(args.out / "cache"))  # the image cache of the faces
        return run_all(args)


def run_all(args: argparse.Namespace) -> int:
    device = args.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    peaks = next((dict(peaks) for key, peaks in PEAKS.items() if key in name), None)
    if args.peak_bf16 and args.peak_fp32:
        peaks = {"bf16": args.peak_bf16, "fp32": args.peak_fp32}
    say(f"device {device} ({name}), torch {torch.__version__}, ganzoo {ganzoo.__version__}, peaks {peaks}")
    if device.type != "cuda":
        say("skipped: the CUDA-only parts (--sync-bn, NCCL, cuBLAS workspace); the rest runs at tiny sizes")
    quick = args.quick
    data = write_data(args.out / "data", 256 if quick else 8192, 256 if quick else 10000, 64 if quick else 4096)
    sections = {"train": lambda: training(args, data, peaks), "sample": lambda: sampling(args),
                "eval": lambda: evaluation(args, data), "torchrun": lambda: distributed(args, data),
                "resume": lambda: resume_check(args, data)}
    for chosen in args.parts:
        sections[chosen]()
    stamp = time.strftime("%Y-%m-%d")
    header = (f"ganzoo {ganzoo.__version__} on {name} ({device}), torch {torch.__version__}, {stamp}; "
              f"assumed peaks (TFLOP/s, dense): {peaks or 'unknown: no share'}; {time.perf_counter() - START:.0f} s")
    print(table(header))
    if FAILURES:
        print(f"\nFAILED ({len(FAILURES)}): " + "; ".join(FAILURES), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
