"""The prefilter of the secret scan never rules out a line a pattern matches in, and finds what the plain scan finds.

Three kinds of proof: property tests drawing strings that match each pattern the scan uses (ours, and
every regex of detect-secrets' plugins as installed) and checking each line a match lies on is kept;
the same draws checking that a pattern called line-local matches a text exactly as it matches its
lines one by one; and the scan with the prefilter against the plain one (each text scanned whole with
every pattern, as before the prefilter) on ~1 MB of real code with secrets of every kind planted in it.
"""

from __future__ import annotations

import random
import re
import tempfile
from collections import Counter
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from reviewer import redact
from reviewer.prefilter import Lines, Need, read
from tests import secret_values as s
from tests.test_redact import KINDS

# Hypothesis keeps caches on disk, written as tests are collected: in the temporary folder, not in the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "reviewer-tests-hypothesis")


def _patterns() -> list[tuple[str, re.Pattern[str], st.SearchStrategy[str]]]:
    """Each pattern the scan runs, and strings holding a match of it."""
    cases = []
    for name, branch in redact._TOKENS:  # the combined regex, drawn from each of its alternatives
        # (its lookbehind asks for no key character before the token: hypothesis cannot draw that itself)
        around = st.text(st.characters(blacklist_characters="\n"), max_size=8)
        drawn = st.tuples(around, st.from_regex(branch, fullmatch=True), around).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
        cases.append((f"token-{name}", redact._TOKEN_FORMATS, drawn))
    for index, (kind, _, pattern) in enumerate(redact._CONTEXTS):
        cases.append((f"context-{kind}-{index}", pattern, st.from_regex(pattern)))
    cases.append(("high-entropy", redact._TOKEN, st.from_regex(redact._TOKEN)))
    for plugin, kind in redact._plugins():
        for index, pattern in enumerate(plugin.denylist):
            cases.append((f"{kind}-{index}", pattern, st.from_regex(pattern)))
    for index, construct in enumerate(CONSTRUCTS):
        cases.append((f"construct-{index}", re.compile(construct), st.from_regex(construct)))
    return cases


# Patterns made to exercise each way the reading spells a literal or counts a run
CONSTRUCTS = [
    r"(sk_[0-9]+)_live_",  # what follows a piece with a known start does not run on from that start
    r"x(?:ab){1,3}cd[0-9]{2}",  # a piece repeated is not spelled once
    r"x(?:ox[ab]|app)-[0-9]+",  # a branch's starts, multiplied into the literal before it
    r"(?:ab)?cd[0-9]{3}|ef(?:gh)*[A-Z]{2}",  # optional and repeated pieces
    r"(?i)Account(?:Key|Name)=[A-Z]{3}",  # case-insensitive
    r"(?i:tok)EN_[a-z]{2}",  # partly case-insensitive
    r"(?m)^(?:export )?[A-Z_]*KEY=\S{6}$",
    r"(?<![A-Za-z])(?:ghp|gho)_[A-Za-z0-9]{10}\b",
    r"(ab|cd)\1x{2}[0-9]?",  # a backreference
    r"[^\s:]{6}:\w{4}",
    r"(?:AB|C\d){2,3}[+/=_-]{4}",
]


PATTERNS = _patterns()
ASCII = st.characters(max_codepoint=127)


@pytest.mark.parametrize(("pattern", "drawn"), [(p, d) for _, p, d in PATTERNS], ids=[name for name, _, _ in PATTERNS])
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_line_a_pattern_matches_in_is_ruled_out(pattern: re.Pattern[str], drawn: st.SearchStrategy[str], data: st.DataObject) -> None:
    sample = data.draw(drawn)
    if data.draw(st.booleans()):  # and once more in plain ASCII, where the prefilter rules lines out
        sample = "".join(c if c.isascii() else data.draw(ASCII) for c in sample)
    reading = read([pattern])
    kept = set(Lines([sample]).starts(reading.need))
    for start, line in _lines(sample):
        if pattern.search(line):
            assert start in kept, (line, reading.need)
    if pattern.search(sample):
        assert kept, (sample, reading.need)  # a match across lines still lies on a line that is kept
    if reading.line_local:  # so running it on some lines joined gives what it gives on each line alone
        assert _spans(pattern, sample) == _spans_by_line(pattern, sample)


def _lines(text: str) -> list[tuple[int, str]]:
    """Each line of `text`, and where it begins."""
    lines, at = [], 0
    for line in text.split("\n"):
        lines.append((at, line))
        at += len(line) + 1
    return lines


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(text)]


def _spans_by_line(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(start + a, start + b) for start, line in _lines(text) for a, b in _spans(pattern, line)]


def test_every_pattern_the_scan_runs_is_read() -> None:
    """A pattern with no need would run on every line (correct, but the speed would be lost unnoticed)."""
    for name, pattern, _ in PATTERNS:
        assert read([pattern]).need is not None, name
    ours = [redact._TOKEN_FORMATS, redact._TOKEN, *(pattern for _, _, pattern in redact._CONTEXTS)]
    assert all(read([pattern]).line_local for pattern in ours)


