"""Read-only tools for HTTP backends: read_file, grep and list_files, and the loop that answers the model's calls.

The tools read the same tree an agent backend gets (`agent_cli.review_tree`:
the checkout without files a routing rule withholds from this backend, files
secret by name, agent configuration, with secrets redacted). A model that asks
for no tool answers in one round, as without tools. Each request may run at
most `tool_rounds` rounds of calls and spend `tool_tokens`; past either, calls
are answered with a refusal that asks for the answer now.

Each protocol backend supplies a `Conversation` (how one turn is sent, how its
assistant message and the results are written back); this module holds what
they share. Arguments come from the model: untrusted, checked, never raising.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from reviewer.backends.base import Completion
from reviewer.backends.server_json import decoded
from reviewer.errors import BackendError
from reviewer.source_tree import SourceTree
from reviewer.vocabulary import Usage

MAX_READ_LINES = 400
MAX_RESULT_CHARS = 40_000
MAX_CALLS_PER_TURN = 8  # a model asking for more in one turn is told to narrow down
MAX_LISTED = 500
MAX_HITS = 100


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: Mapping[str, Any]  # JSON schema of the arguments


SPECS = (
    ToolSpec(
        "read_file",
        "Read a file of the repository as it is after the change, each line with its number. "
        f"Optional start_line and end_line (1-based, inclusive) pick a range; at most {MAX_READ_LINES} lines are returned.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "path relative to the repository root"},
                "start_line": {"type": "integer", "minimum": 1},
                "end_line": {"type": "integer", "minimum": 1},
            },
            "required": ["path"],
        },
    ),
    ToolSpec(
        "grep",
        "Search the repository's files for an extended regular expression (POSIX ERE); "
        f"answers path:line: text, at most {MAX_HITS} lines. Optional path limits the search to a folder or file.",
        {
            "type": "object",
            "properties": {"pattern": {"type": "string"}, "path": {"type": "string", "description": "folder or file, relative to the root"}},
            "required": ["pattern"],
        },
    ),
    ToolSpec(
        "list_files",
        f"List the files of the repository under a folder (default: the root), at most {MAX_LISTED}.",
        {"type": "object", "properties": {"path": {"type": "string", "description": "folder relative to the root"}}},
    ),
)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class Turn:
    completion: Completion  # this turn's text, reasoning and usage
    calls: tuple[ToolCall, ...]
    assistant: Mapping[str, Any]  # the assistant message as the protocol wants it sent back (reasoning included)


class Conversation(Protocol):
    def send(self, messages: Sequence[Mapping[str, Any]]) -> Turn: ...

    def results(self, calls: Sequence[ToolCall], outputs: Sequence[str]) -> list[Mapping[str, Any]]: ...


class ToolBox:
    """The tools over one tree, and the limits of one request's tool rounds."""

    def __init__(self, tree: SourceTree, rounds: int, tokens: int) -> None:
        self.tree = tree
        self.rounds = rounds
        self.tokens = tokens

    def answer(self, calls: Sequence[ToolCall], tokens_left: int) -> list[str]:
        """One turn's calls answered within the turn's caps: at most MAX_CALLS_PER_TURN, and outputs that fit
        in what is left of the token budget (a turn of 500 reads would otherwise make the next request huge)."""
        from reviewer.tokens import count as count_tokens

        outputs: list[str] = []
        for index, call in enumerate(calls):
            if index >= MAX_CALLS_PER_TURN:
                outputs.append(f"refused: at most {MAX_CALLS_PER_TURN} tool calls are answered per turn")
                continue
            output = self.run(call)
            cost = count_tokens(output)
            if cost > tokens_left:
                output = "refused: the tool-use token budget of this review is used up; answer now with the JSON object"
                cost = 0
            tokens_left -= cost
            outputs.append(output)
        return outputs

    def run(self, call: ToolCall) -> str:
        """The tool's answer, or why it refused: never an exception (the model's arguments are untrusted)."""
        args = decoded(call.arguments or "{}")
        if not isinstance(args, dict):
            return f"refused: the arguments of {call.name} are not a JSON object"
        if call.name == "read_file":
            answer = self._read(args)
        elif call.name == "grep":
            answer = self._grep(args)
        elif call.name == "list_files":
            answer = self._list(args)
        else:
            answer = f"refused: there is no tool {call.name!r}; the tools are read_file, grep and list_files"
        return answer if len(answer) <= MAX_RESULT_CHARS else answer[:MAX_RESULT_CHARS] + "\n… [cut: ask for a narrower range]"

    def _read(self, args: Mapping[str, Any]) -> str:
        path = args.get("path")
        if not isinstance(path, str):
            return "refused: read_file needs a string path"
        lines = self.tree.lines(path)
        if lines is None:
            return f"refused: {path!r} is not available to this reviewer (no such file, binary or too large, or withheld)"
        start = _int(args.get("start_line"), 1)
        end = min(_int(args.get("end_line"), len(lines)), len(lines), start + MAX_READ_LINES - 1)
        if start > len(lines):
            return f"{path} has {len(lines)} lines"
        shown = "\n".join(f"{n:>6} | {lines[n - 1]}" for n in range(start, end + 1))
        more = f"\n… lines {end + 1}-{len(lines)} not shown" if end < len(lines) else ""
        return f"{path} (lines {start}-{end} of {len(lines)})\n{shown}{more}"

    def _grep(self, args: Mapping[str, Any]) -> str:
        pattern, under = args.get("pattern"), args.get("path") or "."
        if not isinstance(pattern, str) or not pattern or not isinstance(under, str):
            return "refused: grep needs a non-empty string pattern (and an optional string path)"
        hits = self.tree.grep(pattern, under, limit=MAX_HITS)
        if isinstance(hits, str):
            return f"refused: {hits}"
        if not hits:
            return "no match"
        return "\n".join(f"{h.path}:{h.line}: {h.text[:300]}" for h in hits)

    def _list(self, args: Mapping[str, Any]) -> str:
        under = args.get("path") or "."
        if not isinstance(under, str):
            return "refused: list_files takes a string path"
        files = self.tree.files(under)
        if not files:
            return f"refused: {under!r} is not a folder available to this reviewer"
        more = f"\n… {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
        return "\n".join(files[:MAX_LISTED]) + more


