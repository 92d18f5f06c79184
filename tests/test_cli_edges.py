"""The CLI's rough edges that issue 34 (point 4) found: empty listings, help text, ``ganzoo sample``'s default
file and its record of the seed, ``ganzoo info``'s recipes, the run summary's files, and the caches."""

from __future__ import annotations

import logging
import os
import re
import shlex
from pathlib import Path

import pytest
from helpers import make_folder
from PIL import Image
from typer.testing import CliRunner

import ganzoo
import ganzoo.io.paths
from ganzoo.cli.app import build_app

HELP_WIDTH = {"COLUMNS": "100"}


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(build_app(), list(args), env=env)


def command_paths() -> list[list[str]]:
    """Every command of the CLI (sub-commands included) as the words that reach it."""
    import typer

    root = typer.main.get_command(build_app())
    found = [[]]

    def walk(group, words):
        for name, command in group.commands.items():
            found.append([*words, name])
            if hasattr(command, "commands"):
                walk(command, [*words, name])

    walk(root, [])
    return found


# ---------------------------------------------------------------- ganzoo list


@pytest.mark.parametrize("flag", ["--callbacks", "--losses"])
def test_an_empty_listing_says_so_in_a_pipe(flag):
    # CliRunner's stdout is not a terminal: this is `ganzoo list --callbacks | cat`
    result = invoke("list", flag, "no-such-*" if flag == "--losses" else "*")
    assert result.exit_code == 0
    assert result.stdout == ""  # nothing for scripts to parse
    kind = "training callbacks" if flag == "--callbacks" else "losses"
    assert result.stderr.startswith(f"no {kind} ")
    assert len(result.stderr.splitlines()) == 1


def test_no_callbacks_names_the_hook_that_adds_them():
    result = invoke("list", "--callbacks")
    assert "register_callbacks" in result.stderr


# ---------------------------------------------------------------- help


@pytest.mark.parametrize("words", command_paths(), ids=lambda words: " ".join(words) or "ganzoo")
def test_help_shows_no_typer_placeholders(words):
    result = invoke(*words, "--help", env=HELP_WIDTH)
    assert result.exit_code == 0, result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage  # {model}: an argument is MODEL, not a set of choices
    assert "<bool>" not in result.output  # a flag takes no value
    assert "[[" not in usage, usage


def test_usage_lines_name_arguments_plainly():
    assert "Usage: ganzoo train [OPTIONS] MODEL " in invoke("train", "--help", env=HELP_WIDTH).output
    assert "Usage: ganzoo sample [OPTIONS] MODEL_OR_PATH " in invoke("sample", "--help", env=HELP_WIDTH).output
    assert "Usage: ganzoo cache clear [OPTIONS] [KIND]... " in invoke("cache", "clear", "--help", env=HELP_WIDTH).output


def test_square_brackets_in_help_are_shown():
    text = " ".join(invoke("train", "--help", env={"COLUMNS": "200"}).output.split())
    assert "target of E[sign(D(real))] (default 0.6)" in text
    assert 'pip install "ganzoo[onnx]"' in invoke("export", "--help", env={"COLUMNS": "200"}).output


def _examples(words: list[str]) -> list[str]:
    """The example commands of a command's docstring (the indented lines under 'Example(s)')."""
    import typer

    command = typer.main.get_command(build_app())
    for word in words:
        command = command.commands[word]
    lines = (command.help or "").splitlines()
    return [line.strip() for line in lines if re.match(r"\s*(ganzoo|torchrun) ", line)]


@pytest.mark.parametrize("words", [w for w in command_paths() if w], ids=" ".join)
def test_examples_are_a_command_a_line_and_paragraphs_are_not_broken(words):
    result = invoke(*words, "--help", env=HELP_WIDTH)
    lines = [line.strip() for line in result.output.splitlines()]
    for example in _examples(words):
        assert example in lines, f"{example!r} is split across lines:\n{result.output}"
    before_panels = result.output.split("╭")[0]
    for line in before_panels.splitlines():  # no line broken short by the docstring's own line breaks
        text = line.strip()
        assert text not in ("ganzoo", "-m"), f"a ragged line in:\n{before_panels}"


def test_train_and_sample_show_their_examples():
    assert "torchrun --nproc-per-node 4 -m ganzoo train dcgan-faces --data DIR" in _examples(["train"])
    assert len(_examples(["sample"])) == 4


