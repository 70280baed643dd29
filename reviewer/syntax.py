"""Where the functions, methods and classes of a source file begin and end.

A real parser (tree-sitter, one official grammar wheel per language, all
compiled in: nothing is downloaded at run time) for Python, JavaScript,
TypeScript, Go, Java, Rust, C, C++ and Ruby; elsewhere an indentation
heuristic that finds the block a line sits in. Lines are 1-based, as a diff
numbers them.
"""

from __future__ import annotations

import bisect
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import PurePosixPath
from typing import Any

# extension -> (grammar module, function returning its language)
GRAMMARS: dict[str, tuple[str, str]] = {
    ".py": ("tree_sitter_python", "language"),
    ".pyi": ("tree_sitter_python", "language"),
    ".js": ("tree_sitter_javascript", "language"),
    ".mjs": ("tree_sitter_javascript", "language"),
    ".cjs": ("tree_sitter_javascript", "language"),
    ".jsx": ("tree_sitter_javascript", "language"),
    ".ts": ("tree_sitter_typescript", "language_typescript"),
    ".mts": ("tree_sitter_typescript", "language_typescript"),
    ".cts": ("tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tree_sitter_typescript", "language_tsx"),
    ".go": ("tree_sitter_go", "language"),
    ".java": ("tree_sitter_java", "language"),
    ".rs": ("tree_sitter_rust", "language"),
    ".c": ("tree_sitter_c", "language"),
    ".h": ("tree_sitter_c", "language"),
    ".cc": ("tree_sitter_cpp", "language"),
    ".cpp": ("tree_sitter_cpp", "language"),
    ".cxx": ("tree_sitter_cpp", "language"),
    ".hh": ("tree_sitter_cpp", "language"),
    ".hpp": ("tree_sitter_cpp", "language"),
    ".hxx": ("tree_sitter_cpp", "language"),
    ".rb": ("tree_sitter_ruby", "language"),
}

# Node types that are a function or method (what a hunk inside one needs around it) ...
FUNCTIONS = frozenset({
    "function_definition", "function_declaration", "function_expression", "arrow_function", "method_definition",
    "generator_function_declaration", "method_declaration", "constructor_declaration", "function_item",
    "method", "singleton_method", "lambda_expression",
})  # fmt: skip
# ... and a class-like body, used when no function encloses the hunk.
CLASSES = frozenset({
    "class_definition", "class_declaration", "class", "module", "interface_declaration", "enum_declaration",
    "record_declaration", "impl_item", "trait_item", "struct_item", "enum_item", "class_specifier",
    "struct_specifier", "type_declaration", "abstract_class_declaration",
})  # fmt: skip
_NAME_HOLDERS = ("name", "declarator")


@dataclass(frozen=True)
class Scope:
    start: int  # first line (1-based)
    end: int  # last line
    kind: str  # "function" | "class" | "block" (the indentation heuristic)
    name: str  # "" when it has none (an anonymous function)

    def holds(self, first: int, last: int) -> bool:
        return self.start <= first and last <= self.end

    @property
    def label(self) -> str:
        return f"{self.kind} `{self.name}`" if self.name else f"anonymous {self.kind}"


@dataclass(frozen=True)
class Outline:
    """A file's structure, worked out once for all the questions a run asks of it: its scopes where a grammar
    parses it, else the indentation of its lines."""

    lines: Sequence[str]
    scopes: tuple[Scope, ...] | None  # None: no grammar for the file (the indentation heuristic answers)

    def enclosing(self, first: int, last: int) -> Scope | None:
        """The innermost function that holds lines first..last, else the innermost class, else the indented block."""
        if self.scopes is None:
            return self._layout.block(first, last)
        holding = [s for s in self.scopes if s.holds(first, last)]
        for kind in ("function", "class"):
            inner = [s for s in holding if s.kind == kind]
            if inner:
                return min(inner, key=lambda s: s.end - s.start)
        return None

    @cached_property
    def _layout(self) -> _Layout:
        return _Layout.of(self.lines)


def outline(path: str, lines: Sequence[str]) -> Outline:
    """The file at `path` (its language by its extension), parsed once."""
    return Outline(lines, scopes(path, "\n".join(lines)))


