"""The `reviewer` command: a click group whose subcommands load on first use.

This is the one error boundary: an expected failure (a ReviewerError) becomes
one line on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import atexit
import difflib
import errno
import gc
import importlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from reviewer import __version__
from reviewer.errors import ExitCode, ReviewerError

# command name → "module:attribute"; imported only when that command runs or its help is shown
COMMANDS: dict[str, str] = {
    "local": "reviewer.commands.local:local",
    "summarize": "reviewer.commands.summarize:summarize",
    "pr": "reviewer.commands.pr:pr",
    "publish": "reviewer.commands.publish:publish",
    "action": "reviewer.commands.action:action",
    "config": "reviewer.commands.config_cmd:config",
    "prompts": "reviewer.commands.prompts_cmd:prompts",
    "backends": "reviewer.commands.backends_cmd:backends",
    "eval": "reviewer.commands.eval_cmd:eval_suite",
    "eval import": "reviewer.commands.eval_cmd:eval_import",  # a subcommand of a command that takes an argument
    "learn": "reviewer.commands.learn:learn",
    "cost": "reviewer.commands.cost_cmd:cost",
}

# One line of help per command, so `reviewer --help` imports none of them.
SHORT_HELP: dict[str, str] = {
    "local": "Review the changes of this checkout before you push.",
    "summarize": "Summarize the local change or a PR: title, walkthrough per file, risks.",
    "pr": "Review a GitHub pull request and post one review and one summary comment.",
    "publish": "Post a review saved with `reviewer pr --output FILE`.",
    "action": "The GitHub Action's entry point: act on the workflow's event.",
    "config": "Show or check the configuration.",
    "prompts": "List, show and render the prompt templates in effect.",
    "backends": "Check each backend; import backends from OpenCode or Claude Code.",
    "eval": "Measure templates on an eval suite: recall, precision, F1, false positives; gate on a baseline.",
    "learn": "Propose .reviewer/learnings.md entries from what the team said in our review threads.",
    "cost": "Sum the runs saved with `reviewer pr --output` by month, and price them on other models.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(name for name in COMMANDS if " " not in name)})

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if len(args) > 1 and f"{args[0]} {args[1]}" in COMMANDS:  # `eval import`: `eval` itself takes SUITE
            return f"{args[0]} {args[1]}", self.get_command(ctx, f"{args[0]} {args[1]}"), args[2:]
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the commands are: {', '.join(self.list_commands(ctx))}"
            raise click.UsageError(f"no command named {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, _, attr = COMMANDS[cmd_name].partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reviewer")
def cli() -> None:
    """AI code review for CI and before you push.

    Reviews a change with DeepSeek V4-Pro (Think High) by default, or with your
    own OpenAI-compatible endpoint (--base-url URL --model NAME), and shows the
    cost of every run.

    \b
    Exit codes: 0 done, nothing at or above --fail-on; 1 findings at or above
    --fail-on; 2 usage or configuration error; 3 a backend or GitHub failure
    left the review incomplete (what was done is still reported).
    """


def main(argv: Sequence[str] | None = None) -> None:
    """The process: the `reviewer` script and `python -m reviewer.cli`. It ends the process it runs in, whoever
    catches its SystemExit (below, `_leave`): a program of your own, or a test, calls `run`, which returns the status."""
    # A large run keeps ~100K objects to its end (the parsed diff, the SDKs' classes), which the collector's default
    # thresholds walk over and over: ~0.12 s of 1.7 s on a 26K-line change. Its reference cycles are few and small
    # (peak RSS unchanged), so young objects are collected less often and old ones rarely.
    gc.set_threshold(10_000, 20, 20)
    sys.stdout, sys.stderr = (_Unread(stream) if stream is not None else None for stream in (sys.stdout, sys.stderr))
    status = 1  # Python's own, should an unexpected exception escape `run`
    atexit.register(lambda: _leave(status))  # reads `status` at exit: the run's
    for stop in _STOPS:  # not one that whoever started us ignores (nohup): they meant it
        if signal.getsignal(stop) == signal.SIG_DFL:
            signal.signal(stop, _terminated)
    try:
        status = run(argv)
    except Exception:  # a bug: its traceback, and its agents stopped, for the exit waits for the threads that wait on them
        traceback.print_exc()
        _abandon()
    sys.exit(status)


class _Unread:
    """A standard stream whose reader may go away (`reviewer … | head`, `2>&1 | head -3`, a terminal closed): from then
    on what is written is dropped, not an error. The run goes on to its end and exits with the status of what it found
    and did: a broken pipe stopping it midway would exit with a status that says nothing of the review (click's 1:
    "findings"), and a terminal closed under it would leave its agents running (SIGHUP, `_interrupted`)."""

    def __init__(self, stream: Any) -> None:  # a text stream (TextIO), or its binary buffer
        self._stream = stream

    def write(self, text: Any) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._gone(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self._gone(exc)

    def _gone(self, error: OSError) -> None:
        if error.errno not in (errno.EPIPE, errno.EIO):  # EIO: a terminal hung up; a full disk is an error still
            raise error
        # What is still buffered would fail again at each flush, and at exit: it goes nowhere instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    @property
    def buffer(self) -> _Unread:
        """The binary stream below, as unread: click writes there itself when the text stream's encoding is ASCII."""
        return _Unread(self._stream.buffer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _leave(status: int) -> NoReturn:
    """End the process without tearing the interpreter down: freeing ~1,300 modules and the run's objects one by one
    takes ~0.2 s, and the OS frees them at once. Registered first, this runs after every other exit handler (temporary
    folders' cleanup, say) and after the interpreter has waited for its threads; logging's, registered when it was
    imported, is run here."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: started with that descriptor closed (`reviewer … >&-`)
                stream.flush()
        except (OSError, ValueError):  # a full disk, a closed file (a closed pipe is _Unread's): Python's own status then
            status = 120
    os._exit(status)


def error(message: str) -> None:
    """The one style of every error line: `reviewer: error: ...`."""
    click.echo(f"reviewer: error: {message}", err=True)


def run(argv: Sequence[str] | None = None) -> int:
    # PyGithub and urllib3 log retries and warnings of their own; what matters reaches the user as our message.
    for library in ("github", "urllib3"):
        logging.getLogger(library).addHandler(logging.NullHandler())
        logging.getLogger(library).propagate = False
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="reviewer", standalone_mode=False)
    except ReviewerError as exc:
        from reviewer.redact import redact  # a message can carry what it failed on: a key in a URL, a config line
        from reviewer.safe_text import printable

        error(printable(redact(str(exc))))  # it may quote a server's or a file's text
        return int(exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "reviewer"
        error(f"{exc.format_message()} (see `{where} --help`)")
        return ExitCode.USAGE
    except click.ClickException as exc:
        error(exc.format_message())
        return ExitCode.USAGE if exc.exit_code == 2 else int(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            _interrupted()
        click.echo("reviewer: aborted", err=True)
        return 130
    except KeyboardInterrupt:
        _interrupted()
    return int(result or 0)


# SIGTERM: a CI runner's cancel sends it after SIGINT. SIGHUP: the terminal closed. SIGQUIT: Ctrl-\. Agents run in
# process groups of their own (reviewer.scratch), which none of them reaches: reviewer stops them.
_STOPS = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up", signal.SIGQUIT: "quit"}
_stopped_by: int = signal.SIGINT


def _terminated(number: int, frame: object) -> None:
    """SIGTERM, SIGHUP or SIGQUIT stops the run as a Ctrl-C does: what was answered is reported, the agents it started
    are stopped, and it exits 128 + the signal's number."""
    global _stopped_by
    _stopped_by = number
    raise KeyboardInterrupt


def _interrupted() -> NoReturn:
    stopped_by = _stopped_by  # as the message says, whatever signal comes next
    how = _STOPS.get(signal.Signals(stopped_by), "interrupted")
    try:
        # A repeated stop (`timeout` sends SIGTERM twice) would cut short the stopping of the agents. Not a second
        # Ctrl-C: a person's way out should removing a large copy of the checkout take long.
        for stop in _STOPS:
            signal.signal(stop, signal.SIG_IGN)
        click.echo(f"reviewer: {how}; any request in flight was abandoned: nothing more is billed once its connection closes", err=True)
        sys.stdout.flush()
        _abandon()
    finally:  # whatever got in the way (an error writing the message)
        # Requests still in flight hold worker threads that a normal exit would wait for (minutes of thinking).
        os._exit(128 + stopped_by)


def _abandon() -> None:
    """Stop the agents and remove the copies of the checkout that worker threads still wait on (reviewer.scratch)."""
    if "reviewer.scratch" in sys.modules:
        sys.modules["reviewer.scratch"].abandon()


if __name__ == "__main__":
    main()
