"""Where findings go on GitHub, decided before posting: pure functions over the parsed diff."""

from __future__ import annotations

import dataclasses

from reviewer.config import GitHubSettings
from reviewer.diff import parse_diff
from reviewer.findings import Finding
from reviewer.github.comments import (
    BODY_LIMIT,
    DESCRIPTION_END,
    DESCRIPTION_START,
    Demoted,
    PullReview,
    comment_payload,
    find_rejected,
    findings_block,
    plan_post,
    replace_between,
    summary_body,
)
from reviewer.github.converge import carried, decode, entry_texts
from reviewer.placement import Placement, place_one
from reviewer.redact import placeholder, redact_diff, redact_each
from reviewer.review import Review
from reviewer.vocabulary import Usage
from tests import secret_values as s

DIFF_TEXT = (
    "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
    "@@ -1,4 +1,5 @@\n a = 1\n-b = 2\n+b = 3\n+c = 4\n d = 5\n e = 6\n"
    "@@ -20,2 +21,3 @@\n x = 1\n+y = 2\n z = 3\n"
)
DIFF = parse_diff(DIFF_TEXT)


def placed(line: int, severity: str = "major", *, start: int | None = None, side: str = "RIGHT", path: str = "app.py", title: str = "t"):  # type: ignore[no-untyped-def]
    return place_one(Finding(path, line, side, severity, "bug", title, "body", start_line=start), DIFF)  # type: ignore[arg-type]


def test_inline_file_and_summary_are_decided_against_the_diff() -> None:
    plan = plan_post([placed(3), placed(10), placed(1, path="other.py"), placed(2, side="LEFT")], frozenset(), GitHubSettings())
    assert [(p.finding.line, p.finding.side) for p in plan.inline] == [(2, "LEFT"), (3, "RIGHT")]
    assert [p.finding.line for p in plan.file_level] == [10]
    assert [(d.placed.finding.path, d.reason) for d in plan.demoted] == [("other.py", "not in a file of this pull request's diff")]


def test_threshold_and_cap_keep_the_most_severe_inline() -> None:
    findings = [placed(1, "minor"), placed(3, "critical"), placed(4, "nit"), placed(22, "major")]
    plan = plan_post(findings, frozenset(), GitHubSettings(max_inline_comments=2))
    assert [p.finding.severity for p in plan.inline] == ["critical", "major"]
    reasons = {d.placed.finding.severity: d.reason for d in plan.demoted}
    assert reasons == {"minor": "over the cap of 2 comments per run", "nit": "below the inline threshold (minor)"}


def test_posted_fingerprints_are_not_posted_again_even_reworded() -> None:
    first = placed(3, title="Off by one")
    again = placed(3, title="Completely different words")
    assert first.fingerprint == again.fingerprint
    plan = plan_post([again], frozenset({first.fingerprint}), GitHubSettings())
    assert plan.inline == () and plan.already_posted == (again,)


def test_left_lines_of_an_incremental_review_are_not_trusted_inline() -> None:
    left = place_one(Finding("app.py", 2, "LEFT", "major", "bug", "t", "body"), DIFF, incremental=True)
    plan = plan_post([left], frozenset(), GitHubSettings())
    assert plan.inline == () and [p.placement for p in plan.file_level] == [Placement.FILE]


def test_start_line_is_sent_only_before_line_in_the_same_hunk() -> None:
    assert comment_payload(placed(4, start=2))["start_line"] == 2
    assert "start_line" not in comment_payload(placed(4))
    across = comment_payload(placed(22, start=3))  # start in another hunk: snapped into the line's hunk
    assert (across["start_line"], across["line"]) == (21, 22)
    assert all(comment_payload(placed(n, start=n))["line"] == n and "start_line" not in comment_payload(placed(n, start=n)) for n in (3, 22))


def test_find_rejected_bisects_to_the_bad_items() -> None:
    items = list(range(10))
    probes: list[list[int]] = []

    def accepts(subset: list[int]) -> bool:
        probes.append(subset)
        return not ({3, 8} & set(subset))

    assert find_rejected(items, accepts) == frozenset({3, 8})
    assert len(probes) <= len(items)
    probes.clear()
    assert find_rejected(list(range(16)), lambda s: probes.append(s) or 15 not in s) == frozenset({15})
    assert len(probes) == 4  # log2(16): one bad comment in sixteen costs four pending reviews


def test_find_rejected_gives_up_within_its_budget() -> None:
    assert find_rejected(list(range(8)), lambda s: False, max_probes=2) == frozenset(range(8))


def test_summary_stays_under_githubs_size_limit_and_records_the_head() -> None:
    review = Review((), None, Usage(), 0.0, (), ())
    saved = PullReview("o/r", 1, "a" * 40, "b" * 40, review)
    big = dataclasses.replace(placed(3), finding=dataclasses.replace(placed(3).finding, body="x" * 5000))
    body = summary_body(saved, [Demoted(big, "why")] * 40, posted=0, already_posted=0, review_url=None, reviewed_head="a" * 40)
    assert len(body) < 65536 and len(body) <= BODY_LIMIT + 100
    assert "more findings not shown" in body and body.rstrip().endswith(f"head={'a' * 40} -->")


