"""The README's Python examples run as written (with the packaged zoo weights, offline)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_python_examples():
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files an example writes (an exported model) land here, not in the checkout
    code = BLOCKS[index]
    lines = []
    for line in code.splitlines():
        # lines that show an error on purpose are checked to raise it
        if "Error:" in line.partition("#")[2]:
            statement = line.partition("#")[0].strip()
            error = line.partition("#")[2].strip().split(":")[0]
            lines.append(f"with __import__('pytest').raises(__import__('ganzoo').errors.{error}):\n    {statement}")
        else:
            lines.append(line)
    exec(compile("\n".join(lines), f"README.md python block {index}", "exec"), {})