# ---------------------------------------------------------------- ganzoo sample


def test_sample_without_o_never_overwrites(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = invoke("sample", "mlp-gan", "-n", "4", "--seed", "1")
    assert first.exit_code == 0, first.output
    assert "samples.png" in first.stdout
    before = (tmp_path / "samples.png").read_bytes()
    second = invoke("sample", "mlp-gan", "-n", "4", "--seed", "2")
    assert second.exit_code == 0, second.output
    assert "samples-1.png" in second.stdout  # the line says which file it wrote
    assert (tmp_path / "samples.png").read_bytes() == before
    assert (tmp_path / "samples-1.png").is_file()
    named = invoke("sample", "mlp-gan", "-n", "4", "--seed", "3", "-o", "samples.png")  # a name given: replaced
    assert named.exit_code == 0, named.output
    assert (tmp_path / "samples.png").read_bytes() != before
    assert not (tmp_path / "samples-2.png").exists()


def test_a_random_seed_is_printed_and_recorded_in_the_png(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("sample", "dcgan-mnist", "-n", "4", "-o", "grid.png")
    assert result.exit_code == 0, result.output
    seed = re.search(r"\(seed (\d+)\)", result.stdout).group(1)
    text = Image.open(tmp_path / "grid.png").text
    assert text["seed"] == seed
    assert text["Software"].startswith("ganzoo ")
    words = shlex.split(text["Comment"])  # the command that draws the same picture again
    assert words[:3] == ["ganzoo", "sample", "dcgan-mnist"] and f"--seed {seed}" in text["Comment"]
    again = invoke(*words[1:], "-o", "again.png")
    assert again.exit_code == 0, again.output
    assert Image.open(tmp_path / "again.png").tobytes() == Image.open(tmp_path / "grid.png").tobytes()


def test_a_scatter_of_points_records_its_seed_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("sample", "mlp-gan", "-n", "8", "--seed", "5", "-o", "points.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "points.png").text["seed"] == "5"


# ---------------------------------------------------------------- ganzoo info


def test_info_dcgan_faces_reads_as_a_recipe_anyone_can_run():
    result = invoke("info", "dcgan-faces")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "dataset: UTKFace (image-folder)" in out
    assert "sample shapes:   3x64x64, 3x128x128" in out
    lines = out.splitlines()
    heading = lines.index("    trained in 2 sessions, each resuming the one before:")  # the record's lineage
    trained = heading + 1
    assert lines[trained].startswith("      1. ganzoo train") and lines[trained + 1].startswith("      2. ganzoo train")
    assert "--resume" in lines[trained + 1] and "--resume" not in lines[trained]
    for line in lines[trained : trained + 2]:  # the folders a reader names, not the trainer's machine's
        assert "/work/" not in line and "../" not in line and "--data path/to/utkface" in line


@pytest.mark.parametrize("name", ganzoo.list_models())
def test_every_model_declares_its_sample_shapes(name):
    result = invoke("info", name)
    assert result.exit_code == 0, result.output
    assert "none declared" not in result.output


@pytest.mark.parametrize(
    ("name", "weights"), [(spec.name, w) for spec in map(ganzoo.get_model_spec, ganzoo.list_models())
                          for w in spec.weights],
)
def test_shipped_recipes_and_cards_name_no_folder_of_the_machine_that_trained_them(name, weights):
    from ganzoo.cli.info import card_path

    card = Path(card_path(weights)).read_text(encoding="utf-8")
    for text in (weights.recipe, card):
        for line in text.splitlines():
            if line.startswith("ganzoo "):
                for word in shlex.split(line):
                    assert not word.startswith(("/", "../", "~")), f"{name}.{weights.tag}: {word} in {line}"


# ---------------------------------------------------------------- the run summary


def test_the_run_summary_lists_every_exported_file(tmp_path):
    out = tmp_path / "run"
    result = invoke("train", "mlp-gan", "--dataset", "ring-8", "--steps", "4", "--batch-size", "16",
                    "--sample-every", "2", "--log-every", "2", "--checkpoint-every", "4", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("export "))
    present = sorted(p.name for p in (out / "export").iterdir())
    assert "progress.gif" in present
    for name in present:
        assert name in line, f"{name} is exported but the summary lists: {line}"


# ---------------------------------------------------------------- the caches


def test_the_image_cache_is_a_data_cache_said_once_with_its_size(tmp_path, caplog):
    from ganzoo_plugins.datasets import images

    folder = make_folder(tmp_path / "faces")
    with caplog.at_level(logging.INFO, logger="ganzoo"):
        images.load_image_folder(folder, image_size=8)
        images.load_image_folder(folder, image_size=8)  # read from the cache: nothing said
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("cached ")]
    (cached,) = list((ganzoo.io.paths.data_cache_dir() / "image-folder").glob("*.safetensors"))
    assert len(said) == 1
    from ganzoo.io.files import describe_size

    assert f"cached the 6 decoded images ({describe_size(cached.stat().st_size)}) in {cached}" in said[0]
    assert "'ganzoo cache'" in said[0]


def test_the_command_line_shows_the_cache_line(tmp_path, capsys, monkeypatch):
    from ganzoo.cli import app as app_module

    logger = logging.getLogger("ganzoo")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    app_module._show_log()
    from ganzoo_plugins.datasets import images

    images.load_image_folder(make_folder(tmp_path / "faces"), image_size=8)
    said = capsys.readouterr().err
    assert re.search(r"^ganzoo: cached the 6 decoded images \([0-9.]+ [kM]?B\) in .*data-cache", said, re.MULTILINE)


def _fill_caches(tmp_path: Path) -> dict[str, Path]:
    """One entry of each kind, as ganzoo writes them, and beside them things that are not ganzoo's."""
    from ganzoo.io.caches import CACHE_KINDS

    folders = {kind.name: kind.folder() for kind in CACHE_KINDS}
    entries = {
        "weights": folders["weights"] / "dcgan-mnist.mnist-0123456789ab.safetensors",
        "hub": folders["hub"] / "owner--repo" / "commits" / ("a" * 40) / "export" / "model.safetensors",
        "stats": folders["stats"] / "key.safetensors",
        "data": folders["data"] / "image-folder" / "0123.safetensors",
    }
    for path in entries.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 500)
    return entries


def test_ganzoo_cache_lists_each_kind_with_its_size(tmp_path):
    _fill_caches(tmp_path)
    result = invoke("cache")
    assert result.exit_code == 0, result.output
    for kind in ("weights", "hub", "stats", "data"):
        assert re.search(rf"^{kind}\s+500 bytes\s+1 entry\s", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^total\s+2.0 kB", result.stdout, re.MULTILINE)
    listed = invoke("cache", "--json", "--entries")
    import json

    rows = {row["kind"]: row for row in json.loads(listed.stdout)}
    assert rows["hub"]["entries"][0]["path"].endswith("owner--repo") and rows["hub"]["size"] == 500


def test_clearing_one_kind_leaves_the_others(tmp_path):
    entries = _fill_caches(tmp_path)
    result = invoke("cache", "clear", "data")
    assert result.exit_code == 0, result.output
    assert "cleared the data cache: 1 entry, 500 bytes" in result.stdout
    assert not entries["data"].exists() and not entries["data"].parent.exists()  # the emptied folder too
    assert all(entries[kind].exists() for kind in ("weights", "hub", "stats"))
    assert invoke("cache", "clear", "--all").exit_code == 0
    assert not any(path.exists() for path in entries.values())


def test_clearing_removes_only_what_ganzoo_wrote_and_follows_no_link(tmp_path, monkeypatch):
    mine = tmp_path / "home"  # a weights cache pointed at a folder of the user's own
    mine.mkdir()
    (mine / "thesis.txt").write_text("keep")
    (mine / "notes").mkdir()
    (mine / "notes" / "model.safetensors").write_text("keep")  # not where ganzoo keeps weights
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(mine))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.safetensors").write_text("keep")
    entries = _fill_caches(tmp_path)
    (mine / "linked.safetensors").symlink_to(outside / "precious.safetensors")
    data_set = entries["data"].parent
    (data_set / "elsewhere").symlink_to(outside, target_is_directory=True)
    result = invoke("cache", "clear", "--all")
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in entries.values())
    assert (mine / "thesis.txt").read_text() == "keep"
    assert (mine / "notes" / "model.safetensors").read_text() == "keep"
    assert (outside / "precious.safetensors").read_text() == "keep"
    assert (mine / "linked.safetensors").is_symlink()  # a link is never an entry: not removed, not followed
    assert (data_set / "elsewhere").is_symlink()