def test_description_block_is_replaced_keeping_what_the_author_wrote() -> None:
    once = replace_between("Author text.", DESCRIPTION_START, DESCRIPTION_END, "v1")
    twice = replace_between(once + "\nMore from the author.", DESCRIPTION_START, DESCRIPTION_END, "v2")
    assert twice.startswith("Author text.") and "v2" in twice and "v1" not in twice and twice.endswith("More from the author.")


def test_a_huge_model_answer_still_fits_one_comment_with_its_fingerprint() -> None:
    p = placed(3)
    huge = dataclasses.replace(p, finding=dataclasses.replace(p.finding, title="<" * 5000, body="```\n" + "<" * 100000, suggestion="x" * 30000))
    body = comment_payload(huge)["body"]
    assert len(body) < 65536
    assert body.startswith(f"<!-- reviewer:fp={p.fingerprint} -->\n")
    assert body.count("```") % 2 == 0  # the model's fence was closed before our marker
    assert "too long for a comment" in body


def test_an_incremental_summary_lists_the_current_state_not_a_log() -> None:
    review = Review((), None, Usage(), 0.0, (), ())
    saved = PullReview("o/r", 1, "a" * 40, "b" * 40, review, since_sha="c" * 40)
    kept, fixed = placed(3, title="untouched finding"), placed(22, title="fixed finding")
    first = summary_body(saved, [Demoted(kept, "why"), Demoted(fixed, "why")], posted=0, already_posted=0, review_url=None)
    memory, texts = decode(first), entry_texts(findings_block(first))
    assert {i.fingerprint for i in memory.listed} == set(texts) == {kept.fingerprint, fixed.fingerprint}
    # The push adds two lines at the top and rewrites line 22: the first entry moves down, the second is gone.
    push = parse_diff(
        "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n"
        "@@ -0,0 +1,2 @@\n+import os\n+import sys\n@@ -22 +24 @@\n-y = 2\n+y = 3\n"
    )
    carried_over = carried(memory, texts, push, [], frozenset(), frozenset({"app.py"}))
    assert [(e.listed.fingerprint, e.listed.line) for e in carried_over] == [(kept.fingerprint, 5)]
    new = placed(24, title="new finding")
    second = summary_body(saved, [Demoted(new, "why")], posted=0, already_posted=0, review_url=None, carried=carried_over)
    block = findings_block(second)
    assert "untouched finding" in block and "`app.py:5`" in block and "new finding" in block and "fixed finding" not in block
    assert block.count("<details>") == block.count("</details>") == 2
    assert carried(memory, texts, None, [], frozenset(), frozenset({"app.py"})) == []  # a review of the whole PR lists what it found, nothing older
    assert carried(memory, texts, push, [], frozenset({kept.fingerprint}), frozenset({"app.py"})) == []  # declined: never listed again
    assert carried(memory, texts, push, [], frozenset(), frozenset()) == []  # the pull request no longer changes the file


def test_an_entry_on_a_file_named_by_a_secret_is_listed_by_that_name_and_moves_with_the_push() -> None:
    """The summary lists it redacted (hidden state too); the next push's diff and the PR's files, by their real
    paths, still find it: it is carried, its line moved, not dropped as a file the PR no longer changes."""
    real = f"keys/{s.AWS_ACCESS_KEY}.py"
    diff = redact_diff(parse_diff(f"diff --git a/{real} b/{real}\n--- a/{real}\n+++ b/{real}\n@@ -1,2 +1,3 @@\n a = 1\n+b = 2\n c = 3\n"))[0]
    listed = place_one(Finding(real, 2, "RIGHT", "nit", "bug", "t", "body"), diff)
    shown = listed.finding.path
    assert shown == f"keys/{placeholder('aws-access-key', s.AWS_ACCESS_KEY)}.py" and listed.path == real
    saved = PullReview("o/r", 1, "a" * 40, "b" * 40, Review((), None, Usage(), 0.0, (), ()), since_sha="c" * 40)
    first = summary_body(saved, [Demoted(listed, "why")], posted=0, already_posted=0, review_url=None)
    memory, texts = decode(first), entry_texts(findings_block(first))
    assert s.AWS_ACCESS_KEY not in first + repr(memory) and [i.path for i in memory.listed] == [shown]
    push = parse_diff(f"diff --git a/{real} b/{real}\n--- a/{real}\n+++ b/{real}\n@@ -0,0 +1 @@\n+import os\n")
    carried_over = carried(memory, texts, push, [], frozenset(), frozenset(redact_each([real, "other.py"])))
    assert [(e.listed.path, e.listed.line) for e in carried_over] == [(shown, 3)]
