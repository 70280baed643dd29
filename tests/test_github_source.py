"""The PR's diff from GitHub's per-file patches, filled in from the checkout where GitHub sent none."""

from __future__ import annotations

from reviewer.diff import FileStatus
from reviewer.github.patches import FilePatch, build_diff
from tests.conftest import GitRepo


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
