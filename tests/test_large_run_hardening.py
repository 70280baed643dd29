"""What an independent review of the large-run work found: hunk headers scanned, known parts cut only as whole lines,
error events without a message, counting on many threads, git colours. Each failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

from reviewer.cli import run
from tests import secret_values as s
from tests.conftest import GitRepo
from tests.model_server import ModelServer


def wire(server: ModelServer) -> str:
    return "\n".join(json.dumps(r.body) for r in server.requests)


def test_a_secret_in_a_hunk_header_section_is_not_sent(repo: GitRepo, model_server: ModelServer) -> None:
    """git prints the nearest 'function' line after the second @@; without a diff driver that is any line
    starting with a letter, so a top-level `TOKEN = "ghp_..."` becomes the hunk's section. redact_diff
    masks line texts only, and review._sent skips the whole rendered diff as 'known'."""
    body = "".join(f"    x{i} = {i}\n" for i in range(12))
    repo.write("app/settings.py", f'GITHUB_TOKEN = "{s.GITHUB_TOKEN}"\n{body}')
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/settings.py", f'GITHUB_TOKEN = "{s.GITHUB_TOKEN}"\n{body}    y = 1\n')
    repo.commit("change")
    assert run(["local", "--base", "main", "--base-url", model_server.openai_url, "--model", "m", "--fail-on", "none"]) == 0
    assert model_server.posts()
    assert s.GITHUB_TOKEN not in wire(model_server)


# --- odd answers from a model server ------------------------------------------------------------

import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

import pytest  # noqa: E402

from reviewer.backends.openai_compatible import OpenAICompatible  # noqa: E402
from reviewer.config import BackendConfig  # noqa: E402
from reviewer.errors import BackendError  # noqa: E402
from reviewer.vocabulary import Message  # noqa: E402


@pytest.fixture
def raw_sse() -> Iterator[list[bytes]]:
    """A server that answers every POST with the SSE body the test puts in the list."""
    body: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(body[0])))
            self.end_headers()
            self.wfile.write(body[0])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body.append(f"http://127.0.0.1:{server.server_address[1]}/v1".encode())
    yield body
    server.shutdown()


def test_an_error_event_without_an_error_field_is_a_backend_error(raw_sse: list[bytes]) -> None:
    """server_json.events: `type == "error"` alone leads to event["error"], a KeyError (a traceback)."""
    url = raw_sse.pop().decode()
    raw_sse.append(b'data: {"type": "error", "message": "overloaded"}\n\n')
    backend = OpenAICompatible(BackendConfig(name="b", base_url=url, model="m", max_retries=0), {})
    with pytest.raises(BackendError):
        backend.complete((Message("user", "hi"),))


def test_a_change_to_one_file_with_a_short_name_is_reviewed(repo: GitRepo, model_server: ModelServer) -> None:
    """review._sent recursed once per occurrence of a 'known' part: the list of the change's
    files is just `e` here, and the file, shown whole as code context, holds thousands of them (RecursionError)."""
    body = "see these eerie trees here\n" * 150  # code context: the file is shown whole
    repo.write("e", body)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("e", body + "eleven\n")
    repo.commit("change")
    assert run(["local", "--base", "main", "--base-url", model_server.openai_url, "--model", "m", "--fail-on", "none"]) == 0
    assert model_server.posts()


def test_the_last_pass_still_masks_a_secret_in_a_teams_template(repo: GitRepo, model_server: ModelServer) -> None:
    """review._sent is 'a last pass over what is sent: a template's own text (a team's override) can hold a
    secret too'. But the list of the change's files is a 'known' part wherever it occurs, even inside a word:
    with one file whose name is three characters of the token, the token is cut in two and neither half is
    a GitHub token any more."""
    from reviewer.prompts import packaged_dir

    system = (packaged_dir() / "review_system.j2").read_text(encoding="utf-8")
    repo.write(".reviewer/prompts/review_system.j2", system + f"\nThe team's CI token (do not share): {s.GITHUB_TOKEN}\n")
    name = s.GITHUB_TOKEN[20:23]
    repo.write(name, "one\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(name, "one\ntwo\n")
    repo.commit("change")
    assert run(["local", "--base", "main", "--base-url", model_server.openai_url, "--model", "m", "--fail-on", "none"]) == 0
    assert model_server.posts()
    assert s.GITHUB_TOKEN[:20] not in wire(model_server)


def test_counting_on_several_threads_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """tokens._Vocabulary.count clears its cache past _CACHE_LIMIT pieces; another thread between filling the
    cache and summing from it then raises KeyError. Tool outputs are counted on the request threads
    (backends/tools.py ToolBox.answer), 8 at once. The limit is lowered here to reach it in a second."""
    import random
    import string
    import sys

    from reviewer import tokens

    monkeypatch.setattr(tokens, "_CACHE_LIMIT", 50)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2000):
            text = " ".join("".join(rng.choice(string.ascii_letters) for _ in range(6)) for _ in range(30))
            try:
                tokens.count(text)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
                return

    try:
        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


def test_one_search_finds_names_whatever_the_users_git_colours(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """SourceTree.find_words parses `git grep -z -n` output; `color.grep = always` (or color.ui) in the user's git
    config wraps paths and numbers in colour codes, so nothing parses and code context loses every definition
    and call site without a word. (The model's grep tool, SourceTree.grep, has the same gap.)"""
    from reviewer.source_tree import SourceTree

    repo.write("a.py", "def load(x):\n    pass\n\n\nload(1)\n")
    repo.commit("base")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "color.ui")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "always")
    assert SourceTree(repo.root).find_words(["load"]) == (("a.py", 1, "load"), ("a.py", 5, "load"))


DEEP = "[" * 100_000  # nested deeper than Python's stack allows: json.loads raises RecursionError, not ValueError


def test_an_answer_nested_too_deep_is_a_backend_error_not_a_traceback(raw_sse: list[bytes]) -> None:
    url = raw_sse.pop().decode()
    raw_sse.append(f'data: {{"choices": {DEEP}\n\n'.encode())
    backend = OpenAICompatible(BackendConfig(name="b", base_url=url, model="m", max_retries=0), {})
    with pytest.raises(BackendError, match="not JSON"):
        backend.complete((Message("user", "hi"),))


def test_tool_arguments_nested_too_deep_are_refused_not_a_traceback(tmp_path: Path) -> None:
    """The model writes a tool's arguments: streamed to Anthropic's backend as pieces of JSON, run by the tool box."""
    from reviewer.backends.anthropic_compatible import AnthropicCompatible
    from reviewer.backends.tools import ToolBox, ToolCall
    from reviewer.source_tree import SourceTree

    anthropic = AnthropicCompatible(BackendConfig(name="b", protocol="anthropic", base_url="http://127.0.0.1:9", model="m"), {})
    stream = [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t1", "name": "grep", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": DEEP}},
    ]
    assert anthropic._from_events(stream)[1] == [{"type": "tool_use", "id": "t1", "name": "grep", "input": {"unparsed": DEEP}}]
    answer = ToolBox(SourceTree(tmp_path), rounds=4, tokens=100_000).run(ToolCall("t1", "grep", DEEP))
    assert answer == "refused: the arguments of grep are not a JSON object"
