"""The errors a user of ganzoo can meet.

Every error that a user can fix derives from :class:`GanzooError`; the CLI prints such an
error's message (one or two lines) on stderr and exits non-zero instead of showing a
traceback. Messages name the problem and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = [
    "CardError",
    "ConfigConflictError",
    "ConfigError",
    "CorruptDataError",
    "DataNotFoundError",
    "DiskFullError",
    "DuplicateNameError",
    "ExportError",
    "FolderEscapeError",
    "GanzooError",
    "MemoryLimitError",
    "MissingExtraError",
    "OutputError",
    "PluginError",
    "TrainingDivergedError",
    "UnknownNameError",
    "WeightsError",
    "redact",
]

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#]*@")
"""The ``user:password@`` of a URL (``[^/...]*`` is greedy, so a password holding ``@`` goes whole)."""


def redact(text: str) -> str:
    """``text`` with the user name and password of every URL in it replaced by ``***``.

    A URL may carry credentials (``http://user:secret@host/...``, ``HF_ENDPOINT`` naming a private
    mirror), and messages end up in terminals, logs and bug reports. Every message that quotes a
    URL, a model source or an endpoint passes it (or the whole message) through here; what is left
    (scheme, host, path) still says which URL was meant.
    """
    return _USERINFO.sub(r"\1***@", text)


class GanzooError(Exception):
    """Base class of every error caused by input that the user can correct."""


class UnknownNameError(GanzooError, LookupError):
    """A model, loss, dataset or weights name that no installed plugin registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, hint: str | None = None):
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        close = difflib.get_close_matches(self.name, self.known, n=3, cutoff=0.5)
        if close:
            hint = "Did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif self.hint is not None:
            hint = self.hint
        elif self.known:
            listing = "ganzoo list" if self.kind == "model" else f"ganzoo list --{self.kind}s"
            hint = f"Run '{listing}' to see the {len(self.known)} available."
        else:
            hint = "No plugin registers any; check 'ganzoo plugins'."
        return f"unknown {self.kind} {self.name!r}. {hint}"

    def __str__(self) -> str:  # LookupError would otherwise quote the message like a KeyError
        return self.args[0]


class DuplicateNameError(GanzooError):
    """One plugin registered a name twice; or, under ``GANZOO_STRICT_PLUGINS``, a plugin registered a name another
    plugin holds (otherwise that is no error: both records stay, see ``ganzoo.registry.catalog``)."""


class PluginError(GanzooError):
    """A plugin failed to import, failed inside a hook, or implements a misspelled hook."""


class ConfigError(GanzooError):
    """An option, hyper-parameter or combination that a model, loss or dataset does not accept."""


class ConfigConflictError(ConfigError):
    """Two sources of a model's configuration (a weights file, a registry record, the caller) disagree on a key.

    Like torchvision's ``_ovewrite_named_param``: agreeing sources are fine, a disagreement is
    never settled by silently letting one of them win.
    """

    def __init__(self, model: str, key: str, first: tuple[str, object], second: tuple[str, object]):
        self.model = model
        self.key = key
        self.first = first
        self.second = second
        super().__init__(
            f"model {model!r}: {first[0]} has {key}={first[1]!r} but {second[0]} has {key}={second[1]!r}; "
            "make them agree (or leave the key to one of them)"
        )


class DataNotFoundError(GanzooError):
    """A dataset is not on disk and cannot (or may not) be downloaded."""


class CorruptDataError(GanzooError):
    """A data file that is there but damaged: truncated, empty, or not the kind of file its name says."""


class OutputError(GanzooError):
    """A path ganzoo was asked to write that cannot be written: a folder where a file is wanted (or the
    reverse), below a file, read-only, virtual, not the user's to write. ``path`` is the path and
    ``problem`` what is wrong with it, in words (the message without the path and the advice)."""

    def __init__(self, message: str, *, path: object = None, problem: str = ""):
        super().__init__(message)
        self.path = path
        self.problem = problem or message


class DiskFullError(OutputError):
    """The disk (or the user's quota) filled up while writing ``path``. ``needed`` (bytes, when known) is
    what the write needs and ``free`` what the file system had left; what was there before is kept."""

    def __init__(self, message: str, *, path: object = None, problem: str = "", needed: int | None = None,
                 free: int | None = None):
        super().__init__(message, path=path, problem=problem)
        self.needed = needed
        self.free = free


class FolderEscapeError(GanzooError):
    """An entry of a folder ganzoo owns (a run, export or gallery folder) that would make it read or write
    outside that folder: a symbolic link leading out, a path that climbs out with ``..``, a recorded path
    elsewhere, or something that is not a regular file. ``path`` is the entry (see :mod:`ganzoo.io.folderguard`)."""

    def __init__(self, message: str, *, path: object = None):
        super().__init__(message)
        self.path = path


class MemoryLimitError(GanzooError):
    """A request (an option such as ``-n`` or ``--image-size``) or a file (an image whose header declares a
    huge size) that would need more memory than is available or allowed. ``needed`` and ``available`` are
    in bytes (None where the refusal is a fixed bound rather than the machine's memory)."""

    def __init__(self, message: str, *, needed: int | None = None, available: int | None = None):
        super().__init__(message)
        self.needed = needed
        self.available = available


class WeightsError(GanzooError):
    """Weights that are missing, corrupt, fail their hash check, or do not fit the architecture."""


class CardError(WeightsError):
    """A model card that exists but cannot be read: unreadable bytes, or front matter that is not valid YAML."""


class TrainingDivergedError(GanzooError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class ExportError(GanzooError):
    """A generator that cannot be written to a deployable format (ONNX, TorchScript), or whose file disagrees
    with the generator it came from: the message names the operation or the difference."""


class MissingExtraError(GanzooError):
    """A feature that needs an optional dependency which is not installed; the message names the extra to install."""
