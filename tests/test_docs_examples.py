"""Every example of the README and docs/ runs as written, or says why not (the convention: tools/docs_pages.py).

A ``python`` block runs in this process (torch is imported once) in a fresh folder; a line whose comment names an
error (``ganzoo.get_model_spec("dcgan-mnst")  # UnknownNameError: ...``) is checked to raise it. A ``bash`` block
runs as one ``bash -e`` script, a ``console`` block as the script of its ``$ `` lines, both in a fresh folder with
ganzoo's caches in it, offline (the zoo's weights ship inside the package). A script that is nothing but plain
``ganzoo ...`` commands runs them through ganzoo's own command line in this process (the code the console script
runs, without a new interpreter importing torch for each line, which kept this test under a minute).
A block marked ``<!-- not-run: REASON -->`` is listed on docs/examples-not-run.md (tests/test_docs_pages.py holds
that page to the markers); one marked
``<!-- run-by: TEST -->`` is run by that test, which must exist and name the page.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("docs_pages", ROOT / "tools" / "docs_pages.py")
docs_pages = sys.modules.setdefault("docs_pages", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(docs_pages)

BLOCKS = docs_pages.all_blocks()
RUN = [block for block in BLOCKS if block.runs]


def test_the_pages_have_examples_that_run():
    assert len(RUN) >= 15 and {"python", "bash", "console"} <= {block.lang for block in RUN}
    readme = [block for block in RUN if block.page == "README.md"]
    assert {block.lang for block in readme} == {"python", "console"}  # the front door's two examples run


def test_every_marker_has_a_reason_and_every_delegate_exists():
    for block in BLOCKS:
        if block.marker == "not-run":
            assert len(block.value.split()) >= 3, f"{block.where}: say why it cannot run here"
        if block.marker == "run-by":
            test = ROOT / block.value
            assert test.is_file() and block.page in test.read_text(encoding="utf-8"), (
                f"{block.where}: {block.value} must exist and name {block.page}")
        if block.marker:
            assert block.lang in (*docs_pages.RUN_LANGUAGES, "toml"), f"{block.where}: a marker on a {block.lang}"


def run_python(code: str, name: str) -> None:
    lines = []
    for line in code.splitlines():
        # lines that show an error on purpose are checked to raise it
        if "Error:" in line.partition("#")[2]:
            statement = line.partition("#")[0].strip()
            error = line.partition("#")[2].strip().split(":")[0]
            lines.append(f"with __import__('pytest').raises(__import__('ganzoo').errors.{error}):\n    {statement}")
        else:
            lines.append(line)
    exec(compile("\n".join(lines), name, "exec"), {"__name__": "__docs__"})


def shell_script(block) -> str:
    if block.lang == "console":
        return "\n".join(line[2:] for line in block.code.splitlines() if line.startswith("$ "))
    return block.code


def plain_ganzoo_commands(script: str) -> list[list[str]] | None:
    """The argument lists of a script made only of ``ganzoo ...`` lines (comments aside); None for any other."""
    commands = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] != "ganzoo" or any(ch in line.partition(" #")[0] for ch in "|&;<>$`\\"):
            return None
        commands.append(words[1:])
    return commands


@pytest.mark.parametrize("block", RUN, ids=[block.where for block in RUN])
def test_the_example_runs(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what an example writes (an export, a picture) lands here, not in the checkout
    if block.lang == "python":
        run_python(block.code, f"{block.where} (python)")
        return
    settings = {"OMP_NUM_THREADS": "1", "COLUMNS": "200", "HF_HUB_OFFLINE": "1",
                "GANZOO_CACHE_DIR": str(tmp_path / "cache"), "GANZOO_DATA_CACHE_DIR": str(tmp_path / "data-cache")}
    commands = plain_ganzoo_commands(shell_script(block))
    if commands:
        from ganzoo.cli.app import build_app

        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        for arguments in commands:
            result = CliRunner().invoke(build_app(), arguments, catch_exceptions=True)
            assert result.exit_code == 0, f"{block.where}: ganzoo {shlex.join(arguments)}\n{result.output[-3000:]}" \
                f"\n{result.exception!r}"
        return
    environ = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **settings}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", shell_script(block)], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, f"{block.where}:\n{block.code}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
