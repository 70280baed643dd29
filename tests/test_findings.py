"""Extracting and validating the model's JSON answer."""

from __future__ import annotations

import json

import pytest

from reviewer.findings import extract_json, parse_answer
from reviewer.vocabulary import at_or_above

ONE = {"path": "a.py", "line": 3, "severity": "major", "category": "bug", "title": "T", "body": "B"}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"findings": [ONE]}),
        "```json\n" + json.dumps({"findings": [ONE]}) + "\n```",
        "Sure! Here you go:\n```\n" + json.dumps({"findings": [ONE]}) + "\n```\nHope it helps {not json}.",
        "Findings follow " + json.dumps({"findings": [ONE]}) + " and that is all.",
    ],
)
def test_answer_shapes(text: str) -> None:
    parsed = parse_answer(text)
    assert parsed.usable and not parsed.errors
    [finding] = parsed.findings
    assert (finding.path, finding.line, finding.side, finding.severity, finding.category) == ("a.py", 3, "RIGHT", "major", "bug")


def test_no_json_is_unusable() -> None:
    parsed = parse_answer("Looks good to me!")
    assert not parsed.usable and "no JSON object" in parsed.errors[0]


def test_json_without_findings_list_is_unusable() -> None:
    assert not parse_answer('{"result": "ok"}').usable


def test_empty_findings_is_a_usable_answer() -> None:
    parsed = parse_answer('{"findings": []}')
    assert parsed.usable and parsed.findings == () and parsed.errors == ()


def test_invalid_entries_become_errors_and_the_rest_counts() -> None:
    entries = [
        ONE,
        {"line": 1, "title": "no path"},
        {"path": "b.py", "title": "no line"},
        {"path": "b.py", "line": -2, "title": "negative"},
        {"path": "b.py", "line": 2, "side": "MIDDLE", "title": "bad side"},
        {"path": "b.py", "line": 2},
        "not an object",
        {"path": "b.py", "line": 2, "title": "ok", "suggestion": 5},
    ]
    parsed = parse_answer(json.dumps({"findings": entries}))
    assert parsed.usable
    assert len(parsed.findings) == 1
    assert len(parsed.errors) == 7
    assert all(e.startswith("finding ") for e in parsed.errors)


def test_normalisation() -> None:
    entry = {"path": "./src/x.py", "line": "12", "start_line": 15, "side": "left", "severity": "HIGH", "category": "Security",
             "title": "  spaced\n title ", "body": " b "}
    [finding] = parse_answer(json.dumps({"findings": [entry]})).findings
    assert finding.path == "src/x.py"
    assert (finding.start_line, finding.line) == (12, 15)  # swapped into order
    assert finding.side == "LEFT"
    assert finding.severity == "major"
    assert finding.category == "security"
    assert finding.title == "spaced title"
    assert finding.body == "b"


def test_start_line_equal_to_line_is_dropped() -> None:
    [finding] = parse_answer(json.dumps({"findings": [{**ONE, "start_line": 3}]})).findings
    assert finding.start_line is None


def test_unknown_severity_and_category_get_defaults() -> None:
    [finding] = parse_answer(json.dumps({"findings": [{**ONE, "severity": "weird", "category": "odd"}]})).findings
    assert (finding.severity, finding.category) == ("minor", "maintainability")


def test_extract_json_skips_broken_fences() -> None:
    text = "```json\n{broken\n```\nthen {\"findings\": []}"
    assert extract_json(text, "findings") == {"findings": []}


def test_threshold() -> None:
    assert at_or_above("critical", "major")
    assert at_or_above("major", "major")
    assert not at_or_above("minor", "major")
    assert not at_or_above("critical", "none")


def test_other_objects_in_the_prose_do_not_hide_the_answer() -> None:
    text = 'It returns {} instead of raising, and {"a": 1} too.\n' + json.dumps({"findings": [ONE]})
    parsed = parse_answer(text)
    assert parsed.usable and len(parsed.findings) == 1
