"""``hf://`` loading and ``ganzoo push`` against a Hub on 127.0.0.1 (tests/hubserver.py): no test reaches the internet.

The export folder is a real one (``ganzoo train`` for two steps on tiny data, then ``ganzoo eval``'s
card update with measured metrics). ``ganzoo push`` runs as a user runs it, in a subprocess, with
``HF_HUB_DISABLE_XET=1`` so that huggingface_hub uploads through the LFS protocol the local Hub
serves (its Xet path needs Hugging Face's storage service).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pytest
import torch
from helpers import tiny_export
from hubserver import LocalHub

import ganzoo
from ganzoo.errors import ConfigError, MissingExtraError, WeightsError
from ganzoo.frontmatter import parse_front_matter
from ganzoo.hfhub import parse_hf
from ganzoo.loading import parse_source


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_export(tmp_path_factory.mktemp("trained"))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with LocalHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield server


def same_weights(a, b) -> bool:
    first, second = a.generator.state_dict(), b.generator.state_dict()
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def resolves(hub: LocalHub) -> list[tuple[str, str]]:
    return [r for r in hub.requests if "/resolve/" in r[1]]


def test_hf_sources_are_told_apart_by_their_spelling():
    assert parse_source("hf://me/tiny").kind == "hf" and parse_source("HF://me/tiny@v1").kind == "hf"
    assert parse_hf("hf://me/tiny@v1") == parse_hf("me/tiny@v1") and str(parse_hf("me/tiny@v1")) == "hf://me/tiny@v1"
    assert parse_hf("hf://me/tiny").revision is None
    for bad in ("hf://tiny", "hf://me/tiny/extra", "hf://me/tiny@", "hf://"):
        with pytest.raises(ConfigError, match="is not a Hub model: write hf://OWNER/REPO"):
            ganzoo.load(bad)


def test_load_downloads_the_export_into_ganzoos_cache_and_loads_it(hub, export_folder, tmp_path):
    hub.add_folder("me/tiny", export_folder)
    loaded = ganzoo.load("hf://me/tiny")
    assert same_weights(loaded, ganzoo.load(export_folder)) and not loaded.generator.training
    assert Path(loaded.source).is_relative_to(tmp_path / "cache" / "hf")
    assert loaded.card == (export_folder / "README.md").read_text()
    fetched = {r[1].rsplit("/", 1)[1] for r in resolves(hub) if r[0] == "GET"}
    assert fetched == {"model.safetensors", "config.json", "README.md"}  # not the pictures
    assert any("/api/models/me/tiny/tree/" in r[1] for r in hub.requests)

    before = len(resolves(hub))
    again = ganzoo.load("hf://me/tiny")  # cached: the revision is asked for, no file is fetched again
    assert same_weights(again, loaded) and len(resolves(hub)) == before


def test_a_revision_is_a_branch_or_a_commit(hub, export_folder):
    commit = hub.add_folder("me/tiny", export_folder, branch="dev")
    assert same_weights(ganzoo.load("hf://me/tiny@dev"), ganzoo.load(f"hf://me/tiny@{commit}"))
    with pytest.raises(WeightsError, match=r"^hf://me/tiny@nope: the repository has no revision 'nope'$"):
        ganzoo.load("hf://me/tiny@nope")


def test_a_tampered_file_is_refused_deleted_and_fetched_anew_later(hub, export_folder, tmp_path):
    hub.add_folder("me/bad", export_folder)
    good = (export_folder / "model.safetensors").read_bytes()
    bad = bytearray(good)
    bad[-1] ^= 0xFF  # one bit flipped in the last tensor: same size, same header, other weights
    hub.tamper("me/bad", "model.safetensors", bytes(bad))
    refused = r"hf://me/bad: model.safetensors has sha256 [0-9a-f]{64}, but the Hub's LFS hash is [0-9a-f]{64}"
    with pytest.raises(WeightsError, match=refused):
        ganzoo.load("hf://me/bad")
    storage = tmp_path / "cache" / "hf" / "models--me--bad"
    blobs = [p for p in (storage / "blobs").iterdir() if p.read_bytes() == bytes(bad)]
    assert blobs == [] and not list(storage.glob("snapshots/*/model.safetensors")), "the bad file was kept"

    hub.repos["me/bad"].served.clear()  # the mirror is repaired: the next load downloads the file again
    assert same_weights(ganzoo.load("hf://me/bad"), ganzoo.load(export_folder))


def test_a_repository_without_weights_or_a_missing_one_is_one_line(hub, export_folder, tmp_path):
    folder = tmp_path / "card-only"
    folder.mkdir()
    for name in ("config.json", "README.md"):
        (folder / name).write_bytes((export_folder / name).read_bytes())
    hub.add_folder("me/empty", folder)
    with pytest.raises(WeightsError, match=r"^hf://me/empty has no model.safetensors: it is not a ganzoo export"):
        ganzoo.load("hf://me/empty")
    with pytest.raises(WeightsError, match=r"^hf://me/nothing: no model repository 'me/nothing' on http://127"):
        ganzoo.load("hf://me/nothing")


def test_offline_the_cache_serves_and_nothing_is_requested(hub, export_folder, tmp_path):
    hub.add_folder("me/tiny", export_folder)
    ganzoo.load("hf://me/tiny")
    before = list(hub.requests)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    script = "import sys; from ganzoo.cli.app import main; main(sys.argv[1:])"
    grid = tmp_path / "grid.png"
    done = subprocess.run([sys.executable, "-c", script, "sample", "hf://me/tiny", "-n", "4", "-o", str(grid)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert grid.is_file() and hub.requests == before
    missing = subprocess.run([sys.executable, "-c", script, "sample", "hf://me/other", "-o", str(grid)],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and hub.requests == before
    assert missing.stderr.strip().splitlines() == [
        f"error: hf://me/other is not in ganzoo's Hub cache ({tmp_path / 'cache' / 'hf'}) and it cannot be "
        "downloaded now (offline, or the Hub cannot be reached); load it once online"
    ]
    with pytest.raises(WeightsError, match="not in ganzoo's Hub cache"):  # download=False is offline too
        ganzoo.load("hf://me/other", download=False)


def test_without_the_hub_extra_the_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingExtraError, match=r'needs the optional extra ganzoo\[hub\].*pip install "ganzoo\[hub\]"'):
        ganzoo.load("hf://me/tiny")


# --- ganzoo push ---------------------------------------------------------------------------------------------------


def push(hub: LocalHub, tmp_path: Path, *args: str, token: str | None = "hf_local_test_token"):
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hf-home"),
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("HF_TOKEN", None)
    if token is not None:
        env["HF_TOKEN"] = token
    script = "import sys; from ganzoo.cli.app import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", script, "push", *args], capture_output=True, text=True, env=env)


def test_push_uploads_the_export_and_hf_loads_it_back(hub, export_folder, tmp_path):
    done = push(hub, tmp_path, str(export_folder), "me/pushed", "--private", "--revision", "dev")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"pushed {export_folder} to hf://me/pushed@dev: {hub.url}/me/pushed/commit/")
    assert "hf_local_test_token" not in done.stdout + done.stderr
    repo = hub.repos["me/pushed"]
    assert repo.private and set(repo.commits[repo.refs["dev"]]) == {
        "model.safetensors", "config.json", "README.md", "samples.png", "progress.gif"
    } & {p.name for p in export_folder.iterdir()}
    assert hub.validated_yaml == [(export_folder / "README.md").read_text()] * len(hub.validated_yaml)
    assert same_weights(ganzoo.load("hf://me/pushed@dev"), ganzoo.load(export_folder))


def test_push_without_a_token_or_of_a_folder_that_is_no_export_is_one_line(hub, export_folder, tmp_path):
    done = push(hub, tmp_path, str(export_folder), "me/pushed", token=None)
    assert done.returncode == 1 and "me/pushed" not in hub.repos
    assert done.stderr.strip() == "error: no Hugging Face token: run 'hf auth login' or set HF_TOKEN (a token with " \
                                  "write access)"
    done = push(hub, tmp_path, str(tmp_path), "me/pushed")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "is not a ganzoo export folder: config.json is missing" in done.stderr and "me/pushed" not in hub.repos
    done = push(hub, tmp_path, str(export_folder), "me/pushed@v1")
    assert done.returncode == 1 and "give the branch with --revision" in done.stderr


def test_the_card_front_matter_is_hub_metadata(export_folder):
    card = huggingface_hub.ModelCard.load(export_folder / "README.md")
    data = card.data
    assert data.library_name == "ganzoo" and data.license == "cc-by-sa-3.0" and data.datasets == ["mnist"]
    assert data.pipeline_tag == "unconditional-image-generation" and "dcgan-mnist" in data.tags
    results = {(r.task_type, r.dataset_type, r.metric_type): r.metric_value for r in data.eval_results}
    assert results == {("unconditional-image-generation", "mnist", "fid"): 123.4,
                       ("unconditional-image-generation", "mnist", "precision"): 0.25}
    front = parse_front_matter((export_folder / "README.md").read_text())
    assert "loss_d" in front["metrics"] and "loss_d" in front["ganzoo"]["results"]  # training stats stay ganzoo's


def test_push_refuses_a_card_the_hub_would_not_index_before_sending_anything(hub, export_folder, tmp_path):
    from ganzoo.errors import CardError
    from ganzoo.hfhub import push_export

    untrained = ganzoo.save(ganzoo.create("dcgan-mnist", seed=0), tmp_path / "untrained", samples=False)
    needs = r"the front matter needs library_name: ganzoo and a license \(missing: license\)"
    with pytest.raises(CardError, match=needs):
        push_export(untrained, "me/untrained", token="hf_local_test_token")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.safetensors", "config.json"):
        (broken / name).write_bytes((export_folder / name).read_bytes())
    card = (export_folder / "README.md").read_text().replace("  - type: fid\n", "  - kind: fid\n", 1)
    assert "kind: fid" in card
    (broken / "README.md").write_text(card)
    with pytest.raises(CardError, match=r"its model-index is not in the Hub's form"):
        push_export(broken, "me/broken", token="hf_local_test_token")
    assert hub.requests == []


def test_push_refuses_an_export_file_that_links_out_of_the_folder_before_sending_anything(hub, export_folder,
                                                                                           tmp_path):
    from ganzoo.errors import FolderEscapeError
    from ganzoo.hfhub import push_export

    folder = tmp_path / "export"
    shutil.copytree(export_folder, folder)
    private = tmp_path / "private.png"
    private.write_bytes(b"\x89PNG a private picture")
    (folder / "samples.png").unlink()
    (folder / "samples.png").symlink_to(private)
    with pytest.raises(FolderEscapeError, match=rf"{folder / 'samples.png'} is a symbolic link to {private}, "
                                                rf"outside the export folder {folder}"):
        push_export(folder, "me/leaky", token="hf_local_test_token")
    assert hub.requests == [] and "me/leaky" not in hub.repos
