"""A small Hugging Face Hub on 127.0.0.1 for the tests: the endpoints huggingface_hub calls, no more.

Downloads (``snapshot_download`` / ``hf_hub_download``): ``GET /api/models/{repo}[/revision/{rev}]``
(the repository and its commit), ``GET /api/models/{repo}/tree/{rev}`` (files with their LFS
sha256), ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` (``X-Repo-Commit``, ``ETag``, and for LFS
files ``X-Linked-Etag`` = the sha256 and ``X-Linked-Size``). Uploads without Xet (``HfApi.upload_folder``
falls back to this with ``HF_HUB_DISABLE_XET=1``): ``POST /api/repos/create``, ``POST
/api/models/{repo}/branch/{name}``, ``POST /api/validate-yaml``, ``POST /api/models/{repo}/preupload/{rev}``,
the LFS batch API ``POST /{repo}.git/info/lfs/objects/batch`` and its ``PUT`` upload, and ``POST
/api/models/{repo}/commit/{rev}`` (NDJSON). Unknown repositories, revisions and files get the Hub's
``X-Error-Code`` headers. Every request is recorded in ``requests``; ``tamper`` makes a file's bytes
differ from the sha256 the server states for it, as a corrupt mirror or an attacker would; ``lie``
makes it a hostile endpoint, which answers every revision and states the commit id or LFS hash it
is given (shaped like a path, say) wherever the Hub states one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".png", ".gif", ".onnx", ".pt")


def _git_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    private: bool = False
    served: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (commit, path) -> bytes sent instead
    lies: dict[str, str] = field(default_factory=dict)  # "commit" / "sha256" -> what is stated instead
    hostile: bool = False  # answers every revision (with the default branch), as no Hub would

    def commit(self, files: dict[str, bytes], branch: str = "main", parent: str | None = None) -> str:
        merged = {**(self.commits[parent] if parent else {}), **files}
        digest = hashlib.sha1(json.dumps({k: _git_sha(v) for k, v in sorted(merged.items())}).encode())
        digest.update(str(len(self.commits)).encode())
        sha = digest.hexdigest()
        self.commits[sha] = merged
        self.refs[branch] = sha
        return sha

    def resolve(self, revision: str | None) -> str | None:
        revision = revision or "main"
        found = self.refs.get(revision) or (revision if revision in self.commits else None)
        return found or (self.refs.get("main") if self.hostile else None)

    def stated_commit(self, commit: str) -> str:
        return self.lies.get("commit", commit)


class LocalHub:
    """The server; ``url`` is what ``HF_ENDPOINT`` is set to."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.lfs_uploads: dict[str, bytes] = {}
        self.validated_yaml: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def add_folder(self, repo_id: str, folder: Path, branch: str = "main") -> str:
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        return self.repos.setdefault(repo_id, Repo()).commit(files, branch=branch)

    def tamper(self, repo_id: str, path: str, data: bytes, revision: str = "main") -> None:
        repo = self.repos[repo_id]
        repo.served[(repo.resolve(revision), path)] = data

    def lie(self, repo_id: str, *, commit: str | None = None, sha256: str | None = None) -> None:
        """Make the server hostile for ``repo_id``: every revision resolves, and ``commit`` / ``sha256`` (when
        given) are stated as the commit id of every answer and the LFS hash of every LFS file."""
        repo = self.repos[repo_id]
        repo.hostile = True
        repo.lies.update({k: v for k, v in {"commit": commit, "sha256": sha256}.items() if v is not None})


def _entry(path: str, data: bytes, repo: Repo) -> dict:
    entry = {"type": "file", "path": path, "size": len(data), "oid": _git_sha(data)}
    if path.endswith(LFS_SUFFIXES):
        sha256 = repo.lies.get("sha256", hashlib.sha256(data).hexdigest())
        entry["lfs"] = {"oid": sha256, "size": len(data), "pointerSize": 134}
    return entry


def _route(pattern: str, path: str) -> tuple[str, ...] | None:
    """The groups of ``pattern`` matched against the raw (still quoted) ``path``, each unquoted: a revision
    such as ``refs%2Fpr%2F1`` or ``..%2F..%2Fx`` stays one group."""
    found = re.fullmatch(pattern, path)
    return None if found is None else tuple(unquote(g) if g is not None else None for g in found.groups())


