"""Hostile paths, titles and walkthrough entries render inert on GitHub and in `--format markdown`.

Checked on the HTML of GitHub's own renderer (cmark-gfm), with raw HTML let through as
GitHub's renderer does before its sanitiser: whatever got past our escaping shows up.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from reviewer.cli import run
from reviewer.github.comments import SUMMARY_MARKER
from reviewer.safe_text import inline_code, one_line, table_cell
from tests.conftest import GitRepo
from tests.github_fixtures import Scenario, finding, make_pull
from tests.github_server import TOKEN, GitHubServer
from tests.model_server import ModelServer, Recorded, Reply

MENTION = re.compile(r"(?<![\w/.@`-])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9_.-]+)?")
# What Markdown makes of our own text, plus the HTML we write ourselves (<details>, <sub>).
ALLOWED_TAGS = {"h2", "h3", "p", "ul", "li", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "a", "details", "summary", "sub"}
IMG = '<img src="https://evil.example/p.png">'

HOSTILE_PATH = f"src/x.py\n{IMG} @acme/owners\n- extra item\n| a | b |"
HIDING_PATH = "docs/<!-- hide the rest"
HOSTILE_TITLE = f"Pipe | here\n- forged item {IMG} @acme/owners\n# heading"
FINDINGS = [
    finding(HOSTILE_PATH, 1, "major", title="first"),
    finding(HIDING_PATH, 3, "major", title=HOSTILE_TITLE),
    finding("zzz.py", 1, "major", title="VISIBLE-AFTER"),
    finding("src/app.py", 6, "critical", "security", HOSTILE_TITLE, body=f"Body {IMG} @acme/owners <!-- hidden"),
]
SUMMARY = {
    "title": f"Title\n{IMG}",
    "walkthrough": [
        {"path": "src/app.py | x | y\n| injected | row |", "summary": f"ok @acme/owners {IMG}"},
        {"path": "a`b<!-- c", "summary": "two\nlines | pipe\n| x | y |"},
    ],
    "risks": [f"- nested\n1. item {IMG}", "@acme/owners"],
}
SKIPPED_NAME = "img/<!-- @acme|owners.png"


class Rendered(HTMLParser):
    """Tags, comments, and the text outside code of a rendered document."""

    def __init__(self, markdown: str) -> None:
        import cmarkgfm
        from cmarkgfm.cmark import Options

        super().__init__(convert_charrefs=True)
        self.html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
        self.tags: Counter[str] = Counter()
        self.prose: list[str] = []
        self._in_code = 0
        self.feed(self.html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self._in_code += tag in ("code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self._in_code -= tag in ("code", "pre")

    def handle_data(self, data: str) -> None:
        if not self._in_code:
            self.prose.append(data)

    @property
    def text(self) -> str:
        return "".join(self.prose)

    def assert_inert(self) -> None:
        assert "<img" not in self.html
        assert set(self.tags) <= ALLOWED_TAGS, set(self.tags) - ALLOWED_TAGS
        # Every comment is closed and is one of our markers: none hides what follows.
        comments = re.findall(r"<!--(.*?)-->", self.html, re.DOTALL)
        assert self.html.count("<!--") == len(comments)
        assert all(c.startswith(" reviewer:") and "\n" not in c for c in comments), comments
        assert MENTION.findall(self.text) == []


def test_the_escapes_hold_on_their_own() -> None:
    row = f"| {table_cell(inline_code(HOSTILE_PATH))} | {table_cell(one_line(HOSTILE_TITLE))} |"
    rendered = Rendered(f"| File | Change |\n| --- | --- |\n{row}\n\n- {one_line(HOSTILE_TITLE)}\n- {inline_code(HIDING_PATH)} after\n")
    rendered.assert_inert()
    assert rendered.tags["tr"] == 2 and rendered.tags["td"] == 2 and rendered.tags["li"] == 2
    assert "after" in rendered.text
    assert "src/x.py\\n<img" in rendered.html.replace("&lt;", "<")  # the path is shown, escaped, in its code span


@pytest.fixture
def hostile(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv("GITHUB_API_URL", scenario.gh.api)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    scenario.findings = FINDINGS
    scenario.summary = SUMMARY
    return scenario


def test_hostile_paths_titles_and_walkthrough_render_inert_in_the_github_summary(hostile: Scenario, gh: GitHubServer) -> None:
    make_pull(hostile.repo, gh, edit=lambda r: r.write(SKIPPED_NAME, b"\x89PNG\x00\x01"))
    args = ["pr", "--repo", gh.repo, "--number", "1", "--base-url", hostile.model.openai_url, "--model", "m", "--config", str(hostile.config)]
    assert run(args) == 0
    [summary] = [c["body"] for c in gh.issue_comments if SUMMARY_MARKER in c["body"]]
    rendered = Rendered(summary)
    rendered.assert_inert()
    # One header row and one row per walkthrough entry, two cells each.
    assert rendered.tags["tr"] == 3 and rendered.tags["td"] == 4
    # Risks (2), findings listed in the summary (3), files not reviewed (1): no forged item.
    assert rendered.tags["li"] == 6
    assert "VISIBLE-AFTER" in rendered.text and "cost $" in rendered.text  # nothing after the `<!--` path is hidden
    assert SKIPPED_NAME in rendered.html.replace("&lt;", "<")
    [comment] = gh.visible_comments()
    inline = Rendered(comment["body"])
    inline.assert_inert()
    assert inline.tags["li"] == 0 and inline.tags["h3"] == 0  # the title stays one line of the comment


def test_hostile_model_text_renders_inert_in_format_markdown(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("src/app.py", "a = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/app.py", "a = 2\n")
    repo.write(SKIPPED_NAME, b"\x89PNG\x00\x01")
    repo.commit("change")
    findings = [finding(HOSTILE_PATH, 1, title=HOSTILE_TITLE, suggestion="```\n@acme/owners <img src=x>\n```"), finding(HIDING_PATH, 1, title="VISIBLE-AFTER")]

    def answer(request: Recorded) -> Reply:
        asked_findings = {"findings": findings} if '{"findings": [\n' in request.text else {}
        return Reply(content=json.dumps({**asked_findings, **(SUMMARY if '"walkthrough"' in request.text else {})}))

    model_server.responder = answer
    assert run(["local", "--summary", "--format", "markdown", "--base-url", model_server.openai_url, "--model", "m"]) == 0
    rendered = Rendered(capsys.readouterr().out)
    rendered.assert_inert()
    assert rendered.tags["tr"] == 3 and rendered.tags["td"] == 4
    assert rendered.tags["li"] == 3  # two risks, one file not reviewed
    # The summary, a heading per finding, "Not reviewed"; the suggestion is one fenced block, whole.
    assert rendered.tags["h3"] == 4 and rendered.tags["pre"] == 1
    assert "VISIBLE-AFTER" in rendered.text
