"""A loopback GitHub REST server that the real PyGithub client talks to.

It holds pull requests made from a real git repository (their files and
patches are what `git diff base...head` says, as on GitHub), reviews, review
comments (with replies and resolution), issue comments, labels, drafts and
collaborator permissions. It validates review comments as GitHub does: the
path must be in the diff, `line` in one of its hunks on that side,
`start_line` before `line` in the same hunk; one invalid comment rejects the
whole review with 422; a body over 65,536 characters is refused. Lists
paginate with `Link` headers. `read_only` answers 403 to every write, as a
fork PR's token gets; `permissions` grants only what a workflow declares.
GraphQL serves the two calls reviewer makes: the review threads of a pull
request (resolved, outdated, who resolved them) and `resolveReviewThread`.
The base branch is read as reviewer reads it: the contents API, and a
commit's tree listing (`git/trees`, truncated past `tree_limit` entries)
with its blobs (`git/blobs`).
`faults` make it misbehave as GitHub sometimes does: a 502 or a dropped
connection after the write was carried out, an answer slower than the
client's timeout, a rate limit (403 or 429, with or without `retry-after`
and `x-ratelimit-*`). Every request is recorded, headers too, so tests
assert on what actually went over the wire.
"""

from __future__ import annotations

import base64
import itertools
import json
import posixpath
import re
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from tests.loopback import LoopbackServer

TOKEN = "ghs_loopbacktoken"  # an Actions token: posts as the bot, may not ask GET /user
PAT = "ghp_loopbackpersonal"  # a personal token: posts as its user
OTHER_APP = "ghs_loopbackotherapp"  # another App's or workflow's token: a different bot, which can copy our markers
BOT = {"login": "github-actions[bot]", "type": "Bot", "id": 41898282}
USERS = {TOKEN: BOT, PAT: {"login": "maintainer", "type": "User", "id": 5}, OTHER_APP: {"login": "other-app[bot]", "type": "Bot", "id": 77}}
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
BODY_LIMIT = 65536
NOT_ACCESSIBLE = {"message": "Resource not accessible by integration"}
LEVELS = {"none": 0, "read": 1, "write": 2}


@dataclass
class Pull:
    number: int
    base_sha: str
    head_sha: str
    title: str = "Add a feature"
    body: str = "The author's description."
    author: dict[str, Any] = field(default_factory=lambda: {"login": "alice", "type": "User", "id": 7})
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    fork: bool = False
    head_repo: str | None = None  # the head branch's repository (owner/name); None: the base repository
    head_ref: str = "feature"  # the head branch
    patchless: set[str] = field(default_factory=set)  # files GitHub sends without a patch (too large)
    updated_at: str = "2026-01-01T00:00:00Z"  # when it last changed: `GET /pulls?sort=updated` orders by it
    state: str = "open"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0  # what the server answered (a fault's answer, or the real one when the answer was lost)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """What the server does to the next `times` requests that match `method` and `path` (a regex, in full)."""

    method: str
    path: str
    status: int | None = 502  # the answer sent instead; None: the real one
    payload: Any = field(default_factory=lambda: {"message": "Server Error"})
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = True  # True: the request is carried out first (its answer is what gets lost); False: refused as is
    drop: bool = False  # close the connection without an answer
    delay: float = 0.0  # seconds before answering
    times: int = 1  # -1: every matching request

    def matches(self, method: str, path: str) -> bool:
        return self.times != 0 and method == self.method and re.fullmatch(self.path, path) is not None


