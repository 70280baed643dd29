"""Where the functions, methods and classes of a source file begin and end.

A real parser (tree-sitter, one official grammar wheel per language, all
compiled in: nothing is downloaded at run time) for Python, JavaScript,
TypeScript, Go, Java, Rust, C, C++ and Ruby; elsewhere an indentation
heuristic that finds the block a line sits in. Lines are 1-based, as a diff
numbers them.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache, lru_cache
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


def language_of(path: str) -> str | None:
    """The grammar module for `path`, or None where only the indentation heuristic applies."""
    grammar = GRAMMARS.get(PurePosixPath(path).suffix.lower())
    return grammar[0] if grammar else None


@lru_cache(maxsize=32)  # a file is asked about once per hunk
def scopes(path: str, text: str) -> tuple[Scope, ...] | None:
    """Every function and class-like scope of the file, by first line; None when no grammar for it is installed."""
    parser = _parser(PurePosixPath(path).suffix.lower())
    if parser is None:
        return None
    source = text.encode("utf-8", "surrogateescape")
    tree = parser.parse(source)
    found: list[Scope] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        kind = "function" if node.type in FUNCTIONS else "class" if node.type in CLASSES else None
        if kind is not None and node.end_point[0] > node.start_point[0]:
            found.append(Scope(node.start_point[0] + 1, node.end_point[0] + 1, kind, _name(node, source)))
        stack.extend(reversed(node.children))
    return tuple(sorted(found, key=lambda s: (s.start, -s.end)))


def enclosing(path: str, text: str, first: int, last: int) -> Scope | None:
    """The innermost function that holds lines first..last, else the innermost class, else the indented block."""
    parsed = scopes(path, text)
    if parsed is not None:
        holding = [s for s in parsed if s.holds(first, last)]
        for kind in ("function", "class"):
            inner = [s for s in holding if s.kind == kind]
            if inner:
                return min(inner, key=lambda s: s.end - s.start)
        return None
    return indented_block(text.splitlines(), first, last)


_HEADER = re.compile(r"[:{(]\s*(#.*|//.*)?$|^\s*(def|class|function|func|fn|sub|proc|module|impl|interface|struct)\b")


def indented_block(lines: list[str], first: int, last: int) -> Scope | None:
    """The block around lines first..last by indentation: the nearest less-indented header line above, to where
    the indentation comes back to it. A guess for languages without a grammar; None at the top level."""
    if not lines or first < 1:
        return None
    depth = min((_indent(lines[n - 1]) for n in range(first, min(last, len(lines)) + 1) if lines[n - 1].strip()), default=0)
    if depth == 0:
        return None
    header = next(
        (n for n in range(first - 1, 0, -1) if lines[n - 1].strip() and _indent(lines[n - 1]) < depth and _HEADER.search(lines[n - 1])),
        None,
    )
    if header is None:
        return None
    level = _indent(lines[header - 1])
    end = len(lines)
    for n in range(max(last, header) + 1, len(lines) + 1):
        if lines[n - 1].strip() and _indent(lines[n - 1]) <= level:
            # A closing brace or `end` at the header's level belongs to the block.
            end = n if re.match(r"\s*(}|end\b|\)|])", lines[n - 1]) else n - 1
            break
    return Scope(header, end, "block", "")


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


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
def _parser(suffix: str) -> Any:
    """A parser for the extension, or None: no grammar for it, or its wheel is not installed (the heuristic then)."""
    grammar = GRAMMARS.get(suffix)
    if grammar is None:
        return None
    try:
        import tree_sitter

        module = importlib.import_module(grammar[0])
    except ImportError:
        return None
    return tree_sitter.Parser(tree_sitter.Language(getattr(module, grammar[1])()))
