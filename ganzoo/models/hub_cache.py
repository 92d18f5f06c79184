"""ganzoo's Hub cache: the one place where what a Hub endpoint says becomes files.

A Hub endpoint is someone else's server (``HF_ENDPOINT`` may name any mirror), so nothing it
answers may choose where a file lands. huggingface_hub's own cache names files after the
endpoint's answers (blobs after the ``X-Linked-Etag``, snapshots after the ``X-Repo-Commit``,
refs after the revision) and does not check all of them, so ganzoo does not let it write:
it keeps its own cache, in which

* every name that comes from the user or from the endpoint passes :func:`check_hub_name`
  first: repository ids and revisions by the Hub's own rules, commit ids and hashes as hex
  digits of the right length, before any request is made or any file is named;
* every path is built by :func:`inside`, which refuses a name that is not one plain path
  component and a path that does not lie inside the cache once links are resolved;
* a download goes into a fresh ``.incoming-*`` folder (:meth:`HubCache.download`), each file
  bounded by the size the Hub stated and checked against the hash it stated, and takes its
  place under ``commits/COMMIT`` by one rename; a refused or failed download removes that
  folder, so nothing it wrote is left behind (a killed one's is removed a day later).

Layout of ``<hub cache>/OWNER--REPO`` (``--`` is not allowed in repository ids, so the name is
unambiguous)::

    refs.json                     {"REVISION": "COMMIT", ...} ("" is the default branch)
    commits/COMMIT/export/        model.safetensors, config.json, README.md: an export folder
    commits/COMMIT/sha256.json    {"FILE": "SHA256", ...}, checked again at every load
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from ..errors import ConfigError, WeightsError
from ..io.files import output_error, write_text

__all__ = ["HubCache", "HubName", "Stated", "check_hub_name", "inside"]

HubName = Literal["repository", "revision", "commit id", "LFS sha256", "git blob id"]

MAX_REVISION = 255
"""Longest revision accepted (git allows longer ref names; no branch or tag of a model needs them)."""
MAX_RECORD = 1 << 16
"""Largest ``refs.json`` or ``sha256.json`` read: a few hundred bytes each in practice."""
STALE_INCOMING_S = 24 * 3600
"""Age after which an ``.incoming-*`` folder is a killed download's, removed by the next download."""

_REPO_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
_REPOSITORY = re.compile(f"{_REPO_PART}/{_REPO_PART}")
_REF_CHARACTERS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SEPARATORS = {"/", os.sep} | ({os.altsep} if os.altsep else set())


def _is_repository(value: str) -> bool:
    return bool(_REPOSITORY.fullmatch(value)) and "--" not in value and ".." not in value and not value.endswith(".git")


def _is_revision(value: str) -> bool:
    """git's rules for a ref name (``git check-ref-format``), which the Hub's branches and tags follow."""
    parts = value.split("/")
    return (
        0 < len(value) <= MAX_REVISION
        and not _REF_CHARACTERS.search(value)
        and ".." not in value
        and "@{" not in value
        and value != "@"
        and not value.endswith(".")
        and all(part and not part.startswith(".") and not part.endswith(".lock") for part in parts)
    )


_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "repository": (
        _is_repository,
        "OWNER/REPO, each 1 to 96 letters, digits, '_', '-' or '.', not starting or ending with '-' or '.', "
        "without '--' or '..', not ending in '.git'",
    ),
    "revision": (
        _is_revision,
        f"a branch, tag or commit named by git's rules: 1 to {MAX_REVISION} characters, no spaces, control "
        "characters or any of ~^:?*[\\, no '..' or '@{', no part that is empty, starts with '.' or ends with "
        "'.lock', not ending in '.'",
    ),
    "commit id": (lambda value: bool(_HEX40.fullmatch(value)), "40 lowercase hex digits"),
    "LFS sha256": (lambda value: bool(_HEX64.fullmatch(value)), "64 lowercase hex digits"),
    "git blob id": (lambda value: bool(_HEX40.fullmatch(value)), "40 lowercase hex digits"),
}


def check_hub_name(kind: HubName, value: object, *, origin: str, answered_by: str | None = None) -> str:
    """``value``, if it is a valid ``kind`` of Hub name; else a one-line error naming ``origin``.

    A name the user gave (``answered_by`` None: a repository id, a revision) is a
    :class:`ConfigError`; a name the endpoint ``answered_by`` gave (a commit id, a hash) is a
    :class:`WeightsError`, raised before that name is used for anything.
    """
    accept, rule = _RULES[kind]
    if isinstance(value, str) and accept(value):
        return value
    shown = repr(value)[:120]
    if answered_by is None:
        raise ConfigError(f"{origin}: {shown} is not a Hub {kind} ({rule})")
    raise WeightsError(
        f"{origin}: {answered_by} answered {shown} as a {kind}, which must be {rule}; nothing was downloaded "
        "(is HF_ENDPOINT a Hugging Face Hub?)"
    )


