"""Secret redaction: each kind found and masked, placeholders stable, line structure kept, noise left alone."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from reviewer.backends.agent_cli import review_tree
from reviewer.config import from_mapping, redact_url
from reviewer.diff import parse_diff
from reviewer.filters import SECRET_FILE_REASON, select
from reviewer.findings import Finding
from reviewer.placement import place
from reviewer.redact import find, placeholder, redact, redact_diff
from reviewer.review import Review, redact_review, secret_findings
from reviewer.summary import FileNote, Summary
from reviewer.vocabulary import Usage
from tests import secret_values as s
from tests.conftest import GitRepo

KINDS = [
    ("aws-access-key", f"aws_access_key_id = {s.AWS_ACCESS_KEY}", s.AWS_ACCESS_KEY),
    ("aws-secret-key", f"AWS_SECRET_ACCESS_KEY={s.AWS_SECRET_KEY}", s.AWS_SECRET_KEY),
    ("github-token", f'client = Github("{s.GITHUB_TOKEN}")', s.GITHUB_TOKEN),
    ("github-token", f"export GH={s.GITHUB_PAT}", s.GITHUB_PAT),
    ("api-key", f"openai.api_key = '{s.OPENAI_KEY}'", s.OPENAI_KEY),
    ("anthropic-key", f"key: {s.ANTHROPIC_KEY}", s.ANTHROPIC_KEY),
    ("api-key", f"DEEPSEEK={s.DEEPSEEK_KEY}", s.DEEPSEEK_KEY),
    ("stripe-key", f'stripe.api_key = "{s.STRIPE_KEY}"', s.STRIPE_KEY),
    ("stripe-key", f"STRIPE={s.STRIPE_RESTRICTED}", s.STRIPE_RESTRICTED),
    ("slack-token", f"SLACK={s.SLACK_TOKEN}", s.SLACK_TOKEN),
    ("slack-webhook", f'post("{s.SLACK_WEBHOOK}", data)', s.SLACK_WEBHOOK),
    ("google-api-key", f'maps_key = "{s.GOOGLE_KEY}"', s.GOOGLE_KEY),
    ("npm-token", f"//registry.npmjs.org/:_authToken={s.NPM_TOKEN}", s.NPM_TOKEN),
    ("pypi-token", f"password = {s.PYPI_TOKEN}", s.PYPI_TOKEN),
    ("sendgrid-key", f"sg = SendGridAPIClient('{s.SENDGRID_KEY}')", s.SENDGRID_KEY),
    ("jwt", f"Authorization: Bearer {s.JWT}", s.JWT),
    ("url-password", f"DATABASE_URL=postgres://app:{s.DB_PASSWORD}@db:5432/app", s.DB_PASSWORD),
    ("azure-storage-key", f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={s.AZURE_KEY};EndpointSuffix=x", s.AZURE_KEY),
    ("secret-assignment", f"DB_PASSWORD={s.DB_PASSWORD}", s.DB_PASSWORD),
    ("secret-assignment", "export SMTP_PASS=x7Gh2kLq", "x7Gh2kLq"),
    ("secret-assignment", f'    "client_secret": "{s.DB_PASSWORD}",', s.DB_PASSWORD),
    ("gcp-private-key-id", f'  "private_key_id": "{s.GCP_KEY_ID}",', s.GCP_KEY_ID),
    ("private-key", '  "private_key": "-----BEGIN PRIVATE KEY-----\\n' + s.PEM_BODY[0] + '\\n-----END PRIVATE KEY-----\\n",', s.PEM_BODY[0]),
    ("high-entropy", f'SIGNING = "{s.HIGH_ENTROPY}"', s.HIGH_ENTROPY),
]


@pytest.mark.parametrize(("kind", "line", "value"), KINDS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(KINDS)])
def test_each_kind_is_found_and_its_value_hidden(kind: str, line: str, value: str) -> None:
    [secret] = find(line)
    found = line[secret.start : secret.end]
    assert secret.kind == kind and value in found
    assert redact(line) == line[: secret.start] + placeholder(kind, found) + line[secret.end :]
    assert value not in redact(line)


def test_the_placeholder_is_stable_and_tells_secrets_apart() -> None:
    one = redact(f"a = '{s.STRIPE_KEY}'")
    again = redact(f"other = '{s.STRIPE_KEY}'  # same key, another line")
    assert one.split("'")[1] == again.split("'")[1] == placeholder("stripe-key", s.STRIPE_KEY)
    assert placeholder("stripe-key", s.STRIPE_KEY) != placeholder("stripe-key", s.STRIPE_RESTRICTED)
    text = "\n".join(line for _, line, _ in KINDS)
    assert redact(redact(text)) == redact(text)  # a placeholder is never taken for a secret


def test_a_redaction_never_adds_or_removes_a_line() -> None:
    text = "\n".join(["config = {", *(line for _, line, _ in KINDS), "}", "key = '''", s.PEM, "'''", "after = 1", ""])
    redacted = redact(text)
    assert redacted.count("\n") == text.count("\n")
    lines = redacted.split("\n")
    begin = lines.index("key = '''") + 1
    # The key block is masked line by line: the marker, each line of key material, the end marker.
    assert all(line.startswith("[REDACTED:private-key:") for line in lines[begin : begin + 5])
    assert lines[begin + 5 :] == ["'''", "after = 1", ""]
    assert all(value not in redacted for *_, value in KINDS)
    assert all(part not in redacted for part in s.PEM_BODY)


def test_what_is_not_a_secret_is_left_alone() -> None:
    noise = [
        'sha = "d670460b4b4aece5915caf5c68d12f560a9fe3e4"',  # a git SHA
        "digest = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # a SHA-256
        'id = "123e4567-e89b-12d3-a456-426614174000"',  # a UUID
        "value = compute_something_long_name(argument_one, argument_two)",
        f'banner = "{base64.b64encode(b"plain text, base64 encoded for a header").decode()}"',
        'integrity="sha512-' + s.rand(86, seed=40) + '=="',  # a lock file's checksum
        "api_key: SecretStr",
        "CACHE_KEY = DEFAULT_CACHE_KEY",
        "token=token,",
        "TOKEN=${GITHUB_TOKEN}",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "password: changeme",
        "API_KEY=xxxxxxxx",
        'START = b"-----BEGIN OPENSSH PRIVATE KEY-----"',  # code that looks for a key is no key
        "-----BEGIN CERTIFICATE-----",
        s.rand(64, seed=41),  # a certificate's body is public
        "-----END CERTIFICATE-----",
    ]
    text = "\n".join(noise)
    assert find(text) == ()
    assert redact(text) == text


def test_a_caught_high_entropy_string_next_to_a_sha_that_is_not() -> None:
    line = f'build(sha="d670460b4b4aece5915caf5c68d12f560a9fe3e4", nonce="{s.HIGH_ENTROPY}")'
    [secret] = find(line)
    assert secret.kind == "high-entropy"
    assert redact(line) == f'build(sha="d670460b4b4aece5915caf5c68d12f560a9fe3e4", nonce="{placeholder("high-entropy", s.HIGH_ENTROPY)}")'


DIFF = f"""diff --git a/settings.py b/settings.py
index 1111111..2222222 100644
--- a/settings.py
+++ b/settings.py
@@ -1,4 +1,10 @@
 import os
