"""Prompt templates: packaged, overridden by the repository block by block, rendered strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer.errors import TemplateError
from reviewer.prompts import Templates, overrides_from, packaged_dir
from reviewer.repo_files import WorkingTree

CONTEXT = {
    "description": "range a..b",
    "guidelines": "Prefer early returns.",
    "diff": "--- a.py (modified)\n     1 + x = 1\n",
    "files": [],
    "chunk_index": 1,
    "chunk_count": 1,
    "all_paths": ["a.py"],
    "skipped": [],
    "severities": ("critical", "major", "minor", "nit"),
    "categories": ("bug", "security"),
    "nonce": "0123456789abcdef",
}


def repository_templates(root: Path) -> Templates:
    return Templates(overrides_from(WorkingTree(root)))


def test_packaged_templates_are_found() -> None:
    names = {t.name for t in Templates().list()}
    assert {"review_system.j2", "review_user.j2", "summarize_system.j2", "summarize_user.j2"} <= names
    assert (packaged_dir() / "review_system.j2").is_file()


def test_review_messages() -> None:
    system, user = Templates().messages("review", CONTEXT)
    assert system.role == "system" and user.role == "user"
    assert "Prefer early returns." in system.content
    assert '"findings"' in system.content and "critical|major|minor|nit" in system.content
    assert "x = 1" in user.content and "x = 1" not in system.content  # the diff comes last, for the cache


def test_repository_override_replaces_a_template(tmp_path: Path) -> None:
    override = tmp_path / ".reviewer" / "prompts"
    override.mkdir(parents=True)
    (override / "review_user.j2").write_text("Only this: {{ diff }}")
    templates = repository_templates(tmp_path)
    assert {t.name: t.origin for t in templates.list()}["review_user.j2"] == "repository"
    assert templates.messages("review", CONTEXT)[1].content.startswith("Only this: --- a.py")


def test_override_extends_the_packaged_template_block_by_block(tmp_path: Path) -> None:
    override = tmp_path / ".reviewer" / "prompts"
    override.mkdir(parents=True)
    (override / "review_system.j2").write_text(
        '{% extends "packaged/review_system.j2" %}\n{% block focus %}Focus on SQL injection only.{% endblock %}\n'
    )
    system = repository_templates(tmp_path).messages("review", CONTEXT)[0].content
    assert "Focus on SQL injection only." in system
    assert "Look for, in this order" not in system  # the replaced block
    assert "senior software engineer" in system  # the kept blocks
    assert '"findings"' in system


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("line one\n{{ diff }}\n{{ no_such_variable }}\n", r"review_user\.j2:3: 'no_such_variable' is undefined"),
        ("ok\n{% if %}\n", r"review_user\.j2:2: template syntax error"),
    ],
)
def test_template_errors_name_template_and_line(tmp_path: Path, source: str, message: str) -> None:
    override = tmp_path / ".reviewer" / "prompts"
    override.mkdir(parents=True)
    (override / "review_user.j2").write_text(source)
    with pytest.raises(TemplateError, match=message):
        repository_templates(tmp_path).messages("review", CONTEXT)


def test_repository_templates_cannot_reach_python_internals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template comes from the change under review; in CI the environment holds the keys."""
    monkeypatch.setenv("SECRET_FOR_TEST", "hunter2")
    override = tmp_path / ".reviewer" / "prompts"
    override.mkdir(parents=True)
    (override / "review_user.j2").write_text('{{ cycler.__init__.__globals__.os.environ.get("SECRET_FOR_TEST") }}')
    with pytest.raises(TemplateError, match="not allowed in a prompt template"):
        repository_templates(tmp_path).messages("review", CONTEXT)


def test_unknown_template_name() -> None:
    with pytest.raises(TemplateError, match="no prompt template named 'nope.j2'"):
        Templates().source("nope.j2")
