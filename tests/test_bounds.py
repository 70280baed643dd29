"""Hostile sizes and numbers (issue 7, item 9): a nested answer, nan limits, unbounded waits, a huge file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from reviewer.cli import run
from reviewer.config import from_mapping
from reviewer.errors import ConfigError
from reviewer.findings import parse_answer
from reviewer.summary import parse_summary
from tests.conftest import GitRepo
from tests.model_server import ModelServer, Recorded, Reply


def changed_repo(repo: GitRepo, content: str = "A = 1\n") -> None:
    repo.write("app.py", "A = 0\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app.py", content)
    repo.commit("change")


def local(model_server: ModelServer, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["local", "--base", "main", "--format", "json", "--base-url", model_server.openai_url, "--model", "m", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_deeply_nested_answer_is_unusable_not_a_traceback(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    changed_repo(repo)
    model_server.responder = lambda request: Reply(content="[" * 100_000 + "]" * 100_000)
    code, out, err = local(model_server, capsys)
    assert code == 3 and "Traceback" not in err  # incomplete: the only backend answered nothing usable
    assert any("answered nothing usable" in e for e in json.loads(out)["errors"])


@pytest.mark.parametrize(
    "answer",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '{"findings": ' + "[" * 900 + "]" * 900 + "}",  # parses, but no answer of ours nests like this
        '{"a": "' * 150_000,  # a string that never ends, opened at every brace
        "```\na```\n" * 100_000,
        "{" * 1_000_000,
    ],
    ids=["deep-list", "deep-object", "nested-under-the-limit", "unterminated", "fences", "braces"],
)
def test_hostile_answers_are_parsed_quickly_and_are_unusable(answer: str) -> None:
    started = time.monotonic()
    parsed = parse_answer(answer)
    summary = parse_summary(answer)
    assert not parsed.usable and parsed.findings == () and summary.walkthrough == ()
    assert time.monotonic() - started < 5  # the earlier parser took minutes on an unterminated string opened at every brace


def test_an_answer_still_parses_after_many_braces_in_prose() -> None:
    prose = "In C, `if (x) { y(); }` " * 50
    parsed = parse_answer(prose + '{"findings": [{"path": "a.py", "line": 1, "title": "t"}]}')
    assert parsed.usable and [f.path for f in parsed.findings] == ["a.py"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_inf_are_refused_for_every_float_setting(value: float) -> None:
    for section, key in (("review", "max_cost_usd"), ("github", "seconds_between_writes"), ("backends.b", "timeout_seconds"), ("backends.b", "price_input")):
        table: dict[str, object] = {key: value}
        data = {"backends": {"b": {"base_url": "http://127.0.0.1:1", "model": "m", **table}}} if section == "backends.b" else {section: table}
        with pytest.raises(ConfigError, match=f"{section}.{key} must be a finite number"):
            from_mapping(data, Path("r.toml"))


def test_nan_cost_cap_from_a_config_file_is_refused(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    changed_repo(repo)
    repo.write(".reviewer.toml", "[review]\nmax_cost_usd = nan\n")
    code, _, err = local(model_server, capsys)
    assert code == 2 and "review.max_cost_usd must be a finite number, not nan" in err
    assert model_server.posts() == []


@pytest.mark.parametrize("flag", ["nan", "inf", "-1"])
def test_max_cost_flag_must_be_a_finite_amount(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    changed_repo(repo)
    code, _, err = local(model_server, capsys, "--max-cost", flag)
    assert code == 2 and "--max-cost must be" in err and "Traceback" not in err
    assert model_server.posts() == []


def test_waits_have_upper_bounds() -> None:
    for data, message in (
        ({"github": {"seconds_between_writes": 3600}}, "github.seconds_between_writes = 3600 must be at most 60"),
        ({"backends": {"b": {"timeout_seconds": 86400}}}, "backends.b.timeout_seconds = 86400 must be at most 3600"),
        ({"backends": {"b": {"max_retries": 1000}}}, "backends.b.max_retries = 1000 must be at most 10"),
    ):
        with pytest.raises(ConfigError, match=message):
            from_mapping(data, Path("r.toml"))


def test_one_huge_file_is_split_into_requests_that_fit(repo: GitRepo, model_server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    """A new file of one hunk used to go out as one request whatever its size."""
    changed_repo(repo, "".join(f"value_{n} = compute({n}, 'padding to make each line longer')\n" for n in range(6000)))
    repo.write(".reviewer.toml", "[review]\nmax_chunk_tokens = 20000\n")
    answered: list[Recorded] = []

    def answer(request: Recorded) -> Reply:
        answered.append(request)
        return Reply(content=json.dumps({"findings": []}))

    model_server.responder = answer
    code, out, err = local(model_server, capsys)
    assert code == 0, err
    assert len(answered) > 5
    # The diff blocks only: a line another request reviews may be shown around this one's as code context.
    sent = "\n".join(r.text.split("<untrusted-diff ", 1)[1].split("</untrusted-diff ", 1)[0] for r in answered)
    for n in (0, 2999, 5999):  # first, middle and last lines: every line went out, each once
        assert sent.count(f"value_{n} = compute({n},") == 1
    assert all(len(r.text) < 20000 * 3 + 20000 for r in answered)  # the diff under its budget, plus the prompt
