"""The summarize task's answer: a title, a walkthrough per file, risk notes."""

from __future__ import annotations

from dataclasses import dataclass

from reviewer.findings import extract_json
from reviewer.safe_text import inline_code, neutralise, one_line, table_cell


@dataclass(frozen=True)
class FileNote:
    path: str
    summary: str


@dataclass(frozen=True)
class Summary:
    title: str
    walkthrough: tuple[FileNote, ...]
    risks: tuple[str, ...]
    prose: str = ""  # a free-text answer, kept when the model ignored the JSON shape

    def markdown(self) -> str:
        """Safe to post: every field is the model's (paths included) and escaped for where it goes."""
        lines = [f"### {one_line(self.title)}" if self.title else "### Summary", ""]
        if self.prose:
            lines += [neutralise(self.prose), ""]
        if self.walkthrough:
            lines += ["| File | Change |", "| --- | --- |"]
            lines += [f"| {table_cell(inline_code(n.path))} | {table_cell(one_line(n.summary))} |" for n in self.walkthrough]
            lines.append("")
        if self.risks:
            lines += ["**Risks**", ""] + [f"- {one_line(r)}" for r in self.risks] + [""]
        return "\n".join(lines).rstrip() + "\n"

    def merged(self, other: Summary) -> Summary:
        prose = "\n\n".join(p for p in (self.prose, other.prose) if p)
        return Summary(self.title or other.title, self.walkthrough + other.walkthrough, self.risks + other.risks, prose)


def parse_summary(text: str) -> Summary:
    """The model's summary; prose that is not the JSON asked for is kept as the walkthrough's text."""
    document = extract_json(text, "walkthrough")
    if document is None:
        return Summary(title="", walkthrough=(), risks=(), prose=text.strip())
    notes = tuple(
        FileNote(str(item.get("path", "")), str(item.get("summary", "")).strip())
        for item in document.get("walkthrough") or []
        if isinstance(item, dict)
    )
    risks = tuple(str(r).strip() for r in document.get("risks") or [] if str(r).strip())
    return Summary(str(document.get("title") or "").strip(), notes, risks)