def inside(root: Path, *names: str) -> Path:
    """``root / name / ...``, refused unless each name is one plain component and the result lies in ``root``.

    The result is compared with ``root`` after resolving links, so a link placed in the cache
    cannot lead a read or a write out of it.
    """
    path = root
    for name in names:
        if not name or name in {".", ".."} or "\0" in name or any(sep in name for sep in _SEPARATORS):
            raise WeightsError(f"ganzoo's Hub cache refuses the name {name!r} in {path}: it is not one plain name")
        path = path / name
    if not path.resolve().is_relative_to(root.resolve()):
        raise WeightsError(f"{path} leads outside ganzoo's Hub cache {root} (a symbolic link?); remove it")
    return path


@dataclass(frozen=True)
class Stated:
    """What the Hub stated about one file: its size, and its LFS sha256 or, for a plain git file, its blob id."""

    size: int
    sha256: str | None = None
    blob_id: str | None = None


class _Bounded:
    """A file that refuses bytes beyond ``limit``: an endpoint cannot send more than it stated."""

    def __init__(self, file: BinaryIO, path: Path, limit: int, origin: str):
        self._file, self._path, self._limit, self._origin = file, path, limit, origin

    def write(self, data: bytes) -> int:
        if self._file.tell() + len(data) > self._limit:
            raise WeightsError(
                f"{self._origin}: the Hub sends more than the {self._limit} bytes it stated for {self._path.name}; "
                "the download was refused and removed"
            )
        try:
            return self._file.write(data)
        except OSError as failure:  # a full disk, a read-only cache: said as such, not as a Hub failure
            raise output_error(self._path, failure) from None

    def __getattr__(self, name: str) -> object:  # tell, seek, truncate, flush: the file's own
        return getattr(self._file, name)


def _digests(path: Path) -> tuple[str, str, int]:
    """The sha256 of ``path``'s content, its git blob id (sha1 of ``blob SIZE\\0`` + content), and its size."""
    size = path.stat().st_size
    sha256, git = hashlib.sha256(), hashlib.sha1(b"blob %d\0" % size)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            sha256.update(block)
            git.update(block)
    return sha256.hexdigest(), git.hexdigest(), size