def test_a_cache_folder_that_links_out_of_the_weights_cache_is_refused(tmp_path):
    from ganzoo.io.caches import CACHE_KINDS

    weights = next(kind for kind in CACHE_KINDS if kind.name == "weights").folder()
    weights.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "key.safetensors").write_text("keep")
    (weights / "stats").symlink_to(outside, target_is_directory=True)
    result = invoke("cache", "clear", "stats")
    assert result.exit_code == 1
    assert "symbolic link" in result.output and "Traceback" not in result.output
    assert (outside / "key.safetensors").read_text() == "keep"


@pytest.mark.parametrize(
    ("args", "message"),
    [(("cache", "clear"), "name the cache to clear"), (("cache", "clear", "dta"), "Did you mean 'data'"),
     (("cache", "clear", "data", "--all"), "not both")],
)
def test_clear_needs_a_known_kind_or_all(args, message):
    result = invoke(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cache_folders_are_where_their_owners_write():
    from ganzoo.io.caches import find_cache_kind
    from ganzoo.metrics.stats import stats_dir
    from ganzoo.models.huggingface import hub_cache

    assert find_cache_kind("hub").folder() == hub_cache()
    assert find_cache_kind("stats").folder() == stats_dir()
    assert find_cache_kind("weights").folder() == ganzoo.io.paths.cache_dir()
    assert find_cache_kind("data").folder() == Path(os.environ["XDG_CACHE_HOME"]) / "ganzoo" / "data-cache"


# --- one style for every error: usage errors too ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said", "command"),
    [
        (["train", "mlp-gan", "--bogus"], "No such option: --bogus", "ganzoo train"),
        (["nosuch"], "No such command 'nosuch'", "ganzoo"),
        (["train", "mlp-gan", "--steps", "abc"], "Invalid value for '--steps'", "ganzoo train"),
        (["sample"], "Missing argument 'MODEL_OR_PATH'", "ganzoo sample"),
    ],
)
def test_a_usage_error_is_said_like_every_other_error(args, said, command):
    result = invoke(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("error: ") and said in lines[0]  # ganzoo's own prefix, not a boxed "Error" panel
    assert lines[1:] == [f"Try '{command} -h' for help."]
    assert "╭" not in result.output and "Error" not in result.output


def test_usage_errors_and_ganzoos_own_errors_share_the_prefix():
    usage, own = invoke("train", "mlp-gan", "--bogus"), invoke("info", "nosuchmodel")
    assert usage.output.split(":", 1)[0] == own.output.split(":", 1)[0] == "error"


def test_pictures_decoded_into_the_old_location_are_listed_and_cleared(tmp_path):
    old = ganzoo.io.paths.cache_dir() / "image-folder" / ("b" * 32 + ".safetensors")  # where ganzoo 0.1 put them
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x" * 700)
    listed = invoke("cache")
    assert re.search(r"^old-image-folder\s+700 bytes\s+1 entry\s", listed.stdout, re.MULTILINE), listed.stdout
    result = invoke("cache", "clear", "old-image-folder")
    assert result.exit_code == 0, result.output
    assert not old.exists()


def test_info_of_a_weights_name_shows_that_entry_not_the_whole_model():
    entry, model = invoke("info", "dcgan-mnist.mnist"), invoke("info", "dcgan-mnist")
    assert entry.exit_code == 0 and model.exit_code == 0, entry.output
    assert entry.output != model.output
    first = entry.output.splitlines()[0]
    assert first == "dcgan-mnist.mnist: pretrained weights of dcgan-mnist, the model's default"
    for field in ("file:", "sha256:", "metrics (mnist-classifier): fid=", "trained: ganzoo train dcgan-mnist", "card:"):
        assert field in entry.output, field
    # numbers of another feature space get a line of their own, never the first line's
    faces = invoke("info", "dcgan-faces.utkface").output
    assert "metrics (random-conv): fid=0.5423" in faces and "metrics (faces-simclr): fid=" in faces
    assert "architecture" not in entry.output.split("model:")[0]  # the model's own fields are one command away
    import json

    described = json.loads(invoke("info", "dcgan-mnist.mnist", "--json").stdout)
    assert described["model"] == "dcgan-mnist" and described["tag"] == "mnist" and described["sha256"]
    unknown = invoke("info", "dcgan-mnist.nosuch")
    assert unknown.exit_code == 1 and "dcgan-mnist.mnist" in unknown.output
