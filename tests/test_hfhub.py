"""``hf://`` loading and ``ganzoo push`` against a Hub on 127.0.0.1 (tests/hubserver.py): no test reaches the internet.

The export folder is a real one (``ganzoo train`` for two steps on tiny data, then ``ganzoo eval``'s
card update with measured metrics). ``ganzoo push`` runs as a user runs it, in a subprocess, with
``HF_HUB_DISABLE_XET=1`` so that huggingface_hub uploads through the LFS protocol the local Hub
serves (its Xet path needs Hugging Face's storage service).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest
import torch
from helpers import tiny_export
from hubserver import LocalHub

import ganzoo
from ganzoo.cards.frontmatter import parse_front_matter
from ganzoo.errors import ConfigError, MissingExtraError, OutputError, WeightsError
from ganzoo.models.huggingface import parse_hf, push_export
from ganzoo.models.loading import parse_source


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


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: an unreachable endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def left_behind(tmp_path: Path) -> list[str]:
    """Every file (not folder) under ``tmp_path``, relative to it: what a refused download must not leave."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if not p.is_dir())


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
    described = [r[1].partition("?")[0] for r in hub.requests if r[1].startswith("/api/models/")]
    assert described == ["/api/models/me/tiny"]  # one question: the commit and what the Hub states of each file

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
    storage = tmp_path / "cache" / "hf" / "me--bad"
    assert [p.name for p in storage.iterdir()] == ["commits"] and not any(storage.rglob("*.*")), "the bad file was kept"

    hub.repos["me/bad"].served.clear()  # the mirror is repaired: the next load downloads the file again
    assert same_weights(ganzoo.load("hf://me/bad"), ganzoo.load(export_folder))


def test_a_cached_copy_altered_after_its_download_is_refused_and_deleted(hub, export_folder, monkeypatch):
    hub.add_folder("me/tiny", export_folder)
    folder = Path(ganzoo.load("hf://me/tiny").source)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"^hf://me/tiny: the cached model.safetensors has sha256 [0-9a-f]{64}, but "
                                           r"[0-9a-f]{64} when it was downloaded; .* has been deleted"):
        ganzoo.load("hf://me/tiny")
    assert not folder.parent.exists()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    ganzoo.load("hf://me/tiny")  # downloaded anew
    (folder.parent / "sha256.json").unlink()  # a copy whose hashes were not recorded is not trusted either
    with pytest.raises(WeightsError, match=r"the cached .* but none was recorded when it was downloaded"):
        ganzoo.load("hf://me/tiny")


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


# --- untrusted names and answers ----------------------------------------------------------------------------------


def test_repo_ids_and_revisions_that_break_the_hubs_rules_are_refused_before_any_request(hub, export_folder, tmp_path):
    hub.add_folder("me/tiny", export_folder)
    hub.lie("me/tiny")  # a careless mirror answers every revision: the client would then file it under refs/REVISION
    for source in ("hf://me/tiny@../../../../x", "hf://me/tiny@refs/../../../../x", "hf://me/tiny@dev branch",
                   "hf://me/tiny@.hidden", "hf://me/tiny@v1.lock", "hf://me/tiny@a//b", "hf://me/a..b",
                   "hf://me/a--b", "hf://me/tiny.git", "hf://me/-tiny", "hf://me/tiny.", f"hf://me/{'t' * 97}"):
        kind = "revision" if "@" in source else "repository"
        with pytest.raises(ConfigError, match=rf"^{source[:12]}.*: '.*' is not a Hub {kind} \("):
            ganzoo.load(source)
    with pytest.raises(ConfigError, match=r"^--revision for hf://me/tiny: '\.\./x' is not a Hub revision"):
        push_export(export_folder, "me/tiny", revision="../x", token="hf_local_test_token")
    assert hub.requests == [] and left_behind(tmp_path) == []
    assert parse_hf("hf://me/tiny@refs/pr/1").revision == "refs/pr/1" and parse_hf(f"me/{'t' * 96}@v1.0")