@pytest.mark.parametrize(
    ("pattern", "witness"),
    [
        (r"a\sb", "a\nb"),  # \s matches a line break
        (r"a[^x]b", "a\nb"),
        (r"(?s)a.b", "a\nb"),
        (r"^ab", "x\nab"),  # ^ and $ without MULTILINE: the text's start and end only
        (r"ab$", "ab\nx"),
        (r"\Aab", "x\nab"),
        (r"ab\Z", "ab\nx"),
        (r"(?<=\W)ab", "x\nab"),  # looks behind at a character a line break is one of
        (r"(?<!\n)ab", "x\nab"),
    ],
)
def test_a_pattern_that_can_tell_a_line_break_is_not_line_local(pattern: str, witness: str) -> None:
    compiled = re.compile(pattern)
    assert _spans(compiled, witness) != _spans_by_line(compiled, witness)  # the witness: lines one by one differ
    assert read([compiled]).line_local is False


@pytest.mark.parametrize("pattern", [r"(?m)^ab$", r"\bab\b", r"a[^\n]b", r"(?<![a-z])ab", r"a.b", r"(?P<q>['\"])ab(?P=q)", r"(?i)ab"])
def test_what_cannot_tell_a_line_break_from_the_text_edge_is_line_local(pattern: str) -> None:
    assert read([re.compile(pattern)]).line_local is True


def test_what_a_match_needs_is_read_from_the_pattern() -> None:
    assert read([re.compile(r"[A-Z0-9]{20}\b")]).need == Need(run=20)
    assert read([re.compile(r"(?i)xox[ab]-\d+")]).need == Need(folded=frozenset({"xoxa-", "xoxb-"}))
    # The literals the whole pattern spells, not `live`/`test` (as common in code as words get)
    assert read([re.compile(r"(?:sk|rk)_(?:live|test)_[a-z]{4}")]).need == Need(
        words=frozenset({"sk_live_", "sk_test_", "rk_live_", "rk_test_"})
    )
    assert read([re.compile(r"(?:sk_live_)?[A-Z]{12}")]).need == Need(run=12)  # what is optional is not needed
    assert read([re.compile(r"token|[a-z]+")]).need is None  # one alternative needs nothing: no line is ruled out
    assert read([re.compile(r"(?=x)")]).need is None  # nor does an empty match
    assert read([re.compile(r"(?i)abc"), re.compile(r"[A-Z]{30}")]).need == Need(run=30, folded=frozenset({"abc"}))


def test_a_line_counts_for_every_literal_it_holds() -> None:
    """Literals that begin alike are looked for in one pass; each line it stops on, for each of them."""
    lines = Lines(["x = 1", "a = 'sk-1' or 'sk_live_2'", "b = 'SK_LIVE_3'"])
    assert lines.starts(Need(words=frozenset({"sk-", "sk_live_"}))) == [6]
    assert lines.starts(Need(words=frozenset({"sk_live_"}))) == [6]  # another need, the same line
    assert lines.starts(Need(folded=frozenset({"sk_live_"}))) == [6, 32]
    assert lines.starts(Need(run=20)) == []


def test_a_line_outside_ascii_is_always_kept() -> None:
    """In case-insensitive mode `ſ` matches `s` and the Kelvin sign `k`: a line holding either holds `secret` or `key`
    for the regex, though not for a search of the lowered text."""
    text = "plain = 1\nſecret = 2\n\u212aey = 3\nsecret = 4"
    assert Lines([text]).starts(Need(folded=frozenset({"secret", "key"}))) == [start for start, _ in _lines(text)[1:]]
    assert re.search(r"(?i)secret", "ſecret") and re.search(r"(?i)key", "\u212aey")


# --- the scan with the prefilter, against the plain one ---------------------------------------------

PLANTED: list[list[str]] = [
    *([line] for _, line, _ in KINDS),
    [f'DISCORD = "{s.DISCORD_TOKEN}"'],
    [f"gitlab: {s.GITLAB_TOKEN}"],
    [f"bot = '{s.TELEGRAM_TOKEN}'"],
    ["bot = '١٢٣٤٥٦٧٨٩:" + s.rand(35, seed=31) + "'"],  # \d matches Arabic-Indic digits
    [f"mc = {s.MAILCHIMP_KEY}"],
    [f"sid = '{s.TWILIO_SID}'"],
    [f"square = {s.SQUARE_SECRET}"],
    [f"//registry.npmjs.org/:_authToken={s.NPM_UUID}"],
    ["//registry.npmjs.org/:_authToken=", s.NPM_UUID.replace("0", "1")],  # detect-secrets finds it across the line break
    [f"url = 'https://bob:{s.DB_PASSWORD}@example.com/x'"],
    [f"ſecret={s.DB_PASSWORD}", f"\u212aey={s.DB_PASSWORD}x", f"TO\u212aEN={s.DB_PASSWORD}y"],  # folded by the regex only
    [f"# 日本語のコメント {s.GITHUB_TOKEN}", f"🙂 = '{s.AWS_ACCESS_KEY}'"],
    [f'aws_key = "{s.AWS_SECRET_KEY}"', f'same = "{s.AWS_SECRET_KEY}"'],  # a plugin's value, masked wherever in its text
    [f'elsewhere = "{s.AWS_SECRET_KEY}"'],  # ...but not in another text, where nothing marks it as the plugin's
    ["key = '''", *s.PEM.splitlines(), "'''"],
    ["-----BEGIN CERTIFICATE-----", s.rand(64, seed=41), "-----END CERTIFICATE-----"],
    [f'nonce = "{s.HIGH_ENTROPY}"', f"integrity = 'sha512-{s.rand(86, seed=40)}=='"],
]


