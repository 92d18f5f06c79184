"""Every command a generated model card shows works when it is run (issue 34, point 5).

A card is the first thing a user copies from: the Lightning export's card used to say
``ganzoo.load("ring-lightning")``, which is a zoo name, not the folder next to it. Here the cards of
both trainers (``ganzoo train`` and ``ganzoo.lightning.GANModule.export``) are written in a fresh
folder, and each Python block and each shell line they show is run there as a user would.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ganzoo.cards.folder import CARD_NAME
from ganzoo.cli.app import build_app


def card_commands(card: str) -> tuple[list[str], list[list[str]]]:
    """The card's Python blocks, and its shell commands as words (one command a line)."""
    blocks = re.findall(r"^```(python|bash)\n(.*?)^```", card, re.MULTILINE | re.DOTALL)
    python = [code for language, code in blocks if language == "python"]
    shell = [shlex.split(line) for language, code in blocks if language == "bash"
             for line in code.splitlines() if line.strip()]
    return python, shell


def run_card(card_path: Path, where: Path, fresh: Path) -> list[str]:
    """Run every command of the card at ``card_path`` as a user in ``where`` would (a training command in the
    empty folder ``fresh``, so that it starts a run of its own); returns what ran."""
    python, shell = card_commands(card_path.read_text(encoding="utf-8"))
    assert python and shell, "the card shows no command to run"
    ran = []
    for code in python:
        namespace: dict[str, object] = {"__name__": "__card__"}
        exec(compile(code, f"{card_path} (python block)", "exec"), namespace)  # the card's own code, as a user runs it
        samples = namespace.get("samples")
        assert isinstance(samples, torch.Tensor) and len(samples) == 16, code
        ran.append(code)
    for words in shell:
        assert words[0] == "ganzoo", f"the card shows {shlex.join(words)!r}, which this test cannot run"
        os.chdir(fresh if words[1] == "train" else where)
        try:
            result = CliRunner().invoke(build_app(), words[1:])
        finally:
            os.chdir(where)
        assert result.exit_code == 0, f"{shlex.join(words)} (from {card_path.name}) failed:\n{result.output}"
        ran.append(shlex.join(words))
    return ran


def test_every_command_on_the_trainers_card_works(tmp_path, monkeypatch):
    where, fresh = tmp_path / "here", tmp_path / "elsewhere"
    where.mkdir()
    fresh.mkdir()
    monkeypatch.chdir(where)
    trained = CliRunner().invoke(build_app(), ["train", "mlp-gan", "--dataset", "ring-8", "--steps", "4",
                                               "--batch-size", "16", "--out", "ring", "--quiet"])
    assert trained.exit_code == 0, trained.output
    ran = run_card(where / "ring" / "export" / CARD_NAME, where, fresh)
    assert any(line.startswith("ganzoo train mlp-gan") for line in ran)  # the training command, run again
    assert "ganzoo sample ring/export -n 64 -o grid.png" in ran
    assert (where / "grid.png").is_file() and (fresh / "ring" / "export" / CARD_NAME).is_file()


@pytest.mark.parametrize("folder", ["ring-lightning", "my run"])
def test_every_command_on_the_lightning_card_works(tmp_path, monkeypatch, folder):
    import lightning as L

    from ganzoo.lightning import GANModule

    where = tmp_path / "here"
    where.mkdir()
    monkeypatch.chdir(where)
    gan = GANModule("mlp-gan", dataset="ring-8", seed=0, batch_size=16)
    L.Trainer(max_steps=4, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False).fit(gan, gan.datamodule())
    gan.export(folder)  # as the README does: a bare folder name, which alone would be a zoo name
    card = (where / folder / CARD_NAME).read_text(encoding="utf-8")
    assert f'ganzoo.load("./{folder}")' in card
    assert f"ganzoo sample {shlex.quote('./' + folder)} -n 64" in card
    ran = run_card(where / folder / CARD_NAME, where, tmp_path)
    assert len(ran) == 2 and (where / "grid.png").is_file()


def test_path_source_spells_a_folder_as_a_path():
    from ganzoo.models.loading import Source, parse_source, path_source

    for folder in ("ring-lightning", "dcgan-mnist", "runs/a/export", "./x", "/abs/x", "path:odd", "my run"):
        spelled = path_source(Path(folder) if folder != "path:odd" else folder)
        assert parse_source(spelled) == Source("path", spelled), folder
    assert path_source("runs/a/export") == "runs/a/export"
    assert path_source("ring-lightning") == "./ring-lightning"
