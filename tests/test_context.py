"""Code context: the enclosing scope of a hunk deep inside a long function reaches the prompt, with the file's
own line numbers, in every language with a grammar; a finding on a context line is placed, not lost."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from reviewer.cli import run
from reviewer.context import budgets, code_context, render_excerpt
from reviewer.diff import parse_diff
from reviewer.redact import redact_diff
from reviewer.source_tree import SourceTree
from reviewer.syntax import Outline
from reviewer.tokens import count as count_tokens
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Reply

BODY_LINES = 240  # the function is longer than a small file, so its scope (not the whole file) is shown
CHANGED = 200  # the body line changed, deep inside


@dataclass(frozen=True)
class Language:
    path: str
    before: str  # lines before the long function (another function, a class opening...)
    header: str  # the long function's first line
    body: str  # one body line, {i} numbered
    footer: str  # what closes the function (and the class)
    name: str  # the name the scope is labelled with

    def source(self, changed: bool = False) -> str:
        body = [self.body.format(i=i) for i in range(1, BODY_LINES + 1)]
        if changed:
            body[CHANGED - 1] = self.body.format(i=CHANGED).replace(str(CHANGED), f"{CHANGED} * 2")
        return self.before + self.header + "\n" + "\n".join(body) + "\n" + self.footer

    @property
    def header_line(self) -> int:
        return self.before.count("\n") + 1


LANGUAGES = [
    Language("calc.py", "import os\n\n\ndef small():\n    return 1\n\n\n", "def long_function(a):", "    a = a + {i}", "    return a\n", "long_function"),
    Language("calc.js", "function small() {\n  return 1;\n}\n\n", "function longFunction(a) {", "  a = a + {i};", "  return a;\n}\n", "longFunction"),
    Language("calc.ts", "export function small(): number {\n  return 1;\n}\n\n", "export function longFunction(a: number): number {", "  a = a + {i};", "  return a;\n}\n", "longFunction"),
    Language("calc.go", "package calc\n\nfunc small() int {\n\treturn 1\n}\n\n", "func (c *Calc) LongFunction(a int) int {", "\ta = a + {i}", "\treturn a\n}\n", "LongFunction"),
    Language("Calc.java", "public class Calc {\n  int small() {\n    return 1;\n  }\n\n", "  int longFunction(int a) {", "    a = a + {i};", "    return a;\n  }\n}\n", "longFunction"),
    Language("calc.rs", "struct Calc;\n\nimpl Calc {\n    fn small() -> i32 {\n        1\n    }\n\n", "    fn long_function(mut a: i32) -> i32 {", "        a = a + {i};", "        a\n    }\n}\n", "long_function"),
    Language("calc.c", "#include <stdio.h>\n\nstatic int small(void) {\n  return 1;\n}\n\n", "int long_function(int a) {", "  a = a + {i};", "  return a;\n}\n", "long_function"),
    Language("calc.cpp", "#include <vector>\n\nnamespace calc {\n\n", "int Calc::long_function(int a) {", "  a = a + {i};", "  return a;\n}\n\n}  // namespace calc\n", "Calc::long_function"),
    Language("calc.rb", "class Calc\n  def small\n    1\n  end\n\n", "  def long_function(a)", "    a = a + {i}", "    a\n  end\nend\n", "long_function"),
]


def commit_change(repo: GitRepo, language: Language) -> None:
    repo.write(language.path, language.source())
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(language.path, language.source(changed=True))
    repo.commit("double it")


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.path.rsplit(".", 1)[1])
def test_the_enclosing_scope_reaches_the_prompt_and_a_finding_on_it_is_placed(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str], language: Language
) -> None:
    commit_change(repo, language)
    header, changed = language.header_line, language.header_line + CHANGED
    far = header + 3  # a body line far above the hunk: only the context shows it
    finding = {"path": language.path, "line": far, "severity": "major", "category": "bug", "title": "Seen in context", "body": "b"}
    model_server.default = Reply(content=json.dumps({"findings": [finding]}))
    capsys.readouterr()
    run(["local", "--base", "main", "--format", "json", "--base-url", model_server.openai_url, "--model", "m", "--fail-on", "major"])
    result = json.loads(capsys.readouterr().out)

    [request] = model_server.posts()
    prompt = request.text
    assert f"enclosing function `{language.name}`" in prompt
    assert f"{header:>6} | {language.header}" in prompt
    assert f"{far:>6} | {language.body.format(i=3)}" in prompt
    assert f"⋮ lines {changed - 3}-{changed + 3} are in the diff" in prompt  # what the diff shows is not repeated
    assert prompt.index("untrusted-code") < prompt.index("untrusted-diff")  # context first: the cacheable prefix
    [placed] = result["findings"]
    assert (placed["line"], placed["placement"], placed["anchored"]) == (far, "file", False)
    assert result["usage"]["context_tokens"] > 0


def test_dry_run_counts_the_context_tokens(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    commit_change(repo, LANGUAGES[0])
    capsys.readouterr()
    assert run(["local", "--base", "main", "--dry-run", "--format", "json", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["context_tokens"] == plan["requests"][0]["context_tokens"] > 100
    run(["local", "--base", "main", "--dry-run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"])
    assert "code context)" in capsys.readouterr().out


def test_a_range_that_is_not_checked_out_gets_no_context(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    """`--range` and `--staged` review other text than the working tree holds: its line numbers would lie."""
    commit_change(repo, LANGUAGES[0])
    repo.write("calc.py", LANGUAGES[0].source(changed=True).replace("a = a + 3\n", "a = a + 333\n"))
    run(["local", "--range", "main..feature", "--format", "json", "--base-url", model_server.openai_url, "--model", "m"])
    assert "untrusted-code" not in model_server.posts()[0].text


def python_change(tmp_path: Path) -> tuple[GitRepo, str]:
    repo = GitRepo(tmp_path / "r")
    repo.write("lib.py", "def compute(v):\n    '''Adds one.'''\n    return v + 1\n")
    repo.write("use.py", "from app import long_function\n\n\ndef caller():\n    return long_function(1)\n")
    repo.write("calc.py", LANGUAGES[0].source())
    repo.commit("base")
    repo.write("calc.py", LANGUAGES[0].source().replace("a = a + 200\n", "a = compute(a) + 200\n"))
    return repo, repo.git("diff")


def test_definitions_of_new_calls_and_call_sites_of_changed_functions(tmp_path: Path) -> None:
    repo, raw = python_change(tmp_path)
    context = code_context(parse_diff(raw).files, SourceTree(repo.root), 16000, 3)
    assert "--- lib.py: definition of `compute` (lines 1-3)" in context.text
    assert "--- use.py: call of `long_function` in function `caller` (lines 2-5)" in context.text
    assert "     5 |     return long_function(1)" in context.text


def test_a_call_that_looks_like_a_definition_is_not_shown_as_one(tmp_path: Path) -> None:
    """`return compute(` split over lines reads as a C-like definition to the pattern; the parsed file says it is a call."""
    repo, raw = python_change(tmp_path)
    repo.write("a_user.py", "def user(v):\n    return compute(\n        v)\n")
    repo.commit("a caller first in path order")
    context = code_context(parse_diff(raw).files, SourceTree(repo.root), 16000, 0)
    assert "--- lib.py: definition of `compute` (lines 1-3)" in context.text and "a_user.py" not in context.text


def test_the_budget_and_the_routing_rules_bound_the_context(tmp_path: Path) -> None:
    repo, raw = python_change(tmp_path)
    files = parse_diff(raw).files
    assert code_context(files, SourceTree(repo.root), 0, 3).text == ""
    small = code_context(files, SourceTree(repo.root), 400, 3)
    assert small.tokens <= 400 and "definition of `compute`" in small.text  # the 240-line scope does not fit; the rest does
    hidden = code_context(files, SourceTree(repo.root, lambda path: path != "lib.py"), 16000, 3)
    assert "lib.py" not in hidden.text


KEY = "AKIA" + "Q3EGRW7TAZ2LDX5M"


def test_secrets_in_context_are_redacted(tmp_path: Path) -> None:
    """A key on a line only the context shows (far from the hunk, so not in the diff) is masked there."""
    repo = GitRepo(tmp_path / "r")
    source = LANGUAGES[0].source().replace("a = a + 5\n", f"a = a + 5  # {KEY}\n")
    repo.write("calc.py", source)
    repo.commit("base")
    repo.write("calc.py", source.replace("a = a + 200\n", "a = a + 200 * 2\n"))
    context = code_context(parse_diff(repo.git("diff")).files, SourceTree(repo.root), 16000, 0)
    assert "enclosing function" in context.text and "a = a + 5  #" in context.text and KEY not in context.text


def test_a_file_whose_diff_shows_a_secret_still_gets_its_context(tmp_path: Path) -> None:
    """A review's diff is redacted before its context is made: the file on disk then matches the diff redacted."""
    repo = GitRepo(tmp_path / "r")
    repo.write("calc.py", LANGUAGES[0].source())
    repo.commit("base")
    repo.write("calc.py", LANGUAGES[0].source().replace("a = a + 200\n", f"a = a + 200  # {KEY}\n"))
    shown = redact_diff(parse_diff(repo.git("diff")))[0]
    context = code_context(shown.files, SourceTree(repo.root), 16000, 0)
    assert "enclosing function `long_function`" in context.text and KEY not in context.text