def converse(conversation: Conversation, messages: Sequence[Mapping[str, Any]], box: ToolBox, backend: str) -> Completion:
    """Send, answer the model's tool calls, send again, until it answers with text; usage summed over the rounds."""
    history = list(messages)
    usage = Usage()
    reasoning: list[str] = []
    rounds = 0
    refused = False
    while True:
        try:
            turn = conversation.send(history)
        except BackendError as exc:
            exc.usage = usage + (exc.usage or Usage())  # the rounds before were billed too
            raise
        usage += turn.completion.usage
        reasoning.append(turn.completion.reasoning)
        if not turn.calls:
            return dataclasses.replace(turn.completion, usage=usage, reasoning="\n".join(r for r in reasoning if r))
        if refused:
            raise BackendError(
                f"backend {backend!r}: still calling tools after {rounds} round(s) and a request to answer",
                backend=backend,
                retryable=False,
                usage=usage,
            )
        spent = usage.prompt_tokens + usage.completion_tokens
        if rounds >= box.rounds or spent >= box.tokens:
            refused = True
            limit = f"{box.rounds} tool rounds" if rounds >= box.rounds else f"{box.tokens:,} tokens of tool use"
            outputs = [f"refused: this review's {limit} are used up; answer now with the JSON object, from what you have read"] * len(turn.calls)
        else:
            rounds += 1
            outputs = box.answer(turn.calls, box.tokens - spent)
        history += [turn.assistant, *conversation.results(turn.calls, outputs)]


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else default
