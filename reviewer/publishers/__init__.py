"""Where results go: one publisher module per `--format`, found through a registry of import paths.

Every publisher of a review keeps one contract (`Publisher`): the review in, the text for stdout out,
and the same render options for all. A module is imported only when its format is asked for. To add a
format, write a module with such a `render` and name it in FORMATS; the commands' `--format` choices
follow. The `--dry-run` plan and `reviewer eval` report render other data, so they stay apart.
"""

# No `from __future__ import annotations` here: it would bind the name `annotations` in this package,
# and `from reviewer.publishers import annotations` would then get that instead of the submodule.
import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reviewer.review import Review


class Publisher(Protocol):
    def __call__(self, review: "Review", *, colour: bool = False) -> str:
        """The review as this format's text. `colour`: the output is a terminal that may be styled."""
        ...


# format name → "module:attribute"
FORMATS: dict[str, str] = {
    "text": "reviewer.publishers.terminal:render",
    "json": "reviewer.publishers.json:render",
    "markdown": "reviewer.publishers.markdown:render",
    "sarif": "reviewer.publishers.sarif:render",
    "github": "reviewer.publishers.annotations:render",
}
ALL_FORMATS = tuple(FORMATS)


def publisher(output_format: str) -> Publisher:
    module_name, _, attr = FORMATS[output_format].partition(":")
    render: Publisher = getattr(importlib.import_module(module_name), attr)
    return render


def render(review: "Review", output_format: str, *, colour: bool = False) -> str:
    """The review in one of ALL_FORMATS."""
    return publisher(output_format)(review, colour=colour)
