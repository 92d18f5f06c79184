"""Start-up benchmark: ``ganzoo list`` wall time against ``python -c "import torch"``.

Both are measured side by side in this one run (alternating, several repeats, median),
so machine load affects both alike. Target: ratio <= 0.25.

    python bench/startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    script = shutil.which("ganzoo", path=str(Path(sys.executable).parent)) or shutil.which("ganzoo")
    if script is None:
        sys.exit("ganzoo is not installed next to this python: run the README's install first")
    commands = {
        "ganzoo list": [script, "list"],
        "ganzoo --help": [script, "--help"],
        "ganzoo info dcgan-faces": [script, "info", "dcgan-faces"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    }
    for command in commands.values():  # warm the file cache once
        wall_time(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            times[name].append(wall_time(command))
    torch_time = statistics.median(times["python -c 'import torch'"])
    print(f"{'command':<28}{'median s':>10}{'ratio to import torch':>24}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<28}{median:>10.3f}{median / torch_time:>24.3f}")
    ratio = statistics.median(times["ganzoo list"]) / torch_time
    verdict = "meets" if ratio <= 0.25 else "MISSES"
    print(f"\nganzoo list / import torch = {ratio:.3f} ({verdict} the target of 0.25)")


if __name__ == "__main__":
    main()