def scopes(path: str, text: str) -> tuple[Scope, ...] | None:
    """Every function and class-like scope of the file, by first line; None when no grammar for it is installed."""
    grammar = _grammar(PurePosixPath(path).suffix.lower())
    if grammar is None:
        return None
    import tree_sitter

    parser, query = grammar
    source = text.encode("utf-8", "surrogateescape")
    root = parser.parse(source).root_node
    found = [
        Scope(node.start_point[0] + 1, node.end_point[0] + 1, "function" if node.type in FUNCTIONS else "class", _name(node, source))
        for node in tree_sitter.QueryCursor(query).captures(root).get("scope", ())
        # Not the file itself (Python's root is a `module`), nor a one-line lambda.
        if node.end_point[0] > node.start_point[0] and node != root
    ]
    return tuple(sorted(found, key=lambda s: (s.start, -s.end)))


_HEADER = re.compile(r"[:{(]\s*(#.*|//.*)?$|^\s*(def|class|function|func|fn|sub|proc|module|impl|interface|struct)\b")


@dataclass(frozen=True)
class _Layout:
    """What the indentation heuristic needs of a file, worked out once: a line can be asked about many times."""

    lines: Sequence[str]
    indents: tuple[int | None, ...]  # tabs as 4 columns; None for a blank line
    headers: tuple[int, ...]  # the lines that can open a block, in order

    @classmethod
    def of(cls, lines: Sequence[str]) -> _Layout:
        indents: list[int | None] = []
        for line in lines:
            expanded = line.expandtabs(4) if "\t" in line else line
            body = expanded.lstrip()
            indents.append(len(expanded) - len(body) if body else None)
        return cls(lines, tuple(indents), tuple(n for n, line in enumerate(lines, 1) if _HEADER.search(line)))

    def block(self, first: int, last: int) -> Scope | None:
        """The block around lines first..last by indentation: the nearest less-indented header line above, to where
        the indentation comes back to it. A guess for languages without a grammar; None at the top level."""
        lines, indent = self.lines, self.indents
        if not lines or first < 1:
            return None
        depth = min((d for d in indent[first - 1 : min(last, len(lines))] if d is not None), default=0)
        if depth == 0:
            return None
        above = self.headers[: bisect.bisect_left(self.headers, first)]
        header = next((n for n in reversed(above) if (indent[n - 1] or 0) < depth), None)
        if header is None:
            return None
        level = indent[header - 1] or 0
        end = len(lines)
        for n in range(max(last, header) + 1, len(lines) + 1):
            if (d := indent[n - 1]) is not None and d <= level:
                # A closing brace or `end` at the header's level belongs to the block.
                end = n if re.match(r"\s*(}|end\b|\)|])", lines[n - 1]) else n - 1
                break
        return Scope(header, end, "block", "")


def _name(node: Any, source: bytes) -> str:
    """The declared name: a `name` field, or the identifier inside a C declarator; an arrow function's variable."""
    current = node
    for _ in range(6):
        child = next((c for f in _NAME_HOLDERS if (c := current.child_by_field_name(f)) is not None), None)
        if child is None:
            break
        if child.type.endswith("identifier") or child.type in ("constant", "operator_name", "destructor_name"):
            return source[child.start_byte : child.end_byte].decode("utf-8", "replace")
        current = child
    parent = node.parent
    if node.type == "arrow_function" or node.type == "function_expression":
        if parent is not None and parent.type in ("variable_declarator", "pair", "assignment_expression"):
            target = parent.child_by_field_name("name") or parent.child_by_field_name("key") or parent.child_by_field_name("left")
            if target is not None:
                return source[target.start_byte : target.end_byte].decode("utf-8", "replace")
    return ""


@cache
def _grammar(suffix: str) -> tuple[Any, Any] | None:
    """A parser for the extension and the query that finds its scopes, or None: no grammar for it, or its
    wheel is not installed (the indentation heuristic then)."""
    grammar = GRAMMARS.get(suffix)
    if grammar is None:
        return None
    try:
        import tree_sitter

        module = importlib.import_module(grammar[0])
    except ImportError:
        return None
    language = tree_sitter.Language(getattr(module, grammar[1])())
    kinds = sorted(k for k in FUNCTIONS | CLASSES if language.id_for_node_kind(k, True))  # a query may name only its own
    query = tree_sitter.Query(language, "[" + " ".join(f"({k})" for k in kinds) + "] @scope")
    return tree_sitter.Parser(language), query
