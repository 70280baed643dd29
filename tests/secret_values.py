"""Secret-shaped test values, made at run time: no file of this repository holds a live-looking token."""

from __future__ import annotations

import random
import string

_ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = _ALNUM, seed: int = 0) -> str:
    """`n` random characters, the same every run for one seed."""
    rng = random.Random(f"{n}:{alphabet}:{seed}")
    return "".join(rng.choice(alphabet) for _ in range(n))


AWS_ACCESS_KEY = "AKIA" + rand(16, string.ascii_uppercase + string.digits)
AWS_SECRET_KEY = rand(40, _ALNUM + "/+", seed=1)
GITHUB_TOKEN = "ghp" + "_" + rand(36, seed=2)
GITHUB_PAT = "github" + "_pat_" + rand(22, seed=3) + "_" + rand(59, seed=3)
OPENAI_KEY = "sk-" + "proj-" + rand(48, seed=4)
ANTHROPIC_KEY = "sk-" + "ant-api03-" + rand(93, _ALNUM + "-_", seed=5)
DEEPSEEK_KEY = "sk-" + rand(32, "0123456789abcdef", seed=6)
STRIPE_KEY = "sk" + "_live_" + rand(24, seed=7)
STRIPE_RESTRICTED = "rk" + "_live_" + rand(24, seed=8)
SLACK_TOKEN = "xox" + "b-" + rand(12, string.digits, seed=9) + "-" + rand(13, string.digits, seed=9) + "-" + rand(24, seed=9)
SLACK_WEBHOOK = "https://hooks.slack.com/services/T" + rand(8, seed=10) + "/B" + rand(8, seed=10) + "/" + rand(24, seed=10)
GOOGLE_KEY = "AI" + "za" + rand(35, _ALNUM + "-_", seed=11)
NPM_TOKEN = "npm" + "_" + rand(36, seed=12)
PYPI_TOKEN = "pypi" + "-AgEIcHlwaS5vcmc" + rand(60, _ALNUM + "-_", seed=13)
SENDGRID_KEY = "SG" + "." + rand(22, seed=14) + "." + rand(43, seed=14)
JWT = "eyJ" + rand(30, seed=15) + ".eyJ" + rand(40, seed=15) + "." + rand(43, _ALNUM + "-_", seed=15)
DB_PASSWORD = "p4ss-" + rand(10, seed=16)
AZURE_KEY = rand(86, _ALNUM + "+/", seed=17) + "=="
HIGH_ENTROPY = rand(40, seed=18)
GCP_KEY_ID = rand(40, "0123456789abcdef", seed=19)
PEM_BODY = [rand(64, _ALNUM + "+/", seed=20 + i) for i in range(3)]
PEM = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *PEM_BODY, "-----END RSA PRIVATE KEY-----"])

# Kinds only detect-secrets' plugins know
DISCORD_TOKEN = "M" + rand(23, seed=21) + "." + rand(6, seed=21) + "." + rand(27, _ALNUM + "_-", seed=21)
GITLAB_TOKEN = "glpat" + "-" + rand(20, seed=22)
TELEGRAM_TOKEN = rand(9, string.digits, seed=23) + ":" + rand(35, _ALNUM + "_-", seed=23)
MAILCHIMP_KEY = rand(32, "0123456789abcdef", seed=24) + "-us" + "12"
TWILIO_SID = "AC" + rand(32, "0123456789abcdef", seed=25)
SQUARE_SECRET = "sq0" + "csp-" + rand(43, seed=26)
NPM_UUID = "-".join(rand(n, "0123456789abcdef", seed=27) for n in (8, 4, 4, 4, 12))
