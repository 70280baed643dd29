"""Our own exception types and the exit codes the CLI turns them into."""

from __future__ import annotations

from enum import IntEnum

from reviewer.vocabulary import Usage


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # bad input or configuration
    INCOMPLETE = 3  # a backend or GitHub failure left the review incomplete


class ReviewerError(Exception):
    """An expected failure: one clear message for the user, no traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class ConfigError(ReviewerError):
    """The configuration (file, flags or environment) is unusable."""


class DiffError(ReviewerError):
    """The change to review cannot be collected (not a repository, no base...)."""


class TemplateError(ReviewerError):
    """A prompt template is missing or cannot be rendered."""


class BackendError(ReviewerError):
    """A model backend failed. `retryable` says whether another try or backend may help."""

    exit_code = ExitCode.INCOMPLETE

    def __init__(self, message: str, *, backend: str = "", retryable: bool = True, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.backend = backend
        self.retryable = retryable
        self.usage = usage  # what the failed attempts were billed for, if anything


class PublishError(ReviewerError):
    """Results could not be delivered (GitHub refused, file not writable...)."""

    exit_code = ExitCode.INCOMPLETE