def _corpus() -> list[str]:
    """~1 MB of real code (the installed packages' own), secrets planted at random, cut into texts of all sizes."""
    root = Path(click.__file__).resolve().parents[1]
    lines: list[str] = []
    for path in sorted(root.rglob("*.py")):
        lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
        if len(lines) > 30_000:
            break
    rng = random.Random(11)
    for planted in PLANTED * 3:
        at = rng.randrange(len(lines))
        lines[at:at] = planted
    texts, at = [], 0
    while at < len(lines):
        size = rng.choice([1, 2, 5, 12, 40, 150, 600, 2500])
        texts.append("\n".join(lines[at : at + size]))
        at += size
    return texts


def test_the_prefiltered_scan_finds_exactly_what_the_plain_one_does() -> None:
    texts = _corpus()
    fast = redact.find_each(texts, prefilter=True)
    plain = redact.find_each(texts, prefilter=False)  # every pattern on all of each text
    assert [[_all_of(secret) for secret in found] for found in fast] == [[_all_of(secret) for secret in found] for found in plain]
    # Scanned with the others, a text has what it has alone, and more only where a value found somewhere shows again.
    alone = [redact.find_each([text], prefilter=False)[0] for text in texts]
    values = {secret.value for found in alone for secret in found}
    for together, by_itself in zip(plain, alone, strict=True):
        assert set(by_itself) <= set(together)
        assert all(secret.continued and secret.value in values for secret in set(together) - set(by_itself))
    assert plain != alone, "no value found in one text shows again in another: the corpus no longer tries that"
    kinds = {secret.kind for found in plain for secret in found}
    assert kinds >= {kind for kind, _, _ in KINDS} | {
        "discord-bot-token", "telegram-bot-token", "mailchimp-access-key", "twilio-api-key", "square-oauth-secret", "npm-tokens",
    }  # fmt: skip
    values = {secret.value for found in plain for secret in found}
    assert {s.NPM_UUID.replace("0", "1"), s.PEM_BODY[1], s.DB_PASSWORD + "x", s.DB_PASSWORD + "y"} <= values


def _all_of(secret: redact.Secret) -> tuple[object, ...]:
    return (secret.kind, secret.start, secret.end, secret.continued, secret.value, secret.placeholder)


def test_a_diff_is_redacted_as_each_hunk_alone_would_be() -> None:
    texts = _corpus()[:400]
    raw = "".join(
        f"diff --git a/f{i}.py b/f{i}.py\n--- a/f{i}.py\n+++ b/f{i}.py\n@@ -1,{t.count(chr(10)) + 1} +1,{t.count(chr(10)) + 1} @@\n"
        + "".join(f" {line}\n" for line in t.split("\n"))
        for i, t in enumerate(texts)
    )
    from reviewer.diff import parse_diff

    redacted, exposed = redact.redact_diff(parse_diff(raw))
    alone = [redact.redact_lines([line.text for line in hunk.lines]) for file in parse_diff(raw).files for hunk in file.hunks]
    # ... and a value found in one hunk masked in every other, though nothing marks it there.
    known = {x.value: x.placeholder for _, found in alone for _, x in found}
    expected = [[masked(line, known) for line in lines] for lines, _ in alone]
    assert [[line.text for line in hunk.lines] for file in redacted.files for hunk in file.hunks] == expected
    assert expected != [lines for lines, _ in alone]
    found_alone = Counter((x.kind, x.value, x.continued) for _, found in alone for _, x in found)
    found_together = Counter((e.secret.kind, e.secret.value, e.secret.continued) for e in exposed)
    assert found_alone <= found_together
    assert all(continued for _, _, continued in found_together - found_alone)  # masked, not reported again
    assert exposed


def masked(text: str, known: dict[str, str]) -> str:
    """Each value of six characters or more replaced, the longest first: what reviewer.known does, value by value."""
    for value in sorted(known, key=lambda value: (-len(value), value)):
        if len(value) >= 6:
            text = text.replace(value, known[value])
    return text
