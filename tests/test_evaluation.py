"""Scoring an evaluation case by hand-made findings, and loading suites (the shipped one and broken ones)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from reviewer.errors import ConfigError
from reviewer.evaluation import Case, Expected, Target, aggregate, load_suite, score
from reviewer.findings import Finding

REPO = Path(__file__).resolve().parent.parent

DB_PATCH = """\
diff --git a/src/db.py b/src/db.py
new file mode 100644
index 0000000..3b18e51
--- /dev/null
+++ b/src/db.py
@@ -0,0 +1,4 @@
+import sqlite3
+
+def find(conn, name):
+    return conn.execute(f"SELECT * FROM users WHERE name = '{name}'")
"""


def finding(path: str, line: int, category: str = "bug", start_line: int | None = None) -> Finding:
    return Finding(path, line, "RIGHT", "major", category, "title", "body", start_line=start_line)


SQL = Target("src/db.py", 24, 26, "security")


@pytest.mark.parametrize(
    ("found", "hits"),
    [
        (finding("src/db.py", 24, "security"), True),  # first line of the range
        (finding("src/db.py", 26, "security"), True),  # last line
        (finding("src/db.py", 28, "security", start_line=26), True),  # a span that starts inside
        (finding("src/db.py", 24, "security", start_line=20), True),  # a span that ends inside
        (finding("src/db.py", 30, "security", start_line=20), True),  # a span around the range
        (finding("src/db.py", 22, "security", start_line=30), True),  # start and end given the wrong way round
        (finding("src/db.py", 23, "security", start_line=20), False),  # ends just before
        (finding("src/db.py", 27, "security"), False),  # just after
        (finding("src/db.py", 25, "bug"), False),  # right lines, other category
        (finding("src/api.py", 25, "security"), False),  # other file
        (dataclasses.replace(finding("src/db.py", 25, "security"), side="LEFT"), False),  # an old-file line number
    ],
)
def test_a_finding_hits_a_target_when_path_lines_and_category_agree(found: Finding, hits: bool) -> None:
    assert SQL.hit_by(found) is hits


def test_a_target_without_category_takes_any() -> None:
    assert Target("src/db.py", 24, 26).hit_by(finding("src/db.py", 25, "style"))


def test_score_counts_found_missed_noise_and_false_alarms() -> None:
    expected = Expected(
        must_find=(SQL, Target("src/db.py", 40, 41, "bug")),
        must_not_flag=(Target("src/db.py", 1, 10),),
    )
    findings = [
        finding("src/db.py", 25, "security"),  # finds SQL
        finding("src/db.py", 26, "security", start_line=24),  # finds SQL again: still one entry found
        finding("src/db.py", 3, "style"),  # noise, and a false alarm
        finding("src/db.py", 40, "performance"),  # noise: right lines, wrong category
        finding("src/api.py", 5, "bug"),  # noise
    ]

    result = score(findings, expected, changed_lines=50)

    assert result.found == (SQL,)
    assert result.missed == (Target("src/db.py", 40, 41, "bug"),)
    assert result.recall == 0.5
    assert result.findings == 5
    assert result.noise == 3
    assert result.false_alarms == 1
    assert result.changed_lines == 50


def test_a_clean_case_has_no_recall_and_counts_every_finding_as_noise() -> None:
    expected = Expected(must_not_flag=(Target("src/db.py", 1, 10),))
    result = score([finding("src/db.py", 5), finding("src/db.py", 12)], expected, changed_lines=10)
    assert result.recall is None
    assert (result.noise, result.false_alarms) == (2, 1)


def test_aggregate_takes_ratios_of_the_sums() -> None:
    one = score([finding("src/db.py", 25, "security")], Expected(must_find=(SQL,)), changed_lines=30)
    three = score(
        [finding("a.py", 1), finding("a.py", 2)],
        Expected(must_find=(Target("a.py", 1, 1), Target("a.py", 5, 5), Target("a.py", 9, 9))),
        changed_lines=10,
    )
    clean = score([finding("b.py", 1)], Expected(), changed_lines=10)

    totals = aggregate([one, three, clean])

    # 1/1 and 1/3 give 2/4 over the entries, not the mean (1 + 1/3) / 2 of the cases
    assert totals.recall == 0.5
    assert totals.noise == 2  # a.py:2 and b.py:1
    assert totals.findings_per_100_lines == pytest.approx(4 * 100 / 50)
    assert aggregate([]).recall is None
    assert aggregate([]).findings_per_100_lines is None


def write_case(suite: Path, name: str, expected: object, patch: str | None = DB_PATCH) -> Path:
    folder = suite / name
    folder.mkdir(parents=True)
    if patch is not None:
        (folder / "diff.patch").write_text(patch)
    (folder / "expected.json").write_text(expected if isinstance(expected, str) else json.dumps(expected))
    return folder


def test_load_suite_reads_every_case_by_name(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    write_case(suite, "b-clean", {"must_not_flag": [{"path": "src/db.py", "lines": [1, 2]}]})
    write_case(suite, "a-sql", {"must_find": [{"path": "src/db.py", "lines": [4, 4], "category": "security"}]})
    (suite / "README.md").write_text("notes about the suite")  # a file beside the cases is not a case

    cases = load_suite(suite)

    assert [c.name for c in cases] == ["a-sql", "b-clean"]
    assert cases[0].expected.must_find == (Target("src/db.py", 4, 4, "security"),)
    assert cases[0].changed_lines == 4
    assert cases[1].expected == Expected(must_not_flag=(Target("src/db.py", 1, 2),))


SHIPPED = load_suite(REPO / "benchmarks" / "eval")


def test_the_shipped_suite_covers_five_languages_and_clean_cases() -> None:
    assert len(SHIPPED) >= 12
    assert sum(c.expected.clean for c in SHIPPED) >= 3
    suffixes = {Path(f.path).suffix for c in SHIPPED for f in c.diff.files}
    assert {".py", ".js", ".ts", ".go", ".java", ".sql"} <= suffixes
    assert any(c.expected.golden for c in SHIPPED) and any(c.expected.must_find for c in SHIPPED)
    for case in SHIPPED:  # an expected issue and a range that must stay quiet never overlap
        quiet = case.expected.must_not_flag
        spans = [(t.path, t.first, t.last) for t in case.expected.must_find]
        spans += [(g.path, *g.lines) for g in case.expected.golden if g.path and g.lines]
        assert not any(q.path == p and q.first <= b and q.last >= a for q in quiet for p, a, b in spans), case.name


@pytest.mark.parametrize("case", SHIPPED, ids=lambda c: c.name)
def test_every_shipped_diff_applies(case: Case, tmp_path: Path) -> None:
    """`git apply --check` on a pre-image built from the diff's own old lines: hunk headers and lines agree."""
    for file in case.diff.files:
        old = {line.old_no: line.text for hunk in file.hunks for line in hunk.lines if line.old_no is not None}
        if old:
            target = tmp_path / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(f"{old.get(n, f'unrelated line {n}')}\n" for n in range(1, max(old) + 1)))
    patch = REPO / "benchmarks" / "eval" / case.name / "diff.patch"
    done = subprocess.run(["git", "apply", "--check", str(patch)], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("expected", "patch", "culprit", "said"),
    [
        ({"must_find": []}, None, "diff.patch", "missing"),
        ('{"must_find": [', DB_PATCH, "expected.json", "not valid JSON"),
        (["src/db.py"], DB_PATCH, "expected.json", "must be a JSON object"),
        ({"must_find": [], "must_flag": []}, DB_PATCH, "expected.json", "unknown key 'must_flag'"),
        ({"must_find": [{"path": "src/db.py", "lines": [1, 2], "severity": "major"}]}, DB_PATCH, "expected.json", "must_find[0].severity"),
        ({"must_not_flag": [{"path": "src/db.py", "lines": [1, 2], "category": "bug"}]}, DB_PATCH, "expected.json", "must_not_flag[0].category"),
        ({"must_find": [{"path": "src/dbs.py", "lines": [1, 2]}]}, DB_PATCH, "expected.json", "'src/dbs.py' is not a file in diff.patch"),
        ({"must_find": [{"path": "src/db.py", "lines": [5, 2]}]}, DB_PATCH, "expected.json", "lines must be [first, last]"),
        ({"must_find": [{"path": "src/db.py", "lines": [True, 2]}]}, DB_PATCH, "expected.json", "lines must be [first, last]"),
        ({"must_find": [{"path": "src/db.py", "lines": 3}]}, DB_PATCH, "expected.json", "lines must be [first, last]"),
        ({"must_find": [{"path": "src/db.py", "lines": [1, 2], "category": "securty"}]}, DB_PATCH, "expected.json", "is not one of"),
        ({"must_find": "src/db.py"}, DB_PATCH, "expected.json", "must_find must be a list"),
        ({}, "", "diff.patch", "holds no changes"),
    ],
)
def test_a_bad_case_names_its_file_and_the_fault(tmp_path: Path, expected: object, patch: str | None, culprit: str, said: str) -> None:
    write_case(tmp_path / "suite", "case", expected, patch)
    with pytest.raises(ConfigError) as caught:
        load_suite(tmp_path / "suite")
    assert str(caught.value).startswith(str(tmp_path / "suite" / "case" / culprit))
    assert said in str(caught.value)


def test_a_suite_needs_case_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such suite folder"):
        load_suite(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no case folders"):
        load_suite(tmp_path / "empty")
