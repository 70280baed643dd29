"""The PR's diff from GitHub's per-file patches, filled in from the checkout where GitHub sent none."""

from __future__ import annotations

import gc

from reviewer.config import GitHubSettings
from reviewer.diff import FileStatus, parse_diff
from reviewer.github.api import PullRef, connect
from reviewer.github.patches import FilePatch, build_diff
from reviewer.github.pull import GitHubPull
from tests.conftest import GitRepo
from tests.github_server import TOKEN, GitHubServer


def test_statuses_parse_as_gits_would_and_missing_patches_are_explained(repo: GitRepo) -> None:
    repo.write("logo.png", b"\x89PNG\x00\x01")
    base = repo.commit("base")
    repo.write("logo.png", b"\x89PNG\x00\x02")
    head = repo.commit("head")
    files = [
        FilePatch("new.py", None, "added", "@@ -0,0 +1,2 @@\n+a = 1\n+b = 2", 2),
        FilePatch("gone.py", None, "removed", "@@ -1 +0,0 @@\n-x = 1", 1),
        FilePatch("moved.py", "old.py", "renamed", None, 0),  # a pure rename: no patch needed
        FilePatch("big.py", "old_big.py", "renamed", None, 9000),  # renamed and too large to show
        FilePatch("logo.png", None, "modified", None, 0),
    ]
    without = build_diff(files, base, head, None, [])
    assert {(f.path, f.status) for f in without.diff.files} == {
        ("new.py", FileStatus.ADDED), ("gone.py", FileStatus.DELETED), ("moved.py", FileStatus.RENAMED)
    }
    assert without.diff.file("new.py").commentable("RIGHT") == frozenset({1, 2})  # type: ignore[union-attr]
    reasons = {s.path: s.reason for s in without.skipped}
    assert reasons["big.py"].startswith("GitHub sent no patch") and reasons["logo.png"].startswith("GitHub sent no patch")

    with_checkout = build_diff(files, base, head, repo.root, [])
    assert {s.path: s.reason for s in with_checkout.skipped}["logo.png"] == "binary file"


def _pull_of_every_kind(repo: GitRepo, gh: GitHubServer) -> GitHubPull:
    """A PR with each status GitHub lists, names git quotes, four-byte characters, CRLF and no final newline."""
    repo.write("old.py", "".join(f"v{i} = {i}\n" for i in range(12)))
    repo.write("moved.py", "m = 1\n")
    repo.write("gone.py", "g = 1\n")
    repo.write("crlf.txt", "one\r\ntwo\r\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.git("mv", "old.py", "renamed.py")
    repo.write("renamed.py", "".join(f"v{i} = {i}\n" for i in range(11)) + "v11 = 'changed'\n")
    repo.git("mv", "moved.py", "pure.py")
    repo.git("rm", "-q", "gone.py")
    repo.write('we "quote" it.py', "smile = '\U0001f642'\n")
    repo.write("crlf.txt", "one\r\n2\r\n")
    repo.write("tail.txt", "no final newline")
    head = repo.commit("feature")
    gh.add_pull(1, base, head)
    return GitHubPull.open(connect(TOKEN, gh.api, GitHubSettings(seconds_between_writes=0.0)), PullRef(gh.repo, 1))


def test_each_file_parsed_on_its_own_gives_the_diff_of_the_whole_text(repo: GitRepo, gh: GitHubServer) -> None:
    pull = _pull_of_every_kind(repo, gh)
    whole, text = pull.whole(None), pull.text(None)
    assert whole.diff == parse_diff(text.text) and whole.skipped == text.skipped == ()
    assert {(f.path, f.status) for f in whole.diff.files} == {
        ("renamed.py", FileStatus.RENAMED), ("pure.py", FileStatus.RENAMED), ("gone.py", FileStatus.DELETED),
        ('we "quote" it.py', FileStatus.ADDED), ("crlf.txt", FileStatus.MODIFIED), ("tail.txt", FileStatus.ADDED),
    }
    assert whole.diff.file('we "quote" it.py').text_at("RIGHT", 1) == "smile = '\U0001f642'"  # type: ignore[union-attr]


def test_the_pr_diff_keeps_no_copy_of_the_patch_text(repo: GitRepo, gh: GitHubServer) -> None:
    """A large PR's patches run to megabytes: once parsed, only the parsed lines stay (issue 11's peak memory)."""
    pull = _pull_of_every_kind(repo, gh)
    served = {id(f["patch"]) for f in gh.files(gh.pulls[1]) if "patch" in f}  # the loopback's own copy
    diff = pull.whole(None).diff
    gc.collect()
    # Two lines of a patch together exist only in a patch's text (or a text made from it): parsed lines are one each.
    lines = "\n".join(["-v11 = 11", "+v11 = 'changed'"])  # made here, so no constant of this code holds it
    kept = [
        text for holder in gc.get_objects() for text in gc.get_referents(holder)
        if isinstance(text, str) and lines in text and text is not lines and id(text) not in served
    ]
    assert kept == []
    assert diff.file("renamed.py").text_at("RIGHT", 12) == "v11 = 'changed'"  # type: ignore[union-attr]
