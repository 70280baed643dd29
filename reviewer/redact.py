"""Secrets found in text and replaced by stable placeholders, before anything leaves the machine.

A secret becomes `[REDACTED:aws-access-key:3f9a1c]`: its kind, and six hex
digits of its SHA-256, so the same secret reads the same in every request,
finding and run (the model can still tell "the same key twice") while the
value never appears. A placeholder never holds a newline and a redaction
never removes one, so a redacted diff keeps every line where it was and
comments still land on the right line. A private key block that spans lines
is redacted line by line.

Two sources of patterns: our own (the kinds below, and `.env`-style
assignments and high-entropy strings, where noise matters most), and the
regex plugins of Yelp's detect-secrets for the token formats it keeps up
with (GitLab, Twilio, Discord, Telegram, Mailchimp, ...). Its keyword and
entropy plugins are not used: they are noisy on code and slow (see
benchmarks/redact_bench.py). Nothing here does network I/O.

A diff's hunks (and its files' names, which can hold a key too) are scanned
together, each pattern only on the lines that could hold a match, told from the
pattern itself (reviewer/prefilter.py).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import itertools
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from reviewer.known import Known

if TYPE_CHECKING:
    from reviewer.diff import Diff, FileDiff, Line
    from reviewer.prefilter import Lines, Need, Reading

# kind → how a person calls it (the finding's title says it)
LABELS: dict[str, str] = {
    "aws-access-key": "AWS access key",
    "aws-secret-key": "AWS secret key",
    "github-token": "GitHub token",
    "anthropic-key": "Anthropic API key",
    "api-key": "API key (sk-)",
    "stripe-key": "Stripe key",
    "slack-token": "Slack token",
    "slack-webhook": "Slack webhook URL",
    "google-api-key": "Google API key",
    "npm-token": "npm token",
    "pypi-token": "PyPI token",
    "sendgrid-key": "SendGrid API key",
    "private-key": "private key",
    "gcp-private-key-id": "GCP service-account key id",
    "jwt": "JSON Web Token",
    "url-password": "password in a URL",
    "azure-storage-key": "Azure storage account key",
    "secret-assignment": "secret in an assignment",
    "high-entropy": "high-entropy string (likely a secret)",
}

# Token formats: each has a prefix of its own, so one pass of one regex finds them all.
_TOKENS: tuple[tuple[str, str], ...] = (
    ("aws_access_key", r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    ("github_token", r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ("anthropic_key", r"sk-ant-[a-z]+\d*-[A-Za-z0-9_-]{20,}"),
    ("api_key", r"sk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}"),
    ("stripe_key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,}"),
    ("slack_token", r"xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,}"),
    ("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{10,}"),
    ("google_api_key", r"AIza[0-9A-Za-z_-]{35}"),
    ("npm_token", r"npm_[A-Za-z0-9]{36}\b"),
    ("pypi_token", r"pypi-AgE[A-Za-z0-9_-]{50,}"),
    ("sendgrid_key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    ("jwt", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    # A key on one line (a GCP service-account JSON holds it with \n escapes): up to its END, else the line's end.
    ("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\\[nr]|[ \t])*[A-Za-z0-9+/=]{16,}"
     r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[^\n]*)"),
)
# The lookahead names every first character above: without it the regex tries 13 alternatives at every position.
_TOKEN_FORMATS = re.compile(r"(?=[AgsrwxhnpSe-])(?<![A-Za-z0-9_-])(?:" + "|".join(f"(?P<{name}>{p})" for name, p in _TOKENS) + ")")

_SECRET_WORD = r"(?:key|key_?id|token|secret|password|passwd|pwd|(?<![a-z])pass)"
# Secrets known by where they sit: the value is group "s".
_CONTEXTS: tuple[tuple[str, int, re.Pattern[str]], ...] = tuple(
    (kind, rank, re.compile(pattern))
    for kind, rank, pattern in (
        ("aws-secret-key", 0, r"(?=[Aa])(?i:aws_?secret_?(?:access_?)?key)[\"']?[ \t]*[:=]>?[ \t]*[\"']?(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"),
        ("azure-storage-key", 0, r"(?=[AaSs])(?i:AccountKey|SharedAccessKey)=(?P<s>[A-Za-z0-9+/=]{20,})"),
        ("gcp-private-key-id", 0, r"\"private_key_id\"[ \t]*:[ \t]*\"(?P<s>[0-9a-f]{40})\""),
        ("url-password", 0, r"://[^\s:/?#@\"'<>]+:(?P<s>[^\s/?#@\"'<>]+)@"),
        # NAME = "value" in code, JSON, YAML or TOML (the name may be quoted)
        ("secret-assignment", 1, rf"(?=[KkTtSsPp])(?i:{_SECRET_WORD})\b[\"']?[ \t]*(?::=|=>|=|:)[ \t]*(?P<q>[\"'])(?P<s>[^\"'\s]{{6,}})(?P=q)"),
        # NAME=value in a .env or shell file, NAME: value in YAML: unquoted, the whole rest of the line
        ("secret-assignment", 1, rf"(?im:^[ \t]*(?:export[ \t]+|-[ \t]+)?[A-Za-z0-9_.-]*{_SECRET_WORD}(?:=|:[ \t]+)"
         r"(?P<s>[^\s\"'#]{5,}[^\s\"'#,;])[ \t]*$)"),
    )
)

# High-entropy candidates: a long run of base64/URL-safe characters that is a whole token.
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{24,256}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUIDISH = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_NOT_SECRET_BEFORE = ("sha1-", "sha256-", "sha384-", "sha512-", "base64,", "sha256:", "ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-nistp256 ")
_ENTROPY_BITS = 4.5  # per character; random base64 of 24+ characters has more, words and identifiers less

_PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9-]+:[0-9a-f]{6}\]")
_TRIVIAL = re.compile(
    r"(?i)^(?:[$%<{(\[*.-]|x{3,}|none$|null$|nil$|true$|false$|changeme|change_me|password$|secret$|example|placeholder|your[_-]|dummy|redacted|\*+$)"
)

# Lines of a multi-line private key after its BEGIN line: base64, or the headers of an encrypted PEM.
_BEGIN_BLOCK = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_END_BLOCK = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_KEY_BODY = re.compile(r"[ \t]*[+]?[ \t]*[\"'`]?(?P<s>[A-Za-z0-9+/=]{8,})(?:\\n)?[\"'`]?[ \t]*[+,;]?[ \t]*")
_KEY_HEADER = re.compile(r"[ \t]*[\"'`]?(?:Proc-Type|DEK-Info|Comment):.*|[ \t]*")
# Certificates and public keys hold long base64 lines that are not secret.
_PUBLIC_BLOCK = re.compile(r"-----(BEGIN|END) (?:[A-Z0-9]+ )*(?:CERTIFICATE|PUBLIC KEY)[A-Z ]*-----")


@dataclass(frozen=True)
class Secret:
    kind: str
    placeholder: str
    start: int  # where the value sits in the text scanned
    end: int
    continued: bool = False  # a later line of a multi-line key, or a value found elsewhere already: one finding is enough
    value: str = field(default="", repr=False, compare=False)  # kept in memory only, to mask it wherever else it shows

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind.replace("-", " "))


class _Span(NamedTuple):
    start: int
    end: int
    kind: str
    rank: int  # which kind names a value that two detectors find: token formats, assignments, detect-secrets, entropy
    continued: bool = False


def placeholder(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return f"[REDACTED:{kind}:{digest}]"


def find(text: str) -> tuple[Secret, ...]:
    """Every secret in `text`, in order, none overlapping."""
    return find_each([text])[0] if text else ()


def find_each(texts: Sequence[str], prefilter: bool | None = None) -> list[tuple[Secret, ...]]:
    """What `find` gives for each of `texts`, found in one pass of each pattern over all of them (a diff's
    hunks, say) rather than one per text. With `prefilter` (by default when there is enough text for it
    to pay), each pattern runs only on the lines that could hold a match (reviewer/prefilter.py): the
    same secrets, several times faster.

    A value found once is a secret wherever else it shows in any of `texts`, though nothing marks it
    there (`password = "…"` on one line, the same value passed bare on another, or in a file's name).
    """
    if not texts:
        return []
    scan = _Scan.of(texts, len(texts) + sum(map(len, texts)) >= _PREFILTER_FROM if prefilter is None else prefilter)
    spans = sorted([*_specific(scan), *_key_blocks(scan), *_high_entropy(scan), *_detect_secrets(scan)], key=_priority)
    kept = _kept(scan, spans)
    repeats = list(_repeats(scan, kept))
    found: list[list[Secret]] = [[] for _ in texts]
    for span in _kept(scan, sorted([*kept, *repeats], key=_priority)) if repeats else kept:
        index, start = scan.local(span.start)
        value = texts[index][start : start + span.end - span.start]
        found[index].append(Secret(span.kind, placeholder(span.kind, value), start, start + len(value), span.continued, value))
    return [tuple(secrets) for secrets in found]


_PREFILTER_FROM = 2_000  # characters; below, finding the lines takes longer than running the patterns on all of them


def _kept(scan: _Scan, spans: list[_Span]) -> list[_Span]:
    """The spans that are secrets, in text order: the better detector's where two overlap."""
    starts: list[int] = []  # of the spans kept, in text order
    ends: list[int] = []
    kinds: dict[int, _Span] = {}
    for span in spans:
        at = bisect.bisect_right(starts, span.start)
        if (at and ends[at - 1] > span.start) or (at < len(starts) and starts[at] < span.end):
            continue  # overlaps a span a better detector found
        index, start = scan.local(span.start)
        value = scan.texts[index][start : start + span.end - span.start]
        if "\n" in value or _PLACEHOLDER.fullmatch(value) or _repetitive(value):
            continue
        starts.insert(at, span.start)
        ends.insert(at, span.end)
        kinds[span.start] = span
    return [kinds[start] for start in starts]


def _repeats(scan: _Scan, kept: Sequence[_Span]) -> Iterator[_Span]:
    """Each place in the texts that shows the value of a span kept, as a span of its kind that yields to any other."""
    kinds: dict[str, str] = {}
    for span in kept:
        index, start = scan.local(span.start)
        kinds.setdefault(scan.texts[index][start : start + span.end - span.start], span.kind)
    values = Known(kinds)
    for index, text in enumerate(scan.texts if values else ()):
        for start, end, value in values.spans(text):
            yield _Span(scan.starts[index] + start, scan.starts[index] + end, kinds[value], _REPEAT_RANK, continued=True)


_REPEAT_RANK = 4  # below every detector: where one finds a span, it is that one's


@dataclass(frozen=True)
class _Scan:
    """Texts scanned together. Offsets are those of the texts joined by line breaks (no secret spans one). With the
    prefilter, a line-local pattern runs once, on the lines of all texts that could hold a match; any other pattern,
    and every pattern without the prefilter, runs on each text whole, as `find` on it alone would."""

    texts: Sequence[str]
    starts: tuple[int, ...]  # where each text begins
    lines: Lines | None  # with the prefilter

    @classmethod
    def of(cls, texts: Sequence[str], prefilter: bool) -> _Scan:
        from reviewer.prefilter import Lines

        starts = tuple(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        return cls(texts, starts, Lines(texts) if prefilter else None)

    def index(self, offset: int) -> int:
        """Which text an offset lies in."""
        return bisect.bisect_right(self.starts, offset) - 1

    def local(self, offset: int) -> tuple[int, int]:
        """Which text an offset lies in, and where in it."""
        index = self.index(offset)
        return index, offset - self.starts[index]

    def matches(self, pattern: re.Pattern[str]) -> Iterator[tuple[re.Match[str], int]]:
        """Each match of `pattern` in the texts, and what to add to its offsets to place it in `text`."""
        reading = self._reading([pattern])
        if self.lines is not None and reading.line_local:
            for part in (self.lines.part(reading.need), self.lines.wide):
                for match in pattern.finditer(part.text) if part.origins else ():
                    yield match, part.origin(match.start()) - match.start()
            return
        for index in self._holding(reading.need):
            for match in pattern.finditer(self.texts[index]):
                yield match, self.starts[index]

    def found(self, patterns: Iterable[re.Pattern[str]], analyze: Callable[[str], Iterable[str]]) -> set[tuple[int, str]]:
        """Each value `analyze` (a scan with `patterns`) finds, and the index of the text it finds it in."""
        reading = self._reading(patterns)
        if self.lines is None or not reading.line_local or reading.need is None:
            return {(index, value) for index in self._holding(reading.need) for value in analyze(self.texts[index])}
        # Line-local: the lines that could hold a match, scanned at once, find what each text would. Only when
        # something is found are those lines scanned again text by text, to tell which text found what.
        parts = [part for part in (self.lines.part(reading.need), self.lines.wide) if part.origins]
        values = {value for part in parts for value in analyze(part.text)}
        found: set[tuple[int, str]] = set()
        for part in parts if values else ():
            lines = zip(part.origins, part.text.split("\n"), strict=True)
            for index, group in itertools.groupby(lines, key=lambda line: self.index(line[0])):
                piece = "\n".join(line for _, line in group)
                if any(value in piece for value in values):
                    found.update((index, value) for value in analyze(piece))
        return found

    def containing(self, word: str) -> Iterator[int]:
        """The texts `word` is in."""
        return (index for index, text in enumerate(self.texts) if word in text)

    def _reading(self, patterns: Iterable[re.Pattern[str]]) -> Reading:
        from reviewer.prefilter import Reading, read

        return read(patterns) if self.lines is not None else Reading(None, line_local=False)

    def _holding(self, need: Need | None) -> Iterable[int]:
        if self.lines is None or need is None:
            return range(len(self.texts))
        return sorted({self.index(start) for start in self.lines.starts(need)})


def _priority(span: _Span) -> tuple[int, int, int]:
    """Better detectors first; among equals, the earlier and longer span."""
    return (span.rank, span.start, span.start - span.end)


def redact(text: str, known: Mapping[str, str] | Known | None = None) -> str:
    """`text` with every secret replaced; `known` (value → placeholder: secrets found elsewhere, such as
    a password that only its context marked as one) replaced wherever it appears. Pass a `Known` to
    redact many texts with many values: it is made once."""
    text = Known.of(known).masked(text)
    return apply(text, find(text))


def redact_each(texts: Sequence[str], known: Mapping[str, str] | Known | None = None) -> list[str]:
    """What `redact` gives for each of `texts` (short and many, such as file names), all scanned in one pass."""
    values = Known.of(known)
    masked = [values.masked(text) for text in texts]
    return [apply(text, secrets) for text, secrets in zip(masked, find_each(masked), strict=True)]


def apply(text: str, secrets: Sequence[Secret]) -> str:
    out, at = [], 0
    for secret in secrets:
        out += [text[at : secret.start], secret.placeholder]
        at = secret.end
    out.append(text[at:])
    return "".join(out)


def _specific(scan: _Scan) -> Iterator[_Span]:
    for match, shift in scan.matches(_TOKEN_FORMATS):
        kind = str(match.lastgroup).replace("_", "-")
        yield _Span(match.start() + shift, match.end() + shift, kind, 0)
    for kind, rank, pattern in _CONTEXTS:
        for match, shift in scan.matches(pattern):
            start, end = match.span("s")
            value = match.group("s")
            if kind == "url-password" and _TRIVIAL.match(value):
                continue
            if kind == "secret-assignment" and not _non_trivial(value):
                continue
            yield _Span(start + shift, end + shift, kind, rank)


def _repetitive(value: str) -> bool:
    """`xxxxxxxx`, `00000000`: a documented shape, not a secret."""
    return re.search(r"(.)\1{7}", value) is not None


def _non_trivial(value: str) -> bool:
    """A literal worth hiding: not empty, a reference ($VAR, {{ x }}, <x>), a placeholder, or a plain name."""
    if _TRIVIAL.match(value) or _PLACEHOLDER.search(value) or any(c in value for c in "([{<$"):
        return False
    return re.fullmatch(r"[A-Za-z_.-]+", value) is None  # a plain name is a reference in code


def _key_blocks(scan: _Scan) -> Iterator[_Span]:
    for index in scan.containing("PRIVATE KEY"):
        for span in _key_blocks_in(scan.texts[index]):
            yield span._replace(start=span.start + scan.starts[index], end=span.end + scan.starts[index])


def _key_blocks_in(text: str) -> Iterator[_Span]:
    """A private key over several lines: its BEGIN marker, then each line of it, each its own span.

    A BEGIN marker that no key material follows (code that looks for one) is left alone.
    """
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    inside = False
    for number, line in enumerate(lines):
        offset = offsets[number]
        if inside:
            end = _END_BLOCK.search(line)
            body = _KEY_BODY.fullmatch(line)
            if end:
                yield _Span(offset + end.start(), offset + end.end(), "private-key", 0, continued=True)
                inside = False
            elif body:
                yield _Span(offset + body.start("s"), offset + body.end("s"), "private-key", 0, continued=True)
            elif not _KEY_HEADER.fullmatch(line):
                inside = False
            continue
        begin = _BEGIN_BLOCK.search(line)
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if begin and line[begin.end() :].strip(" \t\"'`+,;") == "" and (
            _KEY_BODY.fullmatch(following) or following.lstrip(" \t\"'`").startswith(("Proc-Type:", "Comment:"))
        ):
            yield _Span(offset + begin.start(), offset + begin.end(), "private-key", 0)
            inside = True


def _high_entropy(scan: _Scan) -> Iterator[_Span]:
    public = {scan.starts[i] + start for i in scan.containing("-----BEGIN") for start in _public_block_lines(scan.texts[i])}
    for match, shift in scan.matches(_TOKEN):
        token, start = match.group(), match.start() + shift
        index, at = scan.local(start)
        text = scan.texts[index]
        if public and scan.starts[index] + text.rfind("\n", 0, at) + 1 in public:
            continue
        if token.startswith(_NOT_SECRET_BEFORE) or text[max(0, at - 20) : at].endswith(_NOT_SECRET_BEFORE):
            continue
        if _looks_random(token):
            yield _Span(start, start + len(token), "high-entropy", 3)


def _looks_random(token: str) -> bool:
    """Random key material, not a hash (hex), UUID, path, identifier or base64 of text."""
    if _HEX.fullmatch(token) or _UUIDISH.search(token) or token.count("/") > 2:
        return False
    if not (any(c.isdigit() for c in token) and any(c.isupper() for c in token) and any(c.islower() for c in token)):
        return False
    if _entropy(token) < _ENTROPY_BITS:
        return False
    return not _base64_of_text(token)


def _entropy(token: str) -> float:
    counts: dict[str, int] = {}
    for char in token:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def _base64_of_text(token: str) -> bool:
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) > 0 and sum(32 <= b < 127 or b in (9, 10, 13) for b in raw) / len(raw) > 0.95


def _public_block_lines(text: str) -> set[int]:
    """Where each line inside a certificate or public-key block begins."""
    lines: set[int] = set()
    inside, at = False, 0
    for line in text.split("\n"):
        marker = _PUBLIC_BLOCK.search(line)
        if marker:
            inside = marker.group(1) == "BEGIN"
        elif inside:
            lines.add(at)
        at += len(line) + 1
    return lines


# detect-secrets plugins left out: ours do better (a BEGIN marker alone is no key), an address is not a
# secret, and the keyword-assignment ones for niche services cost ~0.5 s per 2 MB between them
# (benchmarks/redact_bench.py) while our secret-assignment rule finds `cloudant_password = "..."` too.
_UNUSED_PLUGINS = frozenset(
    {"PrivateKeyDetector", "IPPublicDetector", "ArtifactoryDetector", "CloudantDetector", "IbmCloudIamDetector",
     "IbmCosHmacDetector", "SoftlayerDetector"}
)  # fmt: skip


_MAKING_PLUGINS = threading.Lock()


def prepare() -> None:
    """Import detect-secrets and make its detectors now (~0.1 s), not at the first scan: reviewer.read_ahead does, on a thread."""
    _plugins()


def _plugins() -> tuple[tuple[Any, str], ...]:
    with _MAKING_PLUGINS:  # once, whoever asks first
        return _made_plugins()


@lru_cache(maxsize=1)
def _made_plugins() -> tuple[tuple[Any, str], ...]:
    """detect-secrets' regex detectors and the kind each finds, made once (~0.1 s with the import: at the first scan, or ahead by read_ahead)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    classes: list[type] = list(get_mapping_from_secret_type_to_class().values())
    plugins = [cls() for cls in classes if issubclass(cls, RegexBasedDetector) and cls.__name__ not in _UNUSED_PLUGINS]
    return tuple((plugin, re.sub(r"[^a-z0-9]+", "-", str(plugin.secret_type).lower()).strip("-")) for plugin in plugins)


def _detect_secrets(scan: _Scan) -> Iterator[_Span]:
    """Each value a plugin finds in a text, wherever it appears in that text.

    Where its patterns are line-local, a plugin is given only the lines that could hold a match (as
    detect-secrets itself scans a line at a time): it finds there what it finds in the whole text.
    """
    for plugin, kind in _plugins():
        for index, value in sorted(scan.found(plugin.denylist, plugin.analyze_string)):
            if len(value) < 8 or "\n" in value:
                continue
            text, offset = scan.texts[index], scan.starts[index]
            at = text.find(value)
            while at != -1:
                yield _Span(offset + at, offset + at + len(value), kind, 2)
                at = text.find(value, at + len(value))


# --- diffs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exposed:
    """A secret in the diff: where, and what kind (never its value). On a line, or in the name of file `path`."""

    path: str
    line: Line | None  # redacted; None for a secret in the file's name (or in its name before a rename or copy)
    secret: Secret
    new_name: bool = False  # in the name this change gives the file (added, renamed or copied to): committed by it


def known_values(exposed: Sequence[Exposed]) -> dict[str, str]:
    """The values of secrets found, to their placeholders: `redact(text, known)` masks them wherever else they show."""
    return values_of(e.secret for e in exposed)


def values_of(secrets: Iterable[Secret]) -> dict[str, str]:
    """The values of `secrets`, to their placeholders."""
    return {secret.value: secret.placeholder for secret in secrets if secret.value}


def redact_lines(lines: Sequence[str]) -> tuple[list[str], list[tuple[int, Secret]]]:
    """Each line redacted, and each secret with the index of its line; scanned as one text, so a key block is seen whole."""
    return _by_line(lines, find("\n".join(lines)))


def _by_line(lines: Sequence[str], secrets: Sequence[Secret]) -> tuple[list[str], list[tuple[int, Secret]]]:
    """`lines` with `secrets` (found in them joined by line breaks) masked, and each secret with the index of its line."""
    if not secrets:
        return list(lines), []
    starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    by_line: dict[int, list[Secret]] = {}
    for secret in secrets:
        index = bisect.bisect_right(starts, secret.start) - 1
        shifted = replace(secret, start=secret.start - starts[index], end=secret.end - starts[index])
        by_line.setdefault(index, []).append(shifted)
    out = [apply(line, by_line[i]) if i in by_line else line for i, line in enumerate(lines)]
    return out, [(i, s) for i, found in sorted(by_line.items()) for s in found]


def scan_diff(diff: Diff) -> list[tuple[Secret, ...]]:
    """The secrets in each of a diff's hunks, then in each file's names, then in each hunk's section: what
    `redact_diff` masks, found apart (reviewer.forked finds them in a second process)."""
    hunks_text = ["\n".join(line.text for line in hunk.lines) for file in diff.files for hunk in file.hunks]
    names = [name for file in diff.files for name in (file.path, file.old_path or "")]
    # The text git prints after a hunk's second @@: a line of the old file (the enclosing function's, or any
    # line without a diff driver), shown to the model in the hunk header; masked, not reported (it is not new).
    sections = [hunk.section for file in diff.files for hunk in file.hunks]
    return find_each([*hunks_text, *names, *sections])


def redact_diff(diff: Diff, scanned: Sequence[tuple[Secret, ...]] | None = None) -> tuple[Diff, tuple[Exposed, ...]]:
    """The diff with every line's text redacted (same files, hunks, lines and numbers), and what was found where.

    A file's names can hold a secret too (`leaked/AKIA….txt`): they are scanned in the same pass as the
    lines, and the redacted ones set as the names prompts and our output show (`FileDiff.name`).
    `scanned` is `scan_diff(diff)` where it was run already.
    """
    from reviewer.diff import FileStatus

    scanned = scan_diff(diff) if scanned is None else scanned
    hunk_count, name_count = sum(len(file.hunks) for file in diff.files), 2 * len(diff.files)
    found = iter(scanned[:hunk_count])
    found_in_names = iter(scanned[hunk_count : hunk_count + name_count])
    found_in_sections = iter(scanned[hunk_count + name_count :])
    files: list[FileDiff] = []
    exposed: list[Exposed] = []
    for file in diff.files:
        kept = []
        for hunk in file.hunks:
            secrets, in_section = next(found), next(found_in_sections)
            if in_section:
                hunk = replace(hunk, section=apply(hunk.section, in_section))
            if not secrets:
                kept.append(hunk)
                continue
            texts, placed = _by_line([line.text for line in hunk.lines], secrets)
            lines = tuple(replace(line, text=text) for line, text in zip(hunk.lines, texts, strict=True))
            exposed += [Exposed(file.path, lines[i], secret) for i, secret in placed]
            kept.append(replace(hunk, lines=lines))
        in_path, in_old_path = next(found_in_names), next(found_in_names)
        new_name = file.status in (FileStatus.ADDED, FileStatus.RENAMED, FileStatus.COPIED)
        exposed += [Exposed(file.path, None, secret, new_name) for secret in in_path]
        exposed += [Exposed(file.path, None, secret) for secret in in_old_path]
        shown_path, shown_old_path = _shown_name(file.path, in_path), _shown_name(file.old_path, in_old_path)
        files.append(replace(file, hunks=tuple(kept), shown_path=shown_path, shown_old_path=shown_old_path))
    return replace(diff, files=tuple(files)), tuple(exposed)


def _shown_name(name: str | None, secrets: Sequence[Secret]) -> str | None:
    """`name` as prompts and our output show it, when that differs from the name (a secret in it); else None."""
    shown = apply(name, secrets) if name else name
    return shown if shown != name else None