def rate_limited(method: str, path: str, status: int = 403, *, retry_after: str | None = None, reset_in: float | None = None, secondary: bool = True, times: int = 1) -> Fault:
    """GitHub's rate-limit answer, before anything is done: a secondary limit, or (reset_in) the primary one spent."""
    import time

    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if reset_in is not None:
        headers.update({"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time() + reset_in))})
        message = "API rate limit exceeded for installation ID 1."
    else:
        message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." if secondary else "Too many requests"
    return Fault(method, path, status, {"message": message}, headers, after=False, times=times)


class GitHubServer:
    def __init__(self, git_root: Path, repo: str = "acme/app", prefix: str = "") -> None:
        self.git_root = git_root
        self.prefix = prefix  # "/api/v3" as on GitHub Enterprise Server
        self.repo = repo
        self.pulls: dict[int, Pull] = {}
        self.reviews: list[dict[str, Any]] = []
        self.review_comments: list[dict[str, Any]] = []
        self.issue_comments: list[dict[str, Any]] = []
        self.permissions: dict[str, str] = {}
        self.read_only = False
        self.permissions_granted: dict[str, str] | None = None  # a workflow's `permissions:`; None grants everything
        self.can_resolve = True  # whether the token may resolve review threads (GraphQL viewerCanResolve)
        self.unnamed_resolvers: set[str] = set()  # resolvers GraphQL answers `resolvedBy: null` for (a bot need not be a User)
        self.comment_body_limit = BODY_LIMIT  # GitHub counts differently from us: review comments over this are refused
        self.faults: list[Fault] = []
        self.tree_limit = 100_000  # entries of a recursive tree listing before it is truncated (GitHub: 100,000 or 7 MB)
        self.latency = 0.0  # seconds every request waits before it is answered (benchmarks: a real API's round trip)
        self.refuse_lines: set[tuple[str, int]] = set()  # GitHub sees these differently from our parse: 422
        self.requests: list[Recorded] = []
        self.actor: dict[str, Any] = BOT  # who the current request's token is (requests are served one at a time)
        self._ids = itertools.count(1000)
        self._file_cache: dict[tuple[str, str, frozenset[str]], list[dict[str, Any]]] = {}  # git is slow; commits never change
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # ends a fault's delay when the server stops
        self._server = LoopbackServer(("127.0.0.1", 0), _handler(self))
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api(self) -> str:
        """The REST base, as GITHUB_API_URL gives it."""
        return self.url + self.prefix

    def __enter__(self) -> GitHubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    # Test helpers

    def add_pull(self, number: int, base_sha: str, head_sha: str, **meta: Any) -> Pull:
        self.git("update-ref", f"refs/pull/{number}/head", head_sha)  # as GitHub keeps it, for a fetch of the head
        self.pulls[number] = Pull(number, base_sha, head_sha, **meta)
        return self.pulls[number]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    def submitted_reviews(self) -> list[dict[str, Any]]:
        return [r for r in self.reviews if r["state"] != "PENDING"]

    def visible_comments(self) -> list[dict[str, Any]]:
        """Review comments others can see (not in a pending review)."""
        pending = {r["id"] for r in self.reviews if r["state"] == "PENDING"}
        return [c for c in self.review_comments if c.get("pull_request_review_id") not in pending]

    def human_reply(self, comment_id: int, body: str, *, resolve: bool = False, login: str = "bob", association: str = "MEMBER") -> dict[str, Any]:
        parent = next(c for c in self.review_comments if c["id"] == comment_id)
        if resolve:
            self.resolve(comment_id, login)
        reply = {
            **parent, "id": next(self._ids), "body": body, "user": {"login": login, "type": "User", "id": 9},
            "in_reply_to_id": comment_id, "author_association": association,
        }
        reply["url"] = parent["url"].rsplit("/", 1)[0] + f"/{reply['id']}"
        reply["html_url"] = parent["html_url"].rsplit("#", 1)[0] + f"#discussion_r{reply['id']}"
        reply.update(resolved=False, reactions=_reactions(reply["url"]))
        self.review_comments.append(reply)
        return reply

    def human_comment(self, number: int, body: str, login: str = "alice") -> dict[str, Any]:
        """A person's comment in a pull request's conversation."""
        comment = {"id": next(self._ids), "body": body, "user": {"login": login, "type": "User", "id": 11}, "issue_number": number}
        comment["url"] = f"{self.api}/repos/{self.repo}/issues/comments/{comment['id']}"
        comment["html_url"] = f"https://github.example/{self.repo}/pull/{number}#issuecomment-{comment['id']}"
        self.issue_comments.append(comment)
        return comment

    def react(self, comment_id: int, content: str) -> None:
        """A person's reaction (`+1`, `-1`, ...) to a review comment, as its `reactions` rollup counts it."""
        comment = next(c for c in self.review_comments if c["id"] == comment_id)
        comment["reactions"][content] = comment["reactions"].get(content, 0) + 1
        comment["reactions"]["total_count"] += 1

    def resolve(self, comment_id: int, by: str) -> None:
        """Resolve the thread that comment starts, as `by` (a GraphQL login: a bot's has no `[bot]`)."""
        root = next(c for c in self.review_comments if c["id"] == comment_id)
        root["resolved"], root["resolved_by"] = True, by

    def threads(self, number: int) -> list[dict[str, Any]]:
        """The review threads of a pull request: each first comment, and what GitHub would say of it."""
        return [c for c in self.visible_comments() if c["pull"] == number and c.get("in_reply_to_id") is None]

    def outdated(self, pull: Pull, comment: dict[str, Any]) -> bool:
        """As GitHub marks a thread outdated: a later commit changed the lines it is on (the old side's lines never change)."""
        if comment["commit_id"] == pull.head_sha or comment.get("side") == "LEFT":
            return False
        diff = self.git("diff", "--no-color", comment["commit_id"], pull.head_sha, "--", comment["path"]).stdout
        if comment.get("subject_type") == "file" or "+++ /dev/null" in diff:
            return bool(diff)
        first = comment.get("start_line") or comment["line"]
        return bool(_removed_lines(diff) & set(range(first, comment["line"] + 1)))

    # GitHub's view of a pull request, from git

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=self.git_root, capture_output=True, text=True)

    def files(self, pull: Pull) -> list[dict[str, Any]]:
        return self._files(pull.base_sha, pull.head_sha, pull.patchless)

    def _files(self, base: str, head: str, patchless: set[str]) -> list[dict[str, Any]]:
        key = (base, head, frozenset(patchless))
        if key not in self._file_cache:
            self._file_cache[key] = self._files_from_git(base, head, patchless)
        return self._file_cache[key]

    def _files_from_git(self, base: str, head: str, patchless: set[str]) -> list[dict[str, Any]]:
        spec = f"{base}...{head}"  # as GitHub compares: from the merge base
        statuses = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied", "T": "changed"}
        out: list[dict[str, Any]] = []
        for parts in _name_status(self.git("diff", "--name-status", "-z", "-M", spec).stdout):  # -z: names as they are, newlines too
            code = parts[0][0]
            entry: dict[str, Any] = {"sha": "0" * 40, "filename": parts[-1], "status": statuses[code]}
            if code in "RC":
                entry["previous_filename"] = parts[1]
            diff = self.git("diff", "-M", "--no-color", spec, "--", *parts[1:]).stdout
            patch = diff[diff.index("\n@@") + 1 :] if "\n@@" in diff else ""
            adds = sum(1 for line in patch.splitlines() if line.startswith("+"))
            dels = sum(1 for line in patch.splitlines() if line.startswith("-"))
            entry.update(additions=adds, deletions=dels, changes=adds + dels)
            if patch and entry["filename"] not in patchless and "Binary files" not in diff:
                entry["patch"] = patch.rstrip("\n")
            out.append(entry)
        return out

    def check_comment(self, pull: Pull, comment: dict[str, Any]) -> str | None:
        """GitHub's rules for one review comment; the error message it would give, or None."""
        entry = next((f for f in self.files(pull) if f["filename"] == comment.get("path")), None)
        if entry is None:
            return "Pull request review thread path is invalid"
        if comment.get("subject_type") == "file":
            return None
        if "patch" not in entry:
            return "Line could not be resolved"
        side = comment.get("side", "RIGHT")
        line = comment.get("line")
        hunks = _hunk_lines(entry["patch"])
        index = next((i for i, h in enumerate(hunks) if line in h[side]), None)
        if index is None or (comment["path"], line) in self.refuse_lines:
            return "Pull request review thread line must be part of the diff"
        start = comment.get("start_line")
        if start is not None:
            start_side = comment.get("start_side", side)
            if start >= line:
                return "pull_request_review_thread.start_line must precede the end line."
            if start not in hunks[index][start_side]:
                return "Pull request review thread start line must be part of the same hunk as the line."
        return None


def _name_status(output: str) -> list[list[str]]:
    """`git diff --name-status -z` rows: a status, then one path (two for a rename or copy), NUL-separated."""
    fields = output.split("\0")
    rows: list[list[str]] = []
    while len(fields) > 1:
        count = 3 if fields[0][:1] in ("R", "C") else 2
        rows.append(fields[:count])
        fields = fields[count:]
    return rows


def _hunk_lines(patch: str) -> list[dict[str, set[int]]]:
    """Per hunk, the line numbers a comment may sit on: RIGHT (added, context), LEFT (removed, context)."""
    hunks: list[dict[str, set[int]]] = []
    old = new = 0
    for line in patch.splitlines():
        match = _HUNK.match(line)
        if match:
            old, new = int(match[1]), int(match[3])
            hunks.append({"RIGHT": set(), "LEFT": set()})
        elif not hunks or line.startswith("\\"):
            continue
        elif line.startswith("+"):
            hunks[-1]["RIGHT"].add(new)
            new += 1
        elif line.startswith("-"):
            hunks[-1]["LEFT"].add(old)
            old += 1
        else:
            hunks[-1]["RIGHT"].add(new)
            hunks[-1]["LEFT"].add(old)
            old += 1
            new += 1
    return hunks


def _removed_lines(diff: str) -> set[int]:
    """The old side's line numbers a diff removes (a changed line is removed and added)."""
    removed: set[int] = set()
    old = 0
    for line in diff.splitlines():
        match = _HUNK.match(line)
        if match:
            old = int(match[1])
        elif line.startswith("-") and not line.startswith("---"):
            removed.add(old)
            old += 1
        elif not line.startswith(("+", "\\")):
            old += 1
    return removed


class _Reply(Exception):
    def __init__(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.status, self.payload, self.headers = status, payload, headers or {}


def _handler(gh: GitHubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle and delayed ACKs add 40 ms to each request.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def _handle(self, method: str) -> None:
            gh._stopping.wait(gh.latency)
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            graphql = parsed.path == _graphql_path(gh.prefix)
            if not graphql and not parsed.path.startswith(gh.prefix + "/"):
                self._send(404, {"message": "Not Found"}, {})
                return
            path = "/graphql" if graphql else parsed.path[len(gh.prefix) :]
            query = parse_qs(parsed.query)
            with gh._lock:
                recorded = Recorded(method, path, query, body, headers={k.lower(): v for k, v in self.headers.items()})
                gh.requests.append(recorded)
                fault = next((f for f in gh.faults if f.matches(method, path)), None)
                if fault is not None:
                    fault.times -= 1
                try:
                    actor = USERS.get(self.headers.get("Authorization", "").split(" ")[-1])
                    if actor is None:
                        raise _Reply(401, {"message": "Bad credentials"})
                    gh.actor = actor
                    if fault is not None and not fault.after:
                        raise _Reply(fault.status or 500, fault.payload, fault.headers)
                    if graphql:
                        status, payload, headers = _graphql(gh, body or {})
                    else:
                        _check_permission(gh, method, path)
                        if method != "GET" and gh.read_only:
                            raise _Reply(403, NOT_ACCESSIBLE)
                        status, payload, headers = self._route(method, path, query, body or {})
                except _Reply as reply:
                    status, payload, headers = reply.status, reply.payload, reply.headers
                recorded.status = status
            if fault is not None and fault.after:
                gh._stopping.wait(fault.delay)
                if fault.drop:
                    self.close_connection = True
                    return
                if fault.status is not None:
                    status, payload, headers = fault.status, fault.payload, fault.headers
            self._send(status, payload, headers)

        def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            data = b"" if status == 204 else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
            base = f"/repos/{gh.repo}"
            if path == "/user":
                if gh.actor["type"] == "Bot":
                    raise _Reply(403, {"message": "Resource not accessible by integration"})  # as for GITHUB_TOKEN
                return 200, gh.actor, {}
            if path == base:
                return 200, _repo_json(gh), {}
            if not path.startswith(base + "/"):
                raise _Reply(404, {"message": "Not Found"})
            rest = path[len(base) + 1 :]
            if m := re.fullmatch(r"commits/([0-9a-f]+)", rest):
                if gh.git("cat-file", "-e", f"{m[1]}^{{commit}}").returncode:
                    raise _Reply(422, {"message": f"No commit found for SHA: {m[1]}"})
                return 200, {"sha": m[1], "url": f"{gh.api}{base}/commits/{m[1]}"}, {}
            if (m := re.fullmatch(r"contents/(.+)", rest)) and method == "PUT":
                return _put_contents(gh, unquote(m[1]), body)
            if m := re.fullmatch(r"contents/(.+)", rest):
                return 200, _contents(gh, unquote(m[1]), query.get("ref", ["HEAD"])[0]), {}
            if m := re.fullmatch(r"git/trees/([^/]+)", rest):
                return 200, _tree(gh, unquote(m[1]), "recursive" in query), {}
            if m := re.fullmatch(r"git/blobs/([0-9a-f]{40})", rest):
                return 200, _blob(gh, m[1]), {}
            if m := re.fullmatch(r"branches/(.+)", rest):
                sha = _branch_sha(gh, unquote(m[1]))
                return 200, {"name": unquote(m[1]), "commit": {"sha": sha, "url": f"{gh.api}{base}/commits/{sha}"}, "protected": False}, {}
            if m := re.fullmatch(r"git/refs?/heads/(.+)", rest):
                branch = unquote(m[1])
                if method == "PATCH":
                    gh.git("update-ref", f"refs/heads/{branch}", body["sha"])
                return 200, _ref_json(gh, branch, _branch_sha(gh, branch)), {}
            if rest == "git/refs" and method == "POST":
                branch = str(body["ref"]).removeprefix("refs/heads/")
                if gh.git("rev-parse", "--verify", "-q", f"refs/heads/{branch}").returncode == 0:
                    raise _Reply(422, {"message": "Reference already exists"})
                gh.git("update-ref", f"refs/heads/{branch}", body["sha"])
                return 201, _ref_json(gh, branch, body["sha"]), {}
            if m := re.fullmatch(r"compare/([0-9a-f]+)\.\.\.([0-9a-f]+)", rest):
                return 200, _compare(gh, m[1], m[2]), {}
            if m := re.fullmatch(r"collaborators/([^/]+)/permission", rest):
                return 200, {"permission": gh.permissions.get(m[1], "none"), "user": {"login": m[1]}}, {}
            if m := re.fullmatch(r"issues/comments/(\d+)", rest):
                comment = next((c for c in gh.issue_comments if c["id"] == int(m[1])), None)
                if comment is None:
                    raise _Reply(404, {"message": "Not Found"})
                if method == "PATCH":
                    comment["body"] = _body(body)
                return 200, comment, {}
            if m := re.fullmatch(r"issues/(\d+)/comments", rest):
                pull = _pull(gh, int(m[1]))
                if method == "POST":
                    comment = {"id": next(gh._ids), "body": _body(body), "user": gh.actor}
                    comment["url"] = f"{gh.api}{base}/issues/comments/{comment['id']}"
                    comment["html_url"] = f"https://github.example/{gh.repo}/pull/{pull.number}#issuecomment-{comment['id']}"
                    comment["issue_number"] = pull.number
                    gh.issue_comments.append(comment)
                    return 201, comment, {}
                return _page(self, [c for c in gh.issue_comments if c["issue_number"] == pull.number], query)
            if rest == "pulls" and method == "GET":
                return _page(self, _pulls(gh, query), query)
            if rest == "pulls" and method == "POST":
                number = max(gh.pulls, default=0) + 1
                pull = gh.add_pull(number, _branch_sha(gh, body["base"]), _branch_sha(gh, body["head"]), title=body["title"], body=body.get("body") or "")
                pull.head_ref, pull.author = body["head"], gh.actor
                return 201, _pull_json(gh, pull), {}
            if m := re.fullmatch(r"pulls/(\d+)", rest):
                pull = _pull(gh, int(m[1]))
                if method == "PATCH":
                    pull.body = _body(body) if "body" in body else pull.body
                return 200, _pull_json(gh, pull), {}
            if m := re.fullmatch(r"pulls/(\d+)/files", rest):
                return _page(self, gh.files(_pull(gh, int(m[1]))), query)
            if m := re.fullmatch(r"pulls/(\d+)/reviews", rest):
                pull = _pull(gh, int(m[1]))
                if method == "POST":
                    return 200, _create_review(gh, pull, body), {}
                return _page(self, [r for r in gh.reviews if r["pull"] == pull.number], query)
            if m := re.fullmatch(r"pulls/(\d+)/reviews/(\d+)", rest):
                review = next((r for r in gh.reviews if r["id"] == int(m[2])), None)
                if review is None:
                    raise _Reply(404, {"message": "Not Found"})
                if method == "DELETE":
                    if review["state"] != "PENDING":
                        raise _Reply(422, {"message": "Can not delete a non-pending pull request review"})
                    gh.reviews.remove(review)
                    gh.review_comments[:] = [c for c in gh.review_comments if c.get("pull_request_review_id") != review["id"]]
                return 200, review, {}
            if m := re.fullmatch(r"pulls/(\d+)/comments/(\d+)/replies", rest):
                pull = _pull(gh, int(m[1]))
                parent = next((c for c in gh.review_comments if c["id"] == int(m[2]) and c["pull"] == pull.number), None)
                if parent is None:
                    raise _Reply(404, {"message": "Not Found"})
                fields = {k: parent[k] for k in ("path", "line", "side", "start_line", "start_side", "subject_type")}
                reply = _store_comment(gh, pull, {**fields, "body": _body(body), "in_reply_to": parent["id"]}, None, parent["commit_id"])
                return 201, reply, {}
            if m := re.fullmatch(r"pulls/(\d+)/comments", rest):
                pull = _pull(gh, int(m[1]))
                if method == "POST":
                    return 201, _create_comment(gh, pull, body), {}
                return _page(self, [c for c in gh.visible_comments() if c["pull"] == pull.number], query)
            raise _Reply(404, {"message": f"Not Found: {method} {path}"})

    return Handler


def _branch_sha(gh: GitHubServer, branch: str) -> str:
    found = gh.git("rev-parse", "--verify", "-q", f"refs/heads/{branch}")
    if found.returncode:
        raise _Reply(404, {"message": "Branch not found"})
    return found.stdout.strip()


def _ref_json(gh: GitHubServer, branch: str, sha: str) -> dict[str, Any]:
    url = f"{gh.api}/repos/{gh.repo}/git/refs/heads/{branch}"
    return {"ref": f"refs/heads/{branch}", "url": url, "object": {"sha": sha, "type": "commit", "url": f"{gh.api}/repos/{gh.repo}/git/commits/{sha}"}}


def _put_contents(gh: GitHubServer, path: str, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    """`PUT /contents/{path}`: one commit on `branch` that writes the file; `sha` must name the blob it replaces."""
    import os
    import tempfile

    branch = body.get("branch") or "main"
    parent = _branch_sha(gh, branch)
    existing = gh.git("rev-parse", "-q", "--verify", f"{parent}:{path}").stdout.strip()
    if existing and body.get("sha") != existing:
        raise _Reply(409 if body.get("sha") else 422, {"message": f"{path} does not match {body.get('sha')}" if body.get("sha") else "\"sha\" wasn't supplied."})
    content = base64.b64decode(body["content"])
    with tempfile.TemporaryDirectory() as holder:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(holder) / "index")}

        def git(*args: str, data: bytes | None = None) -> str:
            return subprocess.run(["git", *args], cwd=gh.git_root, env=env, input=data, capture_output=True, check=True).stdout.decode().strip()

        git("read-tree", parent)
        blob = git("hash-object", "-w", "--stdin", data=content)
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
        commit = git("commit-tree", git("write-tree"), "-p", parent, "-m", str(body["message"]))
        git("update-ref", f"refs/heads/{branch}", commit)
    return (200 if existing else 201), {"content": {"path": path, "sha": blob, "name": path.rsplit("/", 1)[-1]}, "commit": {"sha": commit}}, {}


def _pulls(gh: GitHubServer, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """`GET /pulls`: filtered by state (open by default), head (`owner:branch`) and base; sorted as asked."""
    state = query.get("state", ["open"])[0]
    owner = gh.repo.split("/")[0]
    found = [
        p for p in gh.pulls.values()
        if state in ("all", p.state)
        and query.get("head", [f"{owner}:{p.head_ref}"])[0] == f"{owner}:{p.head_ref}"
        and query.get("base", ["main"])[0] == "main"
    ]
    if query.get("sort", ["created"])[0] == "updated":
        found.sort(key=lambda p: p.updated_at, reverse=query.get("direction", ["desc"])[0] == "desc")
    else:
        found.sort(key=lambda p: p.number, reverse=query.get("direction", ["desc"])[0] == "desc")
    return [_pull_json(gh, p) for p in found]


def _pull(gh: GitHubServer, number: int) -> Pull:
    if number not in gh.pulls:
        raise _Reply(404, {"message": "Not Found"})
    return gh.pulls[number]


def _repo_json(gh: GitHubServer) -> dict[str, Any]:
    owner, name = gh.repo.split("/")
    return {
        "id": 1,
        "name": name,
        "full_name": gh.repo,
        "owner": {"login": owner, "type": "Organization"},
        "url": f"{gh.api}/repos/{gh.repo}",
        "html_url": f"https://github.example/{gh.repo}",
        "clone_url": str(gh.git_root),  # git fetches from a path as from a URL
        "fork": False,
        "default_branch": "main",
    }


def _pull_json(gh: GitHubServer, pull: Pull) -> dict[str, Any]:
    files = gh.files(pull)
    head_repo = {**_repo_json(gh), "fork": pull.fork, "full_name": pull.head_repo or gh.repo}
    return {
        "id": pull.number + 500,
        "number": pull.number,
        "state": pull.state,
        "updated_at": pull.updated_at,
        "title": pull.title,
        "body": pull.body,
        "draft": pull.draft,
        "user": pull.author,
        "labels": [{"name": n} for n in pull.labels],
        "head": {"sha": pull.head_sha, "ref": pull.head_ref, "repo": head_repo},
        "base": {"sha": pull.base_sha, "ref": "main", "repo": _repo_json(gh)},
        "url": f"{gh.api}/repos/{gh.repo}/pulls/{pull.number}",
        "issue_url": f"{gh.api}/repos/{gh.repo}/issues/{pull.number}",
        "html_url": f"https://github.example/{gh.repo}/pull/{pull.number}",
        "changed_files": len(files),
        "additions": sum(f["additions"] for f in files),
        "deletions": sum(f["deletions"] for f in files),
    }


def _contents(gh: GitHubServer, path: str, ref: str) -> Any:
    """GET /contents/{path}?ref=: a file (base64), a folder's entries, a submodule, or a symbolic link that leads to no regular file inside."""
    listed = gh.git("ls-tree", "-z", ref, "--", path.rstrip("/")).stdout.strip("\0")
    if not listed:
        raise _Reply(404, {"message": "Not Found"})
    mode, kind, sha = listed.split("\t", 1)[0].split()
    url = f"{gh.api}/repos/{gh.repo}/contents/{path}?ref={ref}"
    if kind == "tree":
        entries = gh.git("ls-tree", "-z", ref, "--", path.rstrip("/") + "/").stdout.strip("\0").split("\0")
        out = []
        for entry in entries:
            info, name = entry.split("\t", 1)
            entry_mode, entry_kind, entry_sha = info.split()
            kind_name = "dir" if entry_kind == "tree" else "symlink" if entry_mode == "120000" else "file"
            out.append({"type": kind_name, "name": name.rsplit("/", 1)[-1], "path": name, "sha": entry_sha, "size": 0, "url": url})
        return out
    if kind == "commit":
        return {"type": "submodule", "submodule_git_url": "https://github.example/acme/lib.git", "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "size": 0, "url": url}
    content = subprocess.run(["git", "cat-file", "blob", sha], cwd=gh.git_root, capture_output=True).stdout
    if mode == "120000":
        # As GitHub: a link to a regular file inside the repository is answered with that file; any other, as the link itself.
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), content.decode()))
        inside = target != ".." and not target.startswith("../") and not content.startswith(b"/")
        found = gh.git("ls-tree", "-z", ref, "--", target).stdout.split() if inside else []
        if found[:2] in (["100644", "blob"], ["100755", "blob"]):
            return _contents(gh, target, ref)
        return {"type": "symlink", "target": content.decode(), "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "size": len(content), "url": url}
    return {
        "type": "file", "encoding": "base64", "content": base64.b64encode(content).decode(), "size": len(content),
        "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "url": url,
    }


def _tree(gh: GitHubServer, name: str, recursive: bool) -> dict[str, Any]:
    """GET /git/trees/{sha}: a tree's entries, named by its SHA, a commit's or a branch's; every level with
    `recursive` (any value turns it on, as on GitHub), cut at `tree_limit` entries with `truncated` set."""
    if not re.fullmatch(r"[0-9a-f]{40}", name) and gh.git("rev-parse", "--verify", "-q", f"refs/heads/{name}").returncode:
        raise _Reply(404, {"message": "Not Found"})
    found = gh.git("rev-parse", "--verify", "-q", f"{name}^{{tree}}")
    if found.returncode:
        raise _Reply(404, {"message": "Not Found"})
    sha = found.stdout.strip()
    listed = gh.git("ls-tree", "-z", "-l", *(("-r", "-t") if recursive else ()), sha).stdout.strip("\0")
    entries = []
    for line in listed.split("\0") if listed else []:
        info, path = line.split("\t", 1)
        mode, kind, entry_sha, size = info.split()
        entry: dict[str, Any] = {"path": path, "mode": mode, "type": kind, "sha": entry_sha, "url": f"{gh.api}/repos/{gh.repo}/git/{kind}s/{entry_sha}"}
        if kind == "blob":
            entry["size"] = int(size)
        entries.append(entry)
    return {"sha": sha, "url": f"{gh.api}/repos/{gh.repo}/git/trees/{sha}", "tree": entries[: gh.tree_limit], "truncated": len(entries) > gh.tree_limit}


def _blob(gh: GitHubServer, sha: str) -> dict[str, Any]:
    """GET /git/blobs/{sha}: a blob's content in base64, broken into lines as GitHub sends it."""
    if gh.git("cat-file", "-t", sha).stdout.strip() != "blob":
        raise _Reply(404, {"message": "Not Found"})
    content = subprocess.run(["git", "cat-file", "blob", sha], cwd=gh.git_root, capture_output=True).stdout
    url = f"{gh.api}/repos/{gh.repo}/git/blobs/{sha}"
    return {"sha": sha, "size": len(content), "url": url, "content": base64.encodebytes(content).decode(), "encoding": "base64"}


def _compare(gh: GitHubServer, base: str, head: str) -> dict[str, Any]:
    for sha in (base, head):
        if gh.git("cat-file", "-e", f"{sha}^{{commit}}").returncode:
            raise _Reply(404, {"message": "Not Found"})
    if base == head:
        status = "identical"
    elif gh.git("merge-base", "--is-ancestor", base, head).returncode == 0:
        status = "ahead"
    else:
        status = "diverged"
    return {
        "url": f"{gh.api}/repos/{gh.repo}/compare/{base}...{head}",
        "status": status,
        "ahead_by": 1,
        "behind_by": 0 if status != "diverged" else 1,
        "total_commits": 1,
        "commits": [],
        "files": gh._files(base, head, set()),
    }


def _create_review(gh: GitHubServer, pull: Pull, body: dict[str, Any]) -> dict[str, Any]:
    event = body.get("event")
    if event not in (None, "COMMENT", "APPROVE", "REQUEST_CHANGES"):
        raise _Reply(422, {"message": "Unprocessable Entity", "errors": [f"invalid event {event}"]})
    if event in ("COMMENT", "REQUEST_CHANGES") and not body.get("body"):
        raise _Reply(422, {"message": "Unprocessable Entity", "errors": ["Body is required for COMMENT"]})
    _body(body, required=False)
    if any(r["state"] == "PENDING" and r["pull"] == pull.number for r in gh.reviews):
        raise _Reply(422, {"message": "Unprocessable Entity", "errors": ["User can only have one pending review per pull request"]})
    commit = body.get("commit_id", pull.head_sha)
    if gh.git("cat-file", "-e", f"{commit}^{{commit}}").returncode:
        raise _Reply(422, {"message": "Unprocessable Entity", "errors": ["commit_id is not part of the pull request"]})
    comments = body.get("comments") or []
    for comment in comments:
        _body(comment, limit=gh.comment_body_limit)
        problem = gh.check_comment(pull, comment)
        if problem:  # one bad comment fails the whole review, and GitHub does not say which
            raise _Reply(422, {"message": "Unprocessable Entity", "errors": [problem]})
    review = {
        "id": next(gh._ids),
        "pull": pull.number,
        "user": gh.actor,
        "body": body.get("body", ""),
        "state": "PENDING" if event is None else {"COMMENT": "COMMENTED"}.get(event, event),
        "commit_id": commit,
        "html_url": f"https://github.example/{gh.repo}/pull/{pull.number}#pullrequestreview-{len(gh.reviews) + 1}",
        "pull_request_url": f"{gh.api}/repos/{gh.repo}/pulls/{pull.number}",
    }
    review["url"] = f"{gh.api}/repos/{gh.repo}/pulls/{pull.number}/reviews/{review['id']}"
    gh.reviews.append(review)
    for comment in comments:
        _store_comment(gh, pull, comment, review["id"], commit)
    return review


def _create_comment(gh: GitHubServer, pull: Pull, body: dict[str, Any]) -> dict[str, Any]:
    _body(body, limit=gh.comment_body_limit)
    problem = gh.check_comment(pull, body)
    if problem:
        raise _Reply(422, {"message": "Unprocessable Entity", "errors": [problem]})
    return _store_comment(gh, pull, body, None, body.get("commit_id", pull.head_sha))


def _store_comment(gh: GitHubServer, pull: Pull, comment: dict[str, Any], review_id: int | None, commit: str) -> dict[str, Any]:
    stored = {
        "id": next(gh._ids),
        "pull": pull.number,
        "pull_request_review_id": review_id,
        "path": comment["path"],
        "line": comment.get("line"),
        "side": comment.get("side", "RIGHT") if comment.get("subject_type") != "file" else None,
        "start_line": comment.get("start_line"),
        "start_side": comment.get("start_side"),
        "subject_type": comment.get("subject_type", "line"),
        "body": comment["body"],
        "commit_id": commit,
        "user": gh.actor,
        "in_reply_to_id": comment.get("in_reply_to"),
        "resolved": False,
        "resolved_by": None,
    }
    stored["url"] = f"{gh.api}/repos/{gh.repo}/pulls/comments/{stored['id']}"
    stored["html_url"] = f"https://github.example/{gh.repo}/pull/{pull.number}#discussion_r{stored['id']}"
    stored["reactions"] = _reactions(stored["url"])
    gh.review_comments.append(stored)
    return stored


def _reactions(gh_url: str) -> dict[str, Any]:
    """The `reactions` rollup GitHub puts on every review comment it lists."""
    counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0)
    return {"url": f"{gh_url}/reactions", "total_count": 0, **counts}


def _body(body: dict[str, Any], *, limit: int = BODY_LIMIT, required: bool = True) -> str:
    """A request's `body` field, refused as GitHub refuses one over its size limit."""
    text = body.get("body") if required else body.get("body", "")
    if not isinstance(text, str):
        raise _Reply(422, {"message": "Invalid request.", "errors": ["body is missing"]})
    if len(text) > limit:
        raise _Reply(422, {"message": "Validation Failed", "errors": [{"resource": "IssueComment", "code": "custom", "field": "body", "message": f"Body is too long (maximum is {limit} characters)"}]})
    return text


def _needs(method: str, path: str) -> tuple[str, str]:
    """The permission a request needs, as GitHub's fine-grained permissions for GITHUB_TOKEN say."""
    level = "read" if method == "GET" else "write"
    if re.search(r"/(contents|commits|compare|git|branches)(/|$)", path):
        return "contents", level
    if re.search(r"/(pulls|issues)(/|$)", path):
        return "pull-requests", level  # comments on a pull request: `pull-requests` (or `issues`) covers them
    return "metadata", "read"


def _check_permission(gh: GitHubServer, method: str, path: str, need: tuple[str, str] | None = None) -> None:
    scope, level = need or _needs(method, path)
    granted = gh.permissions_granted
    if granted is None or scope == "metadata":
        return
    have = max(LEVELS[granted.get(scope, "none")], LEVELS[granted.get("issues", "none")] if scope == "pull-requests" and "/issues/" in path else 0)
    if have < LEVELS[level]:
        raise _Reply(403, NOT_ACCESSIBLE)


def _graphql_path(prefix: str) -> str:
    """Where PyGithub sends GraphQL: `/api/graphql` next to Enterprise Server's `/api/v3`, else `/graphql`."""
    return (prefix[: -len("/v3")] if prefix.endswith("/v3") else prefix) + "/graphql"


def _graphql(gh: GitHubServer, request: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    """The two operations reviewer sends; anything else is an error, as an unknown field would be."""
    text, variables = request.get("query", ""), request.get("variables") or {}
    if "resolveReviewThread" in text:
        thread_id = ((variables.get("input") or {}).get("threadId")) or ""
        root = next((c for c in gh.review_comments if f"PRRT_{c['id']}" == thread_id), None)
        if root is None:
            return 200, {"data": {"resolveReviewThread": None}, "errors": [{"type": "NOT_FOUND", "message": f"Could not resolve to a node with the global id of '{thread_id}'"}]}, {}
        try:
            _check_permission(gh, "POST", "/pulls", ("pull-requests", "write"))
            if gh.read_only or not gh.can_resolve:
                raise _Reply(403, NOT_ACCESSIBLE)
        except _Reply:
            return 200, {"data": {"resolveReviewThread": None}, "errors": [{"type": "FORBIDDEN", "message": NOT_ACCESSIBLE["message"]}]}, {}
        gh.resolve(root["id"], _graphql_login(gh.actor))
        return 200, {"data": {"resolveReviewThread": {"thread": {"id": thread_id, "isResolved": True}}}}, {}
    if "reviewThreads" in text:
        _check_permission(gh, "GET", "/pulls", ("pull-requests", "read"))
        if f"{variables.get('owner')}/{variables.get('name')}" != gh.repo:
            return 200, {"data": {"repository": None}, "errors": [{"type": "NOT_FOUND", "message": "Could not resolve to a Repository"}]}, {}
        pull = _pull(gh, int(variables["number"]))
        start = int(variables.get("after") or 0)
        roots = gh.threads(pull.number)
        nodes = []
        for root in roots[start : start + 100]:
            replies = [c for c in gh.visible_comments() if c.get("in_reply_to_id") == root["id"]]
            nodes.append({
                "id": f"PRRT_{root['id']}",
                "isResolved": root["resolved"],
                "isOutdated": gh.outdated(pull, root),
                "viewerCanResolve": gh.can_resolve and not gh.read_only,
                "resolvedBy": {"login": root["resolved_by"]} if root["resolved"] and root["resolved_by"] not in gh.unnamed_resolvers else None,
                "comments": {"nodes": [{"databaseId": c["id"], "author": {"login": _graphql_login(c["user"])}, "body": c["body"]} for c in [root, *replies]]},
            })
        more = start + 100 < len(roots)
        page = {"pageInfo": {"hasNextPage": more, "endCursor": str(start + 100) if more else None}, "nodes": nodes}
        return 200, {"data": {"repository": {"pullRequest": {"reviewThreads": page}}}}, {}
    return 200, {"errors": [{"message": "this loopback GitHub serves only reviewThreads and resolveReviewThread"}]}, {}


def _graphql_login(user: dict[str, Any]) -> str:
    return str(user["login"]).removesuffix("[bot]")


def _page(handler: BaseHTTPRequestHandler, items: list[Any], query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
    per_page = min(int(query.get("per_page", ["30"])[0]), 100)
    page = int(query.get("page", ["1"])[0])
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    url = urlparse(handler.path)
    links = []

    def link(number: int, rel: str) -> str:
        params = {k: v[0] for k, v in query.items()}
        params.update(per_page=str(per_page), page=str(number))
        host, port = handler.server.server_address[:2]
        encoded = "&".join(f"{k}={v}" for k, v in params.items())
        return f'<http://{host}:{port}{url.path}?{encoded}>; rel="{rel}"'

    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    return 200, chunk, ({"Link": ", ".join(links)} if links else {})
