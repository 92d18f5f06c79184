"""Does a resumed run end with the weights of an uninterrupted one? 2k steps straight against k + k with --resume.

For each MNIST model asked for, through ganzoo's real ``Trainer``: one run of 2k steps, and one of k steps
continued with ``--resume`` to 2k; prints one JSON line, per model whether the exported weights are
bit-equal and their largest difference. With ``--deterministic``, ``torch.use_deterministic_algorithms(True)``
is on; on CUDA set ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` in the environment first (cuBLAS reads it when it
starts, which is why bench/gpu_speed.py runs this script as a child process). An operation without a
deterministic kernel is reported as that model's answer (``error``), not raised.

    CUBLAS_WORKSPACE_CONFIG=:4096:8 python bench/resume_equality.py --device cuda --data DIR --deterministic
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

import ganzoo
from ganzoo.training import TrainConfig, Trainer


def check(name: str, args: argparse.Namespace, base: Path) -> dict[str, Any]:
    k = 2 if args.quick else args.steps

    def config(folder: str, steps: int, resume: bool = False) -> TrainConfig:
        return TrainConfig(name, data_dir=args.data, device=args.device, steps=steps, quiet=True, resume=resume,
                           batch_size=4 if args.quick else None, out=base / folder, checkpoint_every=k,
                           sample_every=10**9)

    try:
        whole = Trainer(config("whole", 2 * k)).run()
        Trainer(config("parts", k)).run()
        resumed = Trainer(config("parts", 2 * k, resume=True)).run()
    except RuntimeError as error:  # an op without a deterministic kernel: the answer, said as such
        return {"error": f"FAILED: {(str(error).strip().splitlines() or ['?'])[0][:160]}"}
    a, b = (load_file(result.export_dir / "model.safetensors") for result in (whole, resumed))
    diff = max(float((a[key].float() - b[key].float()).abs().max()) for key in a)
    return {"bit_equal": a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a),
            "max_diff": f"{diff:.3g}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data", type=Path, required=True, help="an MNIST root (MNIST/raw/*-ubyte)")
    parser.add_argument("--models", default="dcgan-mnist,mlp-gan")
    parser.add_argument("--steps", type=int, default=20, help="k: steps before and after the resume")
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--quick", action="store_true", help="k = 2, batch 4")
    parser.add_argument("--out", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.deterministic:
        torch.use_deterministic_algorithms(True)
    models = [m for m in args.models.split(",") if m and ganzoo.get_model_spec(m).default_dataset == "mnist"]
    with tempfile.TemporaryDirectory(prefix="ganzoo-resume-") as temporary:
        root = args.out or Path(temporary)
        tag = "deterministic" if args.deterministic else "default"
        print(json.dumps({name: check(name, args, root / f"resume-{name}-{tag}") for name in models}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
