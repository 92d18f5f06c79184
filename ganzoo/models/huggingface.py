"""The Hugging Face Hub: ``hf://OWNER/REPO[@REVISION]`` export folders down, ``ganzoo push`` up.

An export folder already has the Hub's shape (``model.safetensors``, ``config.json``, a
``README.md`` card with front matter), so a Hub repository holding one is loaded as the
folder it is. :func:`fetch_export` asks the Hub (``HfApi.model_info``) which commit the
revision names and what it states about each file (its size, and the sha256 of its Git LFS
object or its git blob id), then downloads the files into ganzoo's own Hub cache
(:mod:`ganzoo.models.hub_cache`, ``<cache>/hf`` in the weights cache of :mod:`ganzoo.io.paths`), where
each is checked against what the Hub stated before it is kept. A Hub endpoint is untrusted:
repository ids and revisions are checked by the Hub's rules before any request, and commit
ids and hashes before they name anything, so an answer cannot place a file outside the cache.
With ``HF_HUB_OFFLINE=1`` (or ``download=False``, ``--offline``) nothing is requested and
the cached copy is used, its files checked against the hashes recorded when they came; an
unreachable Hub falls back to the cached copy the same way.

``HF_ENDPOINT`` is read when ganzoo calls the Hub (huggingface_hub itself reads it once, when
it is imported). The token comes from where huggingface_hub looks (``HF_TOKEN``, ``hf auth
login``) and is never printed; a URL with a password in it is printed redacted.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..cards.folder import CARD_NAME, CONFIG_NAME, PROGRESS_NAME, SAMPLES_NAME, WEIGHTS_NAME
from ..errors import ConfigError, GanzooError, WeightsError, redact
from ..extras import require
from ..io.paths import cache_dir as default_cache_dir
from .hub_cache import HubCache, Stated, check_hub_name

__all__ = [
    "HF_PREFIX", "UPLOAD_FILES", "HubRef", "check_export", "fetch_export", "hub_cache", "parse_hf", "push_export",
]

HF_PREFIX = "hf://"


@dataclass(frozen=True)
class HubRef:
    """A model repository on the Hub and an optional revision (branch, tag or commit; None: the default branch)."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return HF_PREFIX + self.repo_id + (f"@{self.revision}" if self.revision else "")


def parse_hf(text: str) -> HubRef:
    """``"OWNER/REPO[@REVISION]"`` (with or without ``hf://``) as a :class:`HubRef`, checked by the Hub's rules.

    Anything else is a ConfigError, raised before any request: a revision such as ``../../x``
    never reaches the Hub client, which would use it as a path in its cache.
    """
    value = (text[len(HF_PREFIX) :] if text.lower().startswith(HF_PREFIX) else text).strip()
    repo, at, revision = value.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")) or (at and not revision):
        raise ConfigError(
            f"{redact(HF_PREFIX + value)} is not a Hub model: write hf://OWNER/REPO or hf://OWNER/REPO@REVISION, "
            "e.g. hf://ganzoo/dcgan-mnist"
        )
    origin = redact(HF_PREFIX + value)
    check_hub_name("repository", repo, origin=origin)
    if at:
        check_hub_name("revision", revision, origin=origin)
    return HubRef(repo, revision or None)