@pytest.mark.parametrize("lie", ["commit", "sha256"])
def test_a_hostile_endpoint_cannot_name_a_file_with_its_answers(hub, export_folder, tmp_path, lie):
    hub.add_folder("me/tiny", export_folder)
    hub.lie("me/tiny", **{lie: "../../../../escaped"})
    kind = {"commit": "commit id", "sha256": "LFS sha256"}[lie]
    with pytest.raises(WeightsError, match=rf"^hf://me/tiny: {hub.url} answered '\.\./\.\./\.\./\.\./escaped' "
                                           rf"as a {kind}, which must be \d\d lowercase hex digits; nothing was "):
        ganzoo.load("hf://me/tiny")
    assert left_behind(tmp_path) == []  # not ../../../../escaped, and nothing in the cache either


def test_a_hostile_endpoint_cannot_send_more_than_it_stated(hub, export_folder, tmp_path):
    hub.add_folder("me/tiny", export_folder)
    stated = (export_folder / "model.safetensors").stat().st_size
    hub.tamper("me/tiny", "model.safetensors", (export_folder / "model.safetensors").read_bytes() + b"\0" * (1 << 20))
    with pytest.raises(WeightsError, match=rf"^hf://me/tiny: the Hub sends more than the {stated} bytes it stated "
                                           r"for model.safetensors; the download was refused and removed$"):
        ganzoo.load("hf://me/tiny")
    assert left_behind(tmp_path) == []


def test_a_killed_downloads_folder_is_removed_by_a_later_download(hub, export_folder, tmp_path):
    hub.add_folder("me/tiny", export_folder)
    folder = tmp_path / "cache" / "hf" / "me--tiny"
    killed, live = folder / ".incoming-killed", folder / ".incoming-live"
    for staging in (killed, live):
        (staging / "export").mkdir(parents=True)
        (staging / "export" / "model.safetensors").write_bytes(b"half")
    os.utime(killed, (0, 0))
    ganzoo.load("hf://me/tiny")
    assert not killed.exists() and live.is_dir()  # a download that may still run is left alone


def test_a_read_only_cache_is_one_line_naming_it_and_what_it_holds_still_loads(hub, export_folder, tmp_path, lock):
    hub.add_folder("me/tiny", export_folder)
    hub.add_folder("me/other", export_folder)
    cache = tmp_path / "cache"
    cache.mkdir()
    loaded = ganzoo.load("hf://me/tiny")
    problem = lock(cache)
    assert same_weights(ganzoo.load("hf://me/tiny"), loaded)  # cached: nothing to write
    with pytest.raises(OutputError) as caught:
        ganzoo.load("hf://me/other")
    nearest = problem.replace(str(cache), str(cache / "hf"))  # the nearest folder there is: the first load made hf/
    assert str(caught.value) == f"cannot use {cache / 'hf' / 'me--other'} (ganzoo's Hub cache): {nearest}"


def test_an_unreachable_hub_on_push_is_one_line_naming_the_endpoint(export_folder, tmp_path):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    done = push(SimpleNamespace(url=endpoint), tmp_path, str(export_folder), "me/pushed")
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: hf://me/pushed: cannot reach {endpoint} (")
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.rstrip().endswith("or HF_ENDPOINT")


def test_a_password_in_the_endpoint_is_never_echoed(export_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://user:secret@127.0.0.1:{closed_port()}")
    with pytest.raises(WeightsError) as pushed:
        push_export(export_folder, "me/tiny", token="hf_local_test_token")
    with pytest.raises(WeightsError) as loaded:
        ganzoo.load("hf://me/tiny")
    with pytest.raises(ConfigError) as parsed:
        ganzoo.load("hf://user:secret@127.0.0.1/me/tiny")
    for caught in (pushed, loaded, parsed):
        assert "secret" not in str(caught.value) and "://***@127.0.0.1" in str(caught.value), caught.value


def test_without_the_hub_extra_the_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingExtraError, match=r'needs the optional extra ganzoo\[hub\].*pip install "ganzoo\[hub\]"'):
        ganzoo.load("hf://me/tiny")


# --- ganzoo push ---------------------------------------------------------------------------------------------------


def push(hub: LocalHub | SimpleNamespace, tmp_path: Path, *args: str, token: str | None = "hf_local_test_token"):
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
    from ganzoo.models.huggingface import push_export

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
    from ganzoo.models.huggingface import push_export

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