class HubCache:
    """One Hub repository's folder in ganzoo's Hub cache (the layout is in the module's docstring)."""

    def __init__(self, root: Path, repo_id: str, *, origin: str):
        self.root = root
        self.origin = origin
        self.folder = inside(root, check_hub_name("repository", repo_id, origin=origin).replace("/", "--"))

    # -- which commit a revision named -------------------------------------------------------------------------
    def _record(self, name: str) -> dict[str, str]:
        """``refs.json`` or a commit's ``sha256.json`` (name relative to the repository's folder), checked."""
        path = inside(self.folder, *name.split("/"))
        if not path.is_file():
            return {}
        with path.open("rb") as file:
            data = file.read(MAX_RECORD + 1)
        try:
            record = json.loads(data) if len(data) <= MAX_RECORD else None
        except ValueError:
            record = None
        if not isinstance(record, dict) or not all(isinstance(v, str) for v in record.values()):
            raise WeightsError(f"{self.origin}: {path} is damaged (not a small JSON object of names); delete it")
        return record

    def commit_for(self, revision: str | None) -> str | None:
        """The commit ``revision`` (None: the default branch) named when it was last downloaded; None if never."""
        if revision is not None and _HEX40.fullmatch(revision):
            return revision
        commit = self._record("refs.json").get(revision or "")
        where = str(self.folder / "refs.json")
        return None if commit is None else check_hub_name("commit id", commit, origin=self.origin, answered_by=where)

    def remember(self, revision: str | None, commit: str) -> None:
        """Record that ``revision`` names ``commit`` (written only when that changed: a read-only cache still loads)."""
        if revision is not None and revision == commit:
            return
        refs = self._record("refs.json")
        if refs.get(revision or "") != commit:
            write_text(inside(self.folder, "refs.json"), json.dumps({**refs, revision or "": commit}, sort_keys=True))

    # -- the files of one commit -------------------------------------------------------------------------------
    def cached(self, commit: str) -> Path | None:
        """The export folder of ``commit`` if it is in the cache and its files still have their hashes; else None.

        A file whose hash changed since it was downloaded means the cached copy was damaged or
        altered: the commit's folder is deleted and the load refused.
        """
        commit = check_hub_name("commit id", commit, origin=self.origin, answered_by=str(self.folder))
        folder = inside(self.folder, "commits", commit)
        if not folder.is_dir():
            return None
        export = inside(folder, "export")
        sums = self._record(f"commits/{commit}/sha256.json")
        present = {entry.name for entry in export.iterdir()} if export.is_dir() else set()
        for name in sorted(set(sums) | present) or ["sha256.json"]:
            path = inside(export, name)
            actual = _digests(path)[0] if path.is_file() and not path.is_symlink() else "missing"
            if actual != sums.get(name, "unrecorded"):
                shutil.rmtree(folder, ignore_errors=True)
                raise WeightsError(
                    f"{self.origin}: the cached {name} has sha256 {actual}, but {sums.get(name, 'none was recorded')} "
                    "when it was downloaded; the copy in ganzoo's cache was damaged or altered and has been deleted: "
                    "load it again to download it anew"
                )
        return export

    def download(self, commit: str, stated: Mapping[str, Stated], fetch: Callable[[str, BinaryIO], None]) -> Path:
        """Download ``stated``'s files of ``commit`` (``fetch(name, file)`` writes one) and return the export folder.

        Everything is written below a fresh ``.incoming-*`` folder, each file bounded by its
        stated size and checked against its stated hash; the folder becomes ``commits/COMMIT``
        by one rename only when all files passed, and is removed whatever went wrong.
        """
        commit = check_hub_name("commit id", commit, origin=self.origin, answered_by=str(self.folder))
        target = inside(self.folder, "commits", commit)
        with _writing(self.folder):
            target.parent.mkdir(parents=True, exist_ok=True)
            self._sweep()
            staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.folder))
        try:
            export = inside(staging, "export")
            with _writing(export):
                export.mkdir()
            sums = {name: self._fetch_one(inside(export, name), facts, fetch) for name, facts in stated.items()}
            write_text(inside(staging, "sha256.json"), json.dumps(sums, sort_keys=True))
            self._check_staged(staging, set(stated))
            try:
                staging.rename(target)
            except OSError as failure:
                if not (target / "sha256.json").is_file():  # unless another download of this commit came first
                    raise output_error(target, failure, what="ganzoo's Hub cache", folder=True) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already when the rename succeeded
        return inside(target, "export")

    def _sweep(self) -> None:
        """Remove the ``.incoming-*`` folders of downloads that were killed (a day old: no live download is)."""
        now = time.time()
        for entry in self.folder.glob(".incoming-*"):
            if entry.is_dir() and not entry.is_symlink() and now - entry.lstat().st_mtime > STALE_INCOMING_S:
                shutil.rmtree(entry, ignore_errors=True)

    def _fetch_one(self, path: Path, facts: Stated, fetch: Callable[[str, BinaryIO], None]) -> str:
        """Write one file and check it against what the Hub stated; its sha256."""
        with _writing(path, folder=False):
            file = path.open("xb")
        with file:
            fetch(path.name, _Bounded(file, path, facts.size, self.origin))  # type: ignore[arg-type]
        sha256, blob_id, size = _digests(path)
        if size != facts.size:
            raise WeightsError(
                f"{self.origin}: {path.name} is {size} bytes, but the Hub stated {facts.size}; the download was cut "
                "off or altered and was not kept: load it again"
            )
        if facts.sha256 is not None and sha256 != facts.sha256:
            raise WeightsError(
                f"{self.origin}: {path.name} has sha256 {sha256}, but the Hub's LFS hash is {facts.sha256}; the "
                "download is corrupt or was altered and was not kept in ganzoo's cache: load it again to download "
                "it anew"
            )
        if facts.blob_id is not None and blob_id != facts.blob_id:
            raise WeightsError(
                f"{self.origin}: {path.name} has git blob id {blob_id}, but the Hub stated {facts.blob_id}; the "
                "download is corrupt or was altered and was not kept in ganzoo's cache: load it again"
            )
        return sha256

    @staticmethod
    def _check_staged(staging: Path, names: set[str]) -> None:
        """Everything in ``staging`` is a regular file or folder that ganzoo named: nothing else was written there."""
        found: dict[str, bool] = {}
        for folder, subfolders, files in os.walk(staging):  # links are listed, never followed
            for name in subfolders + files:
                entry = Path(folder, name)
                found[entry.relative_to(staging).as_posix()] = not entry.is_symlink()
        expected = {"export", "sha256.json", *(f"export/{name}" for name in names)}
        if set(found) != expected or not all(found.values()):
            raise WeightsError(f"the download into {staging} holds {sorted(found)}, not the files asked for")


@contextlib.contextmanager
def _writing(path: Path, *, folder: bool = True) -> Iterator[None]:
    """An ``OSError`` while ganzoo writes its cache (read-only, full) is one line naming ``path``, not a Hub failure."""
    try:
        yield
    except OSError as failure:
        raise output_error(path, failure, what="ganzoo's Hub cache", folder=folder) from None