-KEY = os.environ["AWS_KEY"]
+KEY = "{s.AWS_ACCESS_KEY}"
+DEPLOY = '''
{"".join("+" + line + chr(10) for line in s.PEM.splitlines())}+'''
-- a removed line that starts with two dashes {s.GITHUB_TOKEN}
 DEBUG = False
"""


def test_redact_diff_keeps_every_line_and_number_and_reports_where() -> None:
    diff = parse_diff(DIFF)
    redacted, exposed = redact_diff(diff)
    [before], [after] = diff.files, redacted.files
    old_lines = [(line.kind, line.old_no, line.new_no) for h in before.hunks for line in h.lines]
    assert [(line.kind, line.old_no, line.new_no) for h in after.hunks for line in h.lines] == old_lines
    texts = "\n".join(line.text for h in after.hunks for line in h.lines)
    assert s.AWS_ACCESS_KEY not in texts and s.GITHUB_TOKEN not in texts and s.PEM_BODY[1] not in texts
    assert [(e.path, e.line.kind, e.line.new_no, e.secret.kind, e.secret.continued) for e in exposed][:3] == [
        ("settings.py", "+", 2, "aws-access-key", False),
        ("settings.py", "+", 4, "private-key", False),
        ("settings.py", "+", 5, "private-key", True),
    ]
    findings = secret_findings(exposed)
    # One finding per secret on an added line: the key block once, the removed line's token not at all.
    assert [(f.line, f.severity, f.category, f.title) for f in findings] == [
        (2, "critical", "security", "Secret committed: AWS access key"),
        (4, "critical", "security", "Secret committed: private key"),
    ]
    assert all(s.AWS_ACCESS_KEY not in f.body and "rotate" in f.body for f in findings)
    # Placed on the redacted diff: anchored on the line, a fingerprint that is the same next run.
    placed = place(findings, redacted)
    assert all(p.anchored for p in placed)
    assert [p.fingerprint for p in placed] == [p.fingerprint for p in place(secret_findings(redact_diff(parse_diff(DIFF))[1]), redacted)]


def test_names_are_redacted_with_the_lines_and_reported_where_the_change_gives_them() -> None:
    """An added file named by a key, and a rename away from a name that held a token (not committed by this change)."""
    leaked, renamed = f"leaked/{s.AWS_ACCESS_KEY}.txt", f"{s.GITHUB_TOKEN}.txt"
    raw = (
        f"diff --git a/{leaked} b/{leaked}\nnew file mode 100644\n--- /dev/null\n+++ b/{leaked}\n@@ -0,0 +1,2 @@\n+x = 1\n+y = 2\n"
        f"diff --git a/{renamed} b/kept.txt\nsimilarity index 100%\nrename from {renamed}\nrename to kept.txt\n"
    )
    diff = parse_diff(raw)
    redacted, exposed = redact_diff(diff)
    shown = f"leaked/{placeholder('aws-access-key', s.AWS_ACCESS_KEY)}.txt"
    assert [(f.path, f.old_path, f.name, f.old_name) for f in redacted.files] == [
        (leaked, None, shown, None),
        ("kept.txt", renamed, "kept.txt", f"{placeholder('github-token', s.GITHUB_TOKEN)}.txt"),
    ]
    assert redacted == diff  # the same files: a name as shown is no part of a file's identity
    assert [(e.path, e.line, e.secret.kind, e.new_name) for e in exposed] == [(leaked, None, "aws-access-key", True), ("kept.txt", None, "github-token", False)]
    findings = secret_findings(exposed)
    assert [(f.path, f.line, f.severity, f.title) for f in findings] == [(leaked, 1, "critical", "Secret committed: AWS access key in the file name")]
    assert s.AWS_ACCESS_KEY not in findings[0].body and "Name the file without it." in findings[0].body
    # A finding cites the file by its path or by the name it was shown: either lands on line 1 of that file.
    placed = place([*findings, Finding(shown, 2, "RIGHT", "major", "bug", "y", "")], redacted)
    assert [(p.finding.path, p.path, p.finding.line, p.anchored) for p in placed] == [(shown, leaked, 1, True), (shown, leaked, 2, True)]
    assert s.AWS_ACCESS_KEY not in repr([p.finding for p in placed])


def test_files_that_hold_secrets_by_name_are_skipped_with_a_reason_always() -> None:
    paths = [".env", "deploy/.env.production", ".env.example", "certs/server.pem", "id_rsa", "id_rsa.pub", "credentials.json", "app.py"]
    raw = "".join(f"diff --git a/{p} b/{p}\nnew file mode 100644\n--- /dev/null\n+++ b/{p}\n@@ -0,0 +1 @@\n+x = 1\n" for p in paths)
    selection = select(parse_diff(raw), skip_generated=False)
    assert {k.path: k.reason for k in selection.skipped} == {
        p: SECRET_FILE_REASON for p in (".env", "deploy/.env.production", "certs/server.pem", "id_rsa", "credentials.json")
    }
    assert [f.path for f in selection.files] == [".env.example", "id_rsa.pub", "app.py"]  # templates and public keys are reviewed


def test_urls_are_shown_without_a_key_anywhere_in_them() -> None:
    shown = redact_url(f"https://bob:{s.DB_PASSWORD}@proxy.example/{s.OPENAI_KEY}/v1;key={s.DEEPSEEK_KEY}?api_key={s.GOOGLE_KEY}#t={s.GITHUB_TOKEN}")
    assert shown == "https://bob:***@proxy.example/***/v1;key=***?api_key=***#***"
    assert redact_url(f"https://gw.example/{s.rand(32, '0123456789abcdef', seed=30)}/v1") == "https://gw.example/***/v1"
    for plain in ("https://api.deepseek.com", "http://127.0.0.1:8000/v1", "https://x.openai.azure.com/openai/deployments/gpt-4o"):
        assert redact_url(plain) == plain


def test_a_review_is_redacted_everywhere_it_carries_text() -> None:
    finding = Finding("a.py", 1, "RIGHT", "major", "security", f"Key {s.GITHUB_TOKEN} in code", f"Remove `{s.AWS_ACCESS_KEY}`.", suggestion=f'KEY = "{s.STRIPE_KEY}"')
    review = Review(
        findings=place([finding], parse_diff("")),
        summary=Summary(f"adds {s.SLACK_TOKEN}", (FileNote("a.py", s.NPM_TOKEN),), (f"leaks {s.JWT}",), s.SENDGRID_KEY),
        usage=Usage(),
        cost_usd=0.0,
        skipped=(),
        errors=(f"backend 'x': cannot reach https://proxy.example/{s.OPENAI_KEY}/v1",),
        notes=(f"note {s.ANTHROPIC_KEY}",),
        description=f"PR body with {s.DEEPSEEK_KEY}",
    )
    redacted = redact_review(review)
    dumped = repr(redacted)
    assert all(value not in dumped for value in (s.GITHUB_TOKEN, s.AWS_ACCESS_KEY, s.STRIPE_KEY, s.SLACK_TOKEN, s.NPM_TOKEN, s.JWT, s.SENDGRID_KEY, s.OPENAI_KEY, s.ANTHROPIC_KEY, s.DEEPSEEK_KEY))
    assert redacted.findings[0].finding.suggestion is None  # a suggestion is code: a placeholder in it would break the file
    assert placeholder("github-token", s.GITHUB_TOKEN) in redacted.findings[0].finding.title


def test_the_agents_copy_of_the_checkout_holds_no_secret(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("app.py", "print('hello')\n")
    repo.write("config.py", f"KEY = '{s.AWS_ACCESS_KEY}'\nDEBUG = True\n")
    repo.write(".env", f"DB_PASSWORD={s.DB_PASSWORD}\n")
    repo.write("id_ed25519", s.PEM + "\n")
    repo.write("logo.png", b"\x89PNG\x00" + s.AWS_ACCESS_KEY.encode())
    repo.commit("base")
    tree = review_tree(repo.root, tmp_path / "copy")
    assert sorted(p.name for p in tree.iterdir()) == ["app.py", "config.py", "logo.png"]  # .env and the key left out
    assert (tree / "config.py").read_text() == f"KEY = '{placeholder('aws-access-key', s.AWS_ACCESS_KEY)}'\nDEBUG = True\n"
    assert os.stat(tree / "app.py").st_ino == os.stat(repo.root / "app.py").st_ino  # no secret: linked, not copied
    assert os.stat(tree / "config.py").st_ino != os.stat(repo.root / "config.py").st_ino
    assert os.stat(tree / "logo.png").st_ino == os.stat(repo.root / "logo.png").st_ino  # binary: as it is


def test_the_agents_copy_leaves_out_a_file_whose_name_holds_a_secret(repo: GitRepo, tmp_path: Path) -> None:
    """An agent (or a tools backend) lists the tree: a key in a name would reach its model."""
    repo.write("src/app.py", "x = 1\n")
    repo.write(f"leaked/{s.AWS_ACCESS_KEY}.txt", "the name is the secret\n")
    repo.write(f"{s.GITHUB_TOKEN}/notes.md", "a folder named by a token\n")
    (repo.root / "src" / "alias.txt").symlink_to(f"../leaked/{s.AWS_ACCESS_KEY}.txt")  # the link's text names it too
    repo.commit("files")
    tree = review_tree(repo.root, tmp_path / "copies")
    names = sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))
    assert names == ["src", "src/app.py"]

def test_a_value_one_file_marks_as_secret_is_masked_in_every_file_of_the_agents_copy(repo: GitRepo, tmp_path: Path) -> None:
    """Only `password = "…"` marks the value; passed bare elsewhere, or naming a folder, it is still the secret."""
    password = "Tr0ub4dor-horse-9"  # too short for the entropy rule: its context alone makes it a secret
    repo.write("settings.py", f'password = "{password}"\n')
    repo.write("db.py", f'connect("{password}")\n')
    repo.write("keys.py", f"KEY = '{s.AWS_ACCESS_KEY}'\nbackup = '{password}'\n")  # redacted for its own key already
    repo.write(f"fixtures/{password}/case.txt", "named by it\n")
    repo.write("app.py", "x = 1\n")
    (repo.root / "alias.txt").symlink_to(f"fixtures/{password}/case.txt")
    repo.commit("files")
    (shown,) = find(f'password = "{password}"')
    tree = review_tree(repo.root, tmp_path / "copies")
    names = sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))
    assert names == ["app.py", "db.py", "keys.py", "settings.py"]
    assert (tree / "db.py").read_text() == f'connect("{shown.placeholder}")\n'
    assert (tree / "keys.py").read_text() == f"KEY = '{placeholder('aws-access-key', s.AWS_ACCESS_KEY)}'\nbackup = '{shown.placeholder}'\n"
    assert (repo.root / "db.py").read_text() == f'connect("{password}")\n'  # the copy was linked first: not written through
    assert os.stat(tree / "app.py").st_ino == os.stat(repo.root / "app.py").st_ino


def test_the_plan_sends_redacted_text_only() -> None:
    from reviewer.prompts import Templates
    from reviewer.review import plan_review

    plan = plan_review(
        parse_diff(DIFF),
        from_mapping({}, None),
        Templates(),
        description=f"Rotate {s.STRIPE_KEY}",
        guidelines=f"Our test key is {s.SLACK_TOKEN}",
    )
    sent = "\n".join(m.content for r in plan.requests for m in r.messages)
    assert sent and placeholder("aws-access-key", s.AWS_ACCESS_KEY) in sent
    assert all(value not in sent for value in (s.AWS_ACCESS_KEY, s.STRIPE_KEY, s.SLACK_TOKEN, s.GITHUB_TOKEN, *s.PEM_BODY))
    assert len(plan.secrets) == 7  # AWS key, BEGIN, 3 key lines, END, the removed line's token
