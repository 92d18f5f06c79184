"""The floor: real train samples scored against the real test split with ganzoo's eval protocol.

No generator is expected to beat real data; the zoo table (README.md, docs/zoo/index.md) prints this line
under the model table so a reader can judge the models' numbers. Usage::

    python bench/eval_floor.py --data ../shared/data                  # MNIST, 10k vs 10k
    python bench/eval_floor.py --data ../shared/data --no-cache --json # time a cold run
    python bench/eval_floor.py --dataset image-folder --data ../shared/data/faces/utkface \
        --split train --image-size 64                                 # two disjoint halves, random-conv

The first run extracts and caches the real features (``~/.cache/ganzoo/cache/stats``);
``--no-cache`` times a cold run without reading or writing the cache.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data", default=None, help="data root (default: ganzoo's data directory)")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--split", default="train", help="the real samples scored like a generator's")
    parser.add_argument("--reference-split", default=None, help="default: test, or the only split")
    parser.add_argument("--extractor", default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from ganzoo.errors import GanzooError
    from ganzoo.metrics import evaluate_real

    started = time.perf_counter()
    try:
        result = evaluate_real(
            args.dataset, data_dir=args.data, n=args.n, split=args.split, reference_split=args.reference_split,
            extractor=args.extractor, image_size=args.image_size, device=args.device, cache=not args.no_cache,
        )
    except GanzooError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - started
    if args.json:
        print(json.dumps({**result.as_dict(), "wall_seconds": wall}, indent=2))
        return 0
    for name, value in result.metrics.items():
        print(f"{name:22s} {value:.6g}" if isinstance(value, float) else f"{name:22s} {value}")
    print(result.protocol_text())
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items()) + f"; wall {wall:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