def test_the_indentation_fallback_finds_the_block_of_a_language_without_a_grammar() -> None:
    lines = ["object Main {", "  def run(): Unit = {", "    val x = 1", "    println(x)", "  }", "}"]
    no_grammar = Outline(lines, None)
    block = no_grammar.enclosing(4, 4)
    assert block is not None and (block.start, block.end) == (2, 5)
    assert no_grammar.enclosing(1, 1) is None


def git_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `git` first on PATH that logs each command line and runs the real one: how many searches a run makes."""
    real = shutil.which("git")
    log = tmp_path / "git.log"
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    return log


def test_one_search_finds_the_definitions_and_call_sites_of_every_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.write("lib.py", "def compute(v):\n    '''Adds one.'''\n    return v + 1\n\n\ndef scale(v):\n    return v * 2\n")
    repo.write("use.py", "from calc import long_function\n\n\ndef caller():\n    return long_function(1)\n")
    repo.write("other.py", "from calc import small\n\n\ndef other():\n    return small()\n")
    repo.write("calc.py", LANGUAGES[0].source())
    repo.commit("base")
    repo.write("calc.py", LANGUAGES[0].source().replace("a = a + 200\n", "a = compute(a) + scale(200)\n").replace("return 1", "return 2"))
    log = git_calls(tmp_path, monkeypatch)
    context = code_context(parse_diff(repo.git("diff")).files, SourceTree(repo.root), 16000, 3)
    assert "--- lib.py: definition of `compute` (lines 1-3)" in context.text
    assert "--- lib.py: definition of `scale` (lines 6-7)" in context.text
    assert "--- use.py: call of `long_function` in function `caller` (lines 2-5)" in context.text
    assert "--- other.py: call of `small` in function `other` (lines 2-5)" in context.text
    assert [line for line in log.read_text().splitlines() if line.startswith("grep")] == [
        "grep --no-color -z -n -I -E -w -e (compute|long_function|scale|small) -- ."
    ]


def test_a_large_change_shares_one_bound_and_shows_the_code_around_its_hunks_only(
    repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Split into requests for speed, a change does not get its context once a request; past one request, the
    diff is most of what there is to see: no definitions or call sites are looked up."""
    repo.write("lib.py", "def compute(v):\n    '''Adds one.'''\n    return v + 1\n")
    repo.write("use.py", "from big_0 import work_0\n\n\ndef caller():\n    return work_0(1)\n")
    for n in range(4):
        body = "".join(f"    a = a + {i}  # a line long enough to count for something in the diff\n" for i in range(300))
        repo.write(f"big_{n}.py", f"def work_{n}(a):\n{body}    return a\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    for n in range(4):
        text = (repo.root / f"big_{n}.py").read_text()
        repo.write(f"big_{n}.py", text.replace("a = a + 1", "a = compute(a) + 1"))  # 111 of the 300 lines
    repo.commit("compute")
    capsys.readouterr()
    run(["local", "--base", "main", "--format", "json", "--base-url", model_server.openai_url, "--model", "m"])
    prompts = [p.text for p in model_server.posts()]
    assert len(prompts) >= 2
    assert all("untrusted-code" in p and "definition of" not in p and "call of" not in p for p in prompts)
    assert "function `work_0`" in "".join(prompts)  # the code around its hunks
    assert json.loads(capsys.readouterr().out)["usage"]["context_tokens"] <= 16000


def test_budgets_share_the_bound_by_diff_size() -> None:
    assert budgets(16000, [5000]) == [16000]  # one request: its whole budget, however small its diff
    assert budgets(16000, [400_000]) == [16000]
    assert budgets(16000, [10_000, 10_000]) == [8000, 8000]  # the bound is the change's, not each request's
    assert budgets(16000, [300_000, 100_000]) == [16000, 12500]  # an eighth of 400,000, by size, at most 16,000 each
    assert budgets(16000, [0, 0]) == [16000, 16000]


def test_code_outside_any_function_is_shown_with_its_neighbours(tmp_path: Path) -> None:
    """Not as a scope of the whole module (Python's root node is a `module`, no class), in every parsed language."""
    repo = GitRepo(tmp_path / "r")
    source = LANGUAGES[0].source() + "".join(f"SETTING_{i} = {i}\n" for i in range(60))
    repo.write("calc.py", source)
    repo.commit("base")
    repo.write("calc.py", source.replace("SETTING_30 = 30\n", "SETTING_30 = 31\n"))
    context = code_context(parse_diff(repo.git("diff")).files, SourceTree(repo.root), 16000, 0)
    changed = source.splitlines().index("SETTING_30 = 30") + 1
    total = len(source.splitlines())
    assert "anonymous" not in context.text
    assert f"--- calc.py: around code outside any function or class (lines {changed - 80}-{total})" in context.text


def test_a_tight_budget_shows_the_smallest_scopes_first(tmp_path: Path) -> None:
    """The most hunks for the tokens: three short functions rather than the long one that comes first."""
    repo = GitRepo(tmp_path / "r")
    filler = "".join(f"LIMIT_{i} = {i}\n" for i in range(8))  # the hunks stay apart
    shorts = "".join(f"\n\ndef short_{n}(v):\n    v = v + {n}\n    return v\n\n\n{filler}" for n in range(3))
    repo.write("calc.py", LANGUAGES[0].source() + shorts)
    repo.commit("base")
    changed = LANGUAGES[0].source(changed=True) + shorts.replace("v = v + ", "v = v - ")
    repo.write("calc.py", changed)
    files = parse_diff(repo.git("diff")).files
    whole = code_context(files, SourceTree(repo.root), 100_000, 0)
    costs = {e.why: count_tokens(render_excerpt(e)) for e in whole.excerpts}
    long = costs["enclosing function `long_function`"]
    assert sum(costs.values()) > long + 1 > costs["enclosing function `short_0`"] * 3
    tight = code_context(files, SourceTree(repo.root), long + 1, 0)
    assert [e.why for e in tight.excerpts] == [f"enclosing function `short_{n}`" for n in range(3)]


def test_a_language_without_a_grammar_gets_the_indented_block_around_each_hunk(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    body = "".join(f"    val x{i} = {i}\n" for i in range(250))
    source = f"object Main {{\n  def run(): Unit = {{\n{body}  }}\n\n  def stop(): Unit = {{\n    println(1)\n  }}\n}}\n"
    repo.write("Main.scala", source)
    repo.commit("base")
    repo.write("Main.scala", source.replace("val x200 = 200", "val x200 = 201").replace("println(1)", "println(2)"))
    context = code_context(parse_diff(repo.git("diff")).files, SourceTree(repo.root), 16000, 0)
    assert "--- Main.scala: enclosing anonymous block (lines 2-253)" in context.text  # `run`, by indentation
    assert "--- Main.scala: enclosing anonymous block (lines 255-257)" in context.text  # `stop`