def _handler(hub: LocalHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, value: object, status: int = 200) -> None:
            self._send(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

        def _error(self, status: int, code: str, message: str, head: bool = False, **headers: str) -> None:
            self._send(status, json.dumps({"error": message}).encode() if not head else b"",
                       {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json",
                        **headers}, head=head)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _repo(self, repo_id: str, head: bool = False) -> Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(401, "RepoNotFound", "Repository not found", head=head)
            return repo

        # -- downloads ---------------------------------------------------------------------------------------
        def _resolve_file(self, head: bool) -> None:
            found = _route(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", urlsplit(self.path).path)
            if found is None:
                return self._error(404, "NotFound", f"no route {self.path}", head=head)
            repo_id, revision, path = found
            repo = self._repo(repo_id, head)
            if repo is None:
                return
            commit = repo.resolve(revision)
            if commit is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
            files = repo.commits[commit]
            if path not in files:
                return self._error(404, "EntryNotFound", f"{path} does not exist", head=head,
                                   **{"X-Repo-Commit": repo.stated_commit(commit)})
            stated = _entry(path, files[path], repo)
            data = repo.served.get((commit, path), files[path])
            headers = {"X-Repo-Commit": repo.stated_commit(commit), "ETag": f'"{stated["oid"]}"'}
            if "lfs" in stated:
                headers.update({"X-Linked-Etag": f'"{stated["lfs"]["oid"]}"', "X-Linked-Size": len(data)})
            self._send(200, data, headers, head=head)

        def do_HEAD(self) -> None:
            hub.requests.append(("HEAD", self.path))
            self._resolve_file(head=True)

        def do_GET(self) -> None:
            hub.requests.append(("GET", self.path))
            path = urlsplit(self.path).path
            if "/resolve/" in path:
                return self._resolve_file(head=False)
            found = _route(r"/api/models/([^/]+/[^/]+)(?:/(revision|tree)/([^/]+))?/?", path)
            if found is None:
                return self._error(404, "NotFound", f"no route {path}")
            repo_id, kind, revision = found
            repo = self._repo(repo_id)
            if repo is None:
                return
            commit = repo.resolve(revision)
            if commit is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            files = repo.commits[commit]
            if kind == "tree":
                return self._json([_entry(p, data, repo) for p, data in sorted(files.items())])
            siblings = []
            for name, data in sorted(files.items()):
                entry = _entry(name, data, repo)
                sibling = {"rfilename": name, "size": len(data), "blobId": entry["oid"]}
                if "lfs" in entry:  # the revision API names the LFS hash "sha256", the tree API "oid"
                    sibling["lfs"] = {"sha256": entry["lfs"]["oid"], "size": len(data), "pointerSize": 134}
                siblings.append(sibling)
            self._json({"id": repo_id, "modelId": repo_id, "sha": repo.stated_commit(commit), "private": repo.private,
                        "siblings": siblings, "tags": [], "downloads": 0, "likes": 0})

        # -- uploads -----------------------------------------------------------------------------------------
        def do_PUT(self) -> None:
            hub.requests.append(("PUT", self.path))
            found = re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", urlsplit(self.path).path)
            data = self._body()
            if found is None or hashlib.sha256(data).hexdigest() != found.group(1):
                return self._error(400, "BadRequest", "the upload does not match its oid")
            hub.lfs_uploads[found.group(1)] = data
            self._send(200)

        def do_POST(self) -> None:
            hub.requests.append(("POST", self.path))
            path = unquote(urlsplit(self.path).path)
            body = self._body()
            if path == "/api/repos/create":
                payload = json.loads(body)
                repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") \
                    else payload["name"]
                if repo_id in hub.repos:
                    return self._error(409, "Conflict", "You already created this model repo",
                                       **{"Content-Type": "application/json"})
                private = bool(payload.get("private")) or payload.get("visibility") == "private"
                hub.repos[repo_id] = Repo(private=private)
                return self._json({"url": f"{hub.url}/{repo_id}", "name": repo_id})
            if path == "/api/validate-yaml":
                hub.validated_yaml.append(json.loads(body)["content"])
                return self._json({})
            if path.endswith(".git/info/lfs/objects/batch"):
                objects = json.loads(body)["objects"]
                return self._json({"transfer": "basic", "objects": [
                    {"oid": o["oid"], "size": o["size"],
                     "actions": {"upload": {"href": f"{hub.url}/lfs-upload/{o['oid']}"}}} for o in objects]})
            found = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit|branch)/([^/]+)", path)
            if found is None:
                return self._error(404, "NotFound", f"no route {path}")
            repo_id, action, revision = found.groups()
            repo = self._repo(repo_id)
            if repo is None:
                return
            if action == "branch":
                if revision in repo.refs:
                    return self._error(409, "Conflict", "Reference already exists")
                repo.refs[revision] = repo.resolve("main") or repo.commit({}, branch=revision)
                return self._json({})
            if action == "preupload":
                files = json.loads(body)["files"]
                return self._json({"files": [
                    {"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) else "regular",
                     "shouldIgnore": False} for f in files]})
            files: dict[str, bytes] = {}
            for line in body.decode().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] == "lfsFile":
                    files[item["value"]["path"]] = hub.lfs_uploads[item["value"]["oid"]]
            sha = repo.commit(files, branch=revision, parent=repo.resolve(revision))
            self._json({"commitUrl": f"{hub.url}/{repo_id}/commit/{sha}", "commitOid": sha})

    return Handler
