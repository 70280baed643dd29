"""Every `reviewer ...` command line the README shows uses flags that command really has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from reviewer.cli import COMMANDS, run

README = Path(__file__).resolve().parent.parent / "README.md"
GROUPS = {"config", "prompts", "backends"}  # command groups; `eval import` is in cli.COMMANDS


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S)


def command_lines(text: str) -> list[str]:
    """Each `reviewer ...` invocation in the README's code blocks, continuation lines joined, comments dropped."""
    found = []
    for block in code_blocks(text):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"&&|\|", line):
                words = part.strip().removeprefix("$ ").removeprefix("- run:").strip()
                match = re.match(r"(?:\S*/)?reviewer (.*)", words)
                if match and not words.startswith(("reviewer @", "reviewer:")):
                    found.append(shlex.split(match.group(1), comments=True))
    return [shlex.join(["reviewer", *words]) for words in found]


def command_and_flags(line: str) -> tuple[list[str], list[str]]:
    words = shlex.split(line)[1:]
    path = [words[0]]
    if len(words) > 1 and (f"{words[0]} {words[1]}" in COMMANDS or (words[0] in GROUPS and _is_subcommand(words[0], words[1]))):
        path.append(words[1])
    flags = [w.split("=")[0] for w in words if w.startswith("-")]
    return path, flags


def _is_subcommand(group: str, word: str) -> bool:
    import click

    from reviewer.cli import cli

    command = cli.get_command(click.Context(cli), group)
    return isinstance(command, click.Group) and word in command.commands


LINES = command_lines(README.read_text(encoding="utf-8"))


def test_the_readme_shows_commands() -> None:
    assert len(LINES) > 20
    assert "reviewer local --dry-run --verbose" in LINES
    assert command_and_flags("reviewer eval import a b")[0] == ["eval", "import"]


@pytest.mark.parametrize("line", LINES)
def test_every_flag_the_readme_shows_exists(line: str, capsys: pytest.CaptureFixture[str]) -> None:
    path, flags = command_and_flags(line)
    assert run([*path, "--help"]) == 0, f"{line}: `reviewer {' '.join(path)}` is not a command"
    help_text = capsys.readouterr().out
    for flag in flags:
        assert re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=]|$)", help_text, flags=re.M), f"{line}: {flag} is not an option of reviewer {' '.join(path)}"


def test_the_pre_commit_example_uses_real_options(capsys: pytest.CaptureFixture[str]) -> None:
    args = re.search(r"args: \[(.*)\]", README.read_text(encoding="utf-8"))
    assert args is not None
    assert run(["local", "--help"]) == 0
    help_text = capsys.readouterr().out
    for word in (w.strip() for w in args.group(1).split(",")):
        if word.startswith("--"):
            assert word in help_text


def test_no_example_pins_a_tag_that_does_not_exist() -> None:
    """No release is tagged: examples pin a commit, and say so."""
    text = README.read_text(encoding="utf-8")
    assert "rev: v0.1.0" not in text
    assert "No release of the action is tagged yet" in text
