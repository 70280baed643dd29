"""Collecting the local change with GitPython from real repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reviewer.diff import parse_diff
from reviewer.errors import DiffError
from reviewer.sources.git import collect, detect_base, open_repo
from tests.conftest import GitRepo


def paths(repo: GitRepo, **kw: object) -> set[str]:
    change = collect(open_repo(repo.root), **kw)  # type: ignore[arg-type]
    return {f.path for f in parse_diff(change.raw).files}


def test_base_prefers_upstream_then_origin_head_then_main(tmp_path: Path) -> None:
    upstream = GitRepo(tmp_path / "upstream")
    upstream.write("a.txt", "a\n")
    upstream.commit()
    upstream.git("branch", "develop")
    subprocess.run(["git", "clone", "-q", str(upstream.root), str(tmp_path / "clone")], check=True)
    clone = GitRepo.__new__(GitRepo)
    clone.root = tmp_path / "clone"
    repo = open_repo(clone.root)
    assert detect_base(repo) == "origin/main"  # the upstream of main
    clone.git("checkout", "-q", "-b", "topic")
    assert detect_base(repo) == "origin/main"  # origin/HEAD
    clone.git("branch", "-q", "--set-upstream-to", "origin/develop")
    assert detect_base(repo) == "origin/develop"


def test_default_range_includes_commits_staged_and_unstaged(repo: GitRepo) -> None:
    for name in ("c.txt", "s.txt", "u.txt", "untouched.txt"):
        repo.write(name, "0\n")
    repo.commit()
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("c.txt", "committed\n")
    repo.commit()
    repo.write("s.txt", "staged\n")
    repo.git("add", "s.txt")
    repo.write("u.txt", "unstaged\n")
    repo.write("untracked.txt", "new\n")
    assert paths(repo) == {"c.txt", "s.txt", "u.txt"}
    assert collect(open_repo(repo.root)).untracked == ("untracked.txt",)
    assert paths(repo, staged=True) == {"s.txt"}
    assert paths(repo, commit_range="main..topic") == {"c.txt"}
    assert paths(repo, base="main") == {"c.txt", "s.txt", "u.txt"}


def test_description_names_the_merge_base(repo: GitRepo) -> None:
    repo.write("a.txt", "a\n")
    base = repo.commit()
    change = collect(open_repo(repo.root))
    assert change.description == f"merge base with main ({base[:9]}) → working tree"
    assert change.head_sha == base


def test_repository_without_commits_reviews_the_index(repo: GitRepo) -> None:
    repo.write("first.py", "x = 1\n")
    repo.git("add", "first.py")
    assert paths(repo) == {"first.py"}


def test_bad_ranges(repo: GitRepo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit()
    repo_obj = open_repo(repo.root)
    with pytest.raises(DiffError, match="is not a range"):
        collect(repo_obj, commit_range="main")
    with pytest.raises(DiffError, match="'nope' is not a commit"):
        collect(repo_obj, commit_range="main..nope")
    with pytest.raises(DiffError, match="choose one of"):
        collect(repo_obj, staged=True, base="main")


def test_shallow_clone_says_how_to_deepen(tmp_path: Path) -> None:
    origin = GitRepo(tmp_path / "origin")
    origin.write("a.txt", "0\n")
    origin.commit()
    origin.git("checkout", "-q", "-b", "topic")
    for n in range(3):
        origin.write("a.txt", f"{n + 1}\n")
        origin.commit()
    origin.git("checkout", "-q", "main")
    origin.write("b.txt", "main moved on\n")
    origin.commit()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{origin.root}", str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", "topic"], cwd=clone, check=True)
    with pytest.raises(DiffError, match="shallow clone.*git fetch --unshallow.*fetch-depth: 0"):
        collect(open_repo(clone), base="origin/main")
