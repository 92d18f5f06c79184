"""The Hugging Face Hub: ``hf://OWNER/REPO[@REVISION]`` export folders down, ``ganzoo push`` up.

An export folder already has the Hub's shape (``model.safetensors``, ``config.json``, a
``README.md`` card with front matter), so a Hub repository holding one is loaded as the
folder it is. :func:`fetch_export` downloads it with ``huggingface_hub.snapshot_download``
into ganzoo's own cache (``<cache>/hf``, the weights cache of :mod:`ganzoo.paths`, in the
Hub cache's layout), then checks ``model.safetensors`` against the sha256 the Hub stated for
it: its Git LFS object id, sent as ``X-Linked-Etag`` and used by the Hub cache as the name of
the file's blob. A file whose content does not hash to that name is deleted from the cache
and refused. With ``HF_HUB_OFFLINE=1`` (or ``download=False``, ``--offline``) nothing is
requested and the cached snapshot is used, checked the same way.

``HF_ENDPOINT`` is read when ganzoo calls the Hub (huggingface_hub itself reads it once, when
it is imported). The token comes from where huggingface_hub looks (``HF_TOKEN``, ``hf auth
login``) and is never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, WeightsError
from .extras import require
from .paths import cache_dir as default_cache_dir

__all__ = ["HF_PREFIX", "HubRef", "fetch_export", "hub_cache", "parse_hf", "push_export"]

HF_PREFIX = "hf://"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class HubRef:
    """A model repository on the Hub and an optional revision (branch, tag or commit; None: the default branch)."""

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return HF_PREFIX + self.repo_id + (f"@{self.revision}" if self.revision else "")


def parse_hf(text: str) -> HubRef:
    """``"OWNER/REPO[@REVISION]"`` (with or without ``hf://``) as a :class:`HubRef`; anything else is a ConfigError."""
    value = text[len(HF_PREFIX) :] if text.lower().startswith(HF_PREFIX) else text
    repo, _, revision = value.strip().partition("@")
    if not _REPO.match(repo) or (_ and not revision.strip()):
        raise ConfigError(
            f"{HF_PREFIX}{value} is not a Hub model: write hf://OWNER/REPO or hf://OWNER/REPO@REVISION, "
            "e.g. hf://ganzoo/dcgan-mnist"
        )
    return HubRef(repo, revision.strip() or None)


def hub_cache(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ganzoo keeps what it downloaded from the Hub: ``hf/`` in its weights cache."""
    return default_cache_dir(cache_dir) / "hf"


def _hub() -> Any:
    return require("huggingface_hub", "hub", what="The Hugging Face Hub (hf://, ganzoo push)")


def _endpoint() -> str | None:
    return (os.environ.get("HF_ENDPOINT") or "").strip().rstrip("/") or None


def _offline(hub: Any) -> bool:
    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return flag or bool(hub.constants.HF_HUB_OFFLINE)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_lfs_hash(pointer: Path, ref: HubRef) -> None:
    """Compare ``pointer``'s content with the LFS sha256 its cache blob is named by; delete and refuse a mismatch."""
    from .export import WEIGHTS_NAME

    if not pointer.is_symlink():
        raise WeightsError(
            f"{ref}: the Hub cache at {pointer.parent} holds {WEIGHTS_NAME} without its blob link (this file system "
            "has no symbolic links), so its sha256 cannot be checked; use a cache folder that supports them"
        )
    blob = pointer.parent / os.readlink(pointer)
    expected = blob.name
    if not _SHA256.match(expected):
        raise WeightsError(
            f"{ref}: the Hub states no LFS sha256 for {WEIGHTS_NAME} (its ETag is {expected!r}); ganzoo loads only "
            "weights it can check: store the file with Git LFS (ganzoo push does)"
        )
    actual = _sha256(pointer)
    if actual != expected:
        blob.unlink(missing_ok=True)
        pointer.unlink(missing_ok=True)
        raise WeightsError(
            f"{ref}: {WEIGHTS_NAME} has sha256 {actual}, but the Hub's LFS hash is {expected}; the download is "
            "corrupt or was altered and has been deleted from ganzoo's cache: load it again to download it anew"
        )


def _translate(error: Exception, ref: HubRef, hub: Any, cache: Path) -> WeightsError | None:
    """The one-line error for what huggingface_hub raised; None for an error that is not about the Hub."""
    errors = hub.errors
    where = _endpoint() or "the Hugging Face Hub"
    if isinstance(error, errors.RevisionNotFoundError):
        return WeightsError(f"{ref}: the repository has no revision {ref.revision!r}")
    if isinstance(error, errors.RepositoryNotFoundError):
        return WeightsError(
            f"{ref}: no model repository {ref.repo_id!r} on {where} (a private one needs a token: hf auth login)"
        )
    if isinstance(error, errors.LocalEntryNotFoundError):
        return WeightsError(
            f"{ref} is not in ganzoo's Hub cache ({cache}) and it cannot be downloaded now "
            "(offline, or the Hub cannot be reached); load it once online"
        )
    if isinstance(error, errors.HfHubHTTPError):
        lines = str(error).strip().splitlines()
        return WeightsError(f"{ref}: the Hub answered {lines[0] if lines else type(error).__name__}")
    return None


def fetch_export(
    text: str, *, cache_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> Path:
    """The local export folder of ``hf://OWNER/REPO[@REVISION]``, downloaded (or cached) and hash-checked."""
    from .export import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME

    hub = _hub()
    ref = parse_hf(text)
    cache = hub_cache(cache_dir)
    try:
        folder = Path(
            hub.snapshot_download(
                ref.repo_id,
                revision=ref.revision,
                cache_dir=str(cache),
                allow_patterns=[WEIGHTS_NAME, CONFIG_NAME, CARD_NAME],
                local_files_only=not download or _offline(hub),
                endpoint=_endpoint(),
            )
        )
    except Exception as failure:
        translated = _translate(failure, ref, hub, cache)
        if translated is None:
            raise
        raise translated from None
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise WeightsError(
            f"{ref} has no {WEIGHTS_NAME}: it is not a ganzoo export folder "
            f"('ganzoo push EXPORT_DIR {ref.repo_id}' uploads one)"
        )
    _check_lfs_hash(weights, ref)
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

    The folder is checked first (:func:`ganzoo.hubcard.check_export`): a folder that
    ``ganzoo.load`` would not read, or whose card the Hub would not index, is refused before
    anything is sent. ``revision`` names a branch, created from the default branch when it
    does not exist yet.
    """
    from ._version import __version__
    from .hubcard import UPLOAD_FILES, check_export

    hub = _hub()
    ref = parse_hf(repo_id)
    if ref.revision:
        raise ConfigError(f"give the branch with --revision, not in the repository name ({repo_id!r})")
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
        translated = _translate(failure, ref, hub, hub_cache())
        if translated is None:
            raise
        raise translated from None
    return str(getattr(info, "commit_url", None) or info)