def hub_cache(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ganzoo keeps what it downloaded from the Hub: ``hf/`` in its weights cache."""
    return default_cache_dir(cache_dir) / "hf"


def _hub() -> Any:
    return require("huggingface_hub", "hub", what="The Hugging Face Hub (hf://, ganzoo push)")


def _endpoint() -> str | None:
    return (os.environ.get("HF_ENDPOINT") or "").strip().rstrip("/") or None


def _where() -> str:
    """The endpoint, as messages name it (its password, if any, redacted)."""
    endpoint = _endpoint()
    return redact(endpoint) if endpoint else "the Hugging Face Hub"


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return flag or bool(constants.HF_HUB_OFFLINE)


def _unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the endpoint could not be reached (no answer), whichever HTTP library the client uses.

    requests' errors (huggingface_hub before 1.0) are ``OSError``s; httpx's (1.0 on; ``httpx2``
    in later releases) derive from its ``RequestError``. An HTTP error status is an answer, not
    this: check that first.
    """
    from huggingface_hub.errors import HfHubHTTPError

    kinds: list[type[BaseException]] = [OSError]
    for library in ("httpx", "httpx2"):
        module = sys.modules.get(library)
        if module is not None and isinstance(getattr(module, "RequestError", None), type):
            kinds.append(module.RequestError)
    return isinstance(error, tuple(kinds)) and not isinstance(error, (GanzooError, HfHubHTTPError))


def _translate(error: BaseException, ref: HubRef) -> GanzooError | None:
    """The one-line error for what huggingface_hub raised; None for an error that is not about the Hub."""
    from huggingface_hub import errors
    if isinstance(error, GanzooError):
        return error
    if isinstance(error, errors.RevisionNotFoundError):
        return WeightsError(f"{ref}: the repository has no revision {ref.revision!r}")
    if isinstance(error, errors.RepositoryNotFoundError):
        return WeightsError(
            f"{ref}: no model repository {ref.repo_id!r} on {_where()} (a private one needs a token: hf auth login)"
        )
    if isinstance(error, errors.HfHubHTTPError):
        lines = redact(str(error)).strip().splitlines()
        return WeightsError(f"{ref}: {_where()} answered {lines[0] if lines else type(error).__name__}")
    if _unreachable(error):
        lines = redact(str(error)).strip().splitlines()
        return WeightsError(
            f"{ref}: cannot reach {_where()} ({lines[0] if lines else type(error).__name__}): check the network, "
            "or HF_ENDPOINT"
        )
    return None


def _stated_files(hub: Any, ref: HubRef) -> tuple[str, dict[str, Stated]]:
    """The commit ``ref`` names and what the Hub states about the export's files in it, each name checked."""
    from ..cards.folder import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME

    where = _where()
    try:
        info = hub.HfApi(endpoint=_endpoint()).model_info(ref.repo_id, revision=ref.revision, files_metadata=True)
    except (ValueError, TypeError, KeyError, AttributeError) as failure:  # an answer the client could not read
        raise WeightsError(
            f"{ref}: {where} answered something that is not a model repository's description "
            f"({type(failure).__name__}); is HF_ENDPOINT a Hugging Face Hub?"
        ) from None
    commit = check_hub_name("commit id", getattr(info, "sha", None), origin=str(ref), answered_by=where)
    stated: dict[str, Stated] = {}
    for sibling in getattr(info, "siblings", None) or []:
        name = getattr(sibling, "rfilename", None)
        if name not in (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME):
            continue
        lfs = getattr(sibling, "lfs", None)
        size = getattr(lfs, "size", None) if lfs is not None else getattr(sibling, "size", None)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise WeightsError(f"{ref}: {where} states no size for {name} (it answered {size!r})")
        if lfs is not None:
            sha256 = check_hub_name("LFS sha256", getattr(lfs, "sha256", None), origin=str(ref), answered_by=where)
            stated[name] = Stated(size, sha256=sha256)
        elif name == WEIGHTS_NAME:
            raise WeightsError(
                f"{ref}: the Hub states no LFS sha256 for {WEIGHTS_NAME}; ganzoo loads only weights it can check: "
                "store the file with Git LFS (ganzoo push does)"
            )
        else:
            blob_id = check_hub_name("git blob id", getattr(sibling, "blob_id", None), origin=str(ref),
                                     answered_by=where)
            stated[name] = Stated(size, blob_id=blob_id)
    if WEIGHTS_NAME not in stated:
        raise WeightsError(
            f"{ref} has no {WEIGHTS_NAME}: it is not a ganzoo export folder "
            f"('ganzoo push EXPORT_DIR {ref.repo_id}' uploads one)"
        )
    return commit, stated


def _downloader(hub: Any, ref: HubRef, commit: str) -> Any:
    """``fetch(name, file)``: the file ``name`` of ``commit``, streamed into ``file`` by the Hub client."""
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    headers = build_hf_headers()

    def fetch(name: str, file: BinaryIO) -> None:
        url = hub.hf_hub_url(ref.repo_id, name, revision=commit, endpoint=_endpoint())
        http_get(url, file, headers=headers, displayed_filename=name)

    return fetch


def fetch_export(
    text: str, *, cache_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> Path:
    """The local export folder of ``hf://OWNER/REPO[@REVISION]``, downloaded (or cached) and hash-checked."""
    hub = _hub()
    ref = parse_hf(text)
    cache = HubCache(hub_cache(cache_dir), ref.repo_id, origin=str(ref))
    if not download or _offline():
        return _from_cache(cache, ref, reason="offline, or the Hub cannot be reached")
    try:
        commit, stated = _stated_files(hub, ref)
        folder = cache.cached(commit) or cache.download(commit, stated, _downloader(hub, ref, commit))
    except Exception as failure:
        if _unreachable(failure):
            lines = redact(str(failure)).strip().splitlines()
            reason = f"{_where()} cannot be reached: {lines[0] if lines else type(failure).__name__}"
            return _from_cache(cache, ref, reason=reason)
        translated = _translate(failure, ref)
        if translated is None:
            raise
        raise translated from None
    cache.remember(ref.revision, commit)
    return folder


def _from_cache(cache: HubCache, ref: HubRef, *, reason: str) -> Path:
    """The cached export folder of ``ref``, used without a request; a one-line error saying ``reason`` if none."""
    commit = cache.commit_for(ref.revision)
    folder = cache.cached(commit) if commit is not None else None
    if folder is None:
        raise WeightsError(
            f"{ref} is not in ganzoo's Hub cache ({cache.root}) and it cannot be downloaded now "
            f"({reason}); load it once online"
        )
    return folder


def push_export(
    folder: str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
) -> str:
    """Upload the export ``folder`` to the Hub model repository ``repo_id`` (made if missing); the commit's URL.

    The folder is checked first (:func:`check_export`): a folder that
    ``ganzoo.load`` would not read, or whose card the Hub would not index, is refused before
    anything is sent. ``revision`` names a branch, created from the default branch when it
    does not exist yet.
    """
    from .._version import __version__

    hub = _hub()
    ref = parse_hf(repo_id)
    if ref.revision:
        raise ConfigError(f"give the branch with --revision, not in the repository name ({redact(repo_id)!r})")
    if revision is not None:
        ref = HubRef(ref.repo_id, check_hub_name("revision", revision, origin=f"--revision for {ref}"))
    document = check_export(folder)
    token = token or hub.get_token()
    if not token:
        raise ConfigError(
            "no Hugging Face token: run 'hf auth login' or set HF_TOKEN (a token with write access)"
        )
    api = hub.HfApi(endpoint=_endpoint(), token=token)
    try:
        # not private: None, so that an organisation whose repositories are private by default keeps its default
        api.create_repo(ref.repo_id, private=True if private else None, exist_ok=True, repo_type="model")
        if revision:
            api.create_branch(ref.repo_id, branch=revision, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            repo_id=ref.repo_id,
            folder_path=str(folder),
            revision=revision,
            allow_patterns=list(UPLOAD_FILES),
            commit_message=f"Upload {document['model']} export (ganzoo {__version__})",
            repo_type="model",
        )
    except Exception as failure:
        translated = _translate(failure, ref)
        if translated is None:
            raise
        raise translated from None
    return redact(str(getattr(info, "commit_url", None) or info))


UPLOAD_FILES = (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME, SAMPLES_NAME, PROGRESS_NAME)
"""What ``ganzoo push`` uploads of an export folder (what there is of it): nothing else in the folder."""


def check_export(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` of the export ``folder`` once it passed what the Hub and ``ganzoo.load`` need; else one line.

    The folder must be one ``ganzoo.load`` reads (config, ``model.safetensors``), and its card's
    front matter must be YAML with ``library_name: ganzoo`` and a ``license``, and a ``model-index``
    (where there is one) that huggingface_hub parses, as the Hub does. No file that would be uploaded may
    be a link out of the folder (:class:`~ganzoo.io.folderguard.FolderGuard`): the Hub client reads through
    links, and a private file must not end up in a public repository.
    """
    from ..cards.folder import read_config
    from ..cards.frontmatter import parse_front_matter, read_card_text
    from ..errors import CardError
    from ..io.folderguard import FolderGuard

    folder = Path(folder)
    if not folder.is_dir():
        raise WeightsError(f"{folder} is not a folder: give the export folder 'ganzoo train' wrote (OUT/export)")
    guard = FolderGuard(folder, what="export folder")
    for name in UPLOAD_FILES:  # what is uploaded is read by the Hub client, which follows links: none may lead out
        guard.check(folder / name)
    document = read_config(folder)
    if not (folder / WEIGHTS_NAME).is_file():
        raise WeightsError(f"{folder} has no {WEIGHTS_NAME}: it is not a complete ganzoo export folder")
    card = folder / CARD_NAME
    if not card.is_file():
        raise CardError(f"{folder} has no {CARD_NAME}: the Hub shows the model card from it")
    front = parse_front_matter(read_card_text(guard.check(card)), source=str(card))
    missing = [key for key in ("library_name", "license") if not front.get(key)]
    if missing or front.get("library_name") != "ganzoo":
        raise CardError(
            f"{card}: the front matter needs library_name: ganzoo and a license (missing: "
            f"{', '.join(missing) or 'library_name: ganzoo'})"
        )
    if front.get("model-index"):
        cards = require("huggingface_hub.repocard_data", "hub", what="Checking a model card for the Hub")
        try:
            cards.model_index_to_eval_results(front["model-index"])
        except (KeyError, TypeError, ValueError, AttributeError) as failure:
            raise CardError(f"{card}: its model-index is not in the Hub's form ({failure})") from None
    return document
