"""Token estimates: V4's own tokenizer where it is cheap, a rule fitted to it elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewer import tokens
from reviewer.diff import parse_diff
from reviewer.diff_text import render_files

SOURCE = Path(tokens.__file__).resolve().parent


def test_the_rule_is_close_to_the_tokenizer_on_real_code() -> None:
    """On our own source as the model reads it (a diff adding every line), file by file and in total."""
    text = "".join(
        f"diff --git a/{p.name} b/{p.name}\nnew file mode 100644\n--- /dev/null\n+++ b/{p.name}\n@@ -0,0 +1,{len(lines)} @@\n"
        + "".join(f"+{line}\n" for line in lines)
        for p in sorted(SOURCE.glob("*.py"))[:12]
        if (lines := p.read_text(encoding="utf-8").splitlines())
    )
    rendered = [render_files([f]) for f in parse_diff(text).files]
    exact = [tokens.exact(r) for r in rendered]
    estimated = [tokens.rule(r) for r in rendered]
    assert 0.9 <= sum(estimated) / sum(exact) <= 1.1
    assert all(0.7 <= e / x <= 1.35 for e, x in zip(estimated, exact, strict=True))


@pytest.mark.parametrize("text", ["x" * 1000, "getUserAccountBalanceForCustomer(id) " * 40, "这是一个测试。" * 100])
def test_the_rule_is_within_half_on_odd_text(text: str) -> None:
    assert 0.5 <= tokens.rule(text) / tokens.exact(text) <= 1.5


def test_a_small_change_counts_exactly_a_large_one_by_the_rule() -> None:
    assert tokens.counter_for(10_000) is tokens.exact
    assert tokens.counter_for(tokens.EXACT_UP_TO_CHARS + 1) is tokens.rule
    assert tokens.rule("") == tokens.exact("") == 0
