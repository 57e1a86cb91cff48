"""The ``nexus`` root command, the single error boundary, and invocation recording.

Subcommands are registered in :data:`COMMANDS` as import paths and loaded lazily, so start-up stays
close to a bare Click app. :func:`main` is the one place where exceptions become exit codes and
where the invocation is recorded — exactly once, whatever happened.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
from gettext import gettext as _
from typing import TYPE_CHECKING, Any

import click

from nexus_cli import __version__
from nexus_cli.errors import CwdGoneError, ExitCode, NexusError, Terminated, UsageError
from nexus_cli.lazy import NexusGroup
from nexus_cli.telemetry.journal import invocation, recorder, settings
from nexus_cli.telemetry.ship import autosync
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

# name -> ("module:attribute", short help). Keep sorted; register only commands that work.
COMMANDS: dict[str, tuple[str, str]] = {
    "completion": (
        "nexus_cli.commands.completion:completion",
        "Print or install shell completion.",
    ),
    "dashboard": ("nexus_cli.commands.dashboard:dashboard", "Show your usage dashboard (or HTML)."),
    "doctor": ("nexus_cli.commands.doctor:doctor", "Check git, Docker, NVML, state and databases."),
    "export": ("nexus_cli.commands.export:export", "Export telemetry as JSON, NDJSON, CSV or SQL."),
    "fleet": (
        "nexus_cli.commands.fleet:fleet",
        "Run several agents at once, each task in its own workspace.",
    ),
    "forget": (
        "nexus_cli.commands.memory:forget",
        "Forget the project fact ID (see `nexus memory`).",
    ),
    "gpu": ("nexus_cli.commands.gpu:gpu", "GPU status, monitor and process-impact analysis."),
    "hook": (
        "nexus_cli.commands.hook:hook",
        "Answer a coding agent's lifecycle hook (run by the agent).",
    ),
    "hooks": (
        "nexus_cli.commands.hooks:hooks",
        "Install the hooks that keep coding agents on gated tasks.",
    ),
    "init": ("nexus_cli.commands.init:init", "Create .nexus/ in the current git repository."),
    "insights": ("nexus_cli.commands.insights:insights", "Detect usage patterns, with fixes."),
    "loop": (
        "nexus_cli.commands.loop:loop",
        "Run an agent on tasks until their gates pass.",
    ),
    "mcp": ("nexus_cli.commands.mcp:mcp", "Serve Nexus to coding agents over MCP; connect them."),
    "memory": (
        "nexus_cli.commands.memory:memory",
        "List the project's facts, newest first (`nexus remember` adds, `nexus forget` drops).",
    ),
    "persona": (
        "nexus_cli.commands.persona:persona",
        "Add, remove and switch role bundles for coding assistants.",
    ),
    "prime": ("nexus_cli.commands.prime:prime", "Start-of-session briefing for a coding agent."),
    "queue": (
        "nexus_cli.commands.queue:queue",
        "The merge queue: re-run gates on the combined result, then merge.",
    ),
    "remember": (
        "nexus_cli.commands.memory:remember",
        "Remember a short project fact for every agent (shown by `nexus prime`).",
    ),
    "stats": ("nexus_cli.commands.stats:stats", "Usage statistics for a time window."),
    "sync": ("nexus_cli.commands.sync:sync", "Send telemetry to your own collector."),
    "task": ("nexus_cli.commands.task:task", "Track tasks whose verification gates must pass."),
    "telemetry": ("nexus_cli.commands.telemetry:telemetry", "See and control local telemetry."),
    "template": (
        "nexus_cli.commands.template:template",
        "List workspace templates and show what one resolves to.",
    ),
    "version": ("nexus_cli.commands.version:version", "Show the Nexus version."),
    "workflow": (
        "nexus_cli.commands.workflow:workflow",
        "Multi-persona workflows: stages become a chain of gated tasks.",
    ),
    "workspace": (
        "nexus_cli.commands.workspace:workspace",
        "Worktrees with their own services, ports and volumes.",
    ),
}

# Loaded by name only when a shell asks for completions, as a command's module is loaded only when
# it runs: it brings Click's completion machinery, which no command needs to run.
COMPLETION = "nexus_cli.completion"

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _change_dir(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            os.chdir(value)
        except OSError as exc:
            raise click.BadParameter(f"cannot change to {value!r}: {exc.strerror}") from None
    return value


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``-V``/``--version``: what ``nexus version`` prints first, recorded as that command (an
    event with no command would count in no command's row)."""
    if not value or ctx.resilient_parsing:
        return
    inv = invocation.current()
    if inv is not None:
        inv.command_path = ["version"]
    click.echo(f"nexus {__version__}")
    ctx.exit()


def _no_telemetry(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    inv = invocation.current()
    if inv is not None and value:
        inv.no_telemetry = True
    return value


@click.group(
    cls=NexusGroup,
    lazy_subcommands=COMMANDS,
    context_settings=CONTEXT_SETTINGS,
    no_args_is_help=True,
)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_show_version,
    help=_("Show the version and exit."),  # translated as Click's own options are
)
@click.option(
    "-C",
    "directory",
    metavar="DIR",
    is_eager=True,
    expose_value=False,
    callback=_change_dir,
    help="Run as if nexus was started in DIR.",
)
@click.option(
    "--no-telemetry",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_no_telemetry,
    help="Do not record this invocation.",
)
def cli() -> None:
    """Nexus: workspaces, gated tasks, personas, GPU impact analysis and telemetry you own.

    Everything stays on this machine unless you run `nexus sync`.
    """


# SIGTERM, and SIGHUP (the terminal closed: a tab, an ssh connection that dropped), end a command
# as Ctrl-C does, so that its cleanup runs; ``signum`` is the first that came (None: none yet).
_sigterm: dict[str, Any] = {"raise": True, "signum": None}
_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (or SIGHUP) becomes :class:`Terminated` (a KeyboardInterrupt), once, so cleanup
    runs."""
    if _sigterm["signum"] is not None:
        return  # a second signal lets the cleanup already running finish
    _sigterm["signum"] = signum
    if _sigterm["raise"]:  # (not while the invocation is recorded)
        raise Terminated(signum=signum)


def terminated() -> bool:
    """Whether this invocation received SIGTERM or SIGHUP (it then exits 143 or 129 whatever the
    command did)."""
    return _sigterm["signum"] is not None


def _ending_code() -> ExitCode:
    return ExitCode.HUNG_UP if _sigterm["signum"] == signal.SIGHUP else ExitCode.TERMINATED


def _install_sigterm() -> dict[int, Handler]:
    """Handle SIGTERM and SIGHUP like Ctrl-C; return the previous handlers of those taken over.
    One that is ignored (started under ``nohup`` or a similar parent) stays ignored."""
    _sigterm.update({"raise": True, "signum": None})
    previous: dict[int, Handler] = {}
    try:
        for signum in _ENDING_SIGNALS:
            handler = signal.getsignal(signum)
            if handler is signal.SIG_IGN:
                continue
            signal.signal(signum, _on_sigterm)
            previous[signum] = handler
    except ValueError:  # not the main thread (Nexus embedded in another program)
        return previous
    return previous


def _restore_sigterm(previous: dict[int, Handler]) -> None:
    for signum, handler in previous.items():
        if handler is not None:
            signal.signal(signum, handler)


def _report(message: str, hint: str | None = None) -> None:
    """Print ``error:``/``hint:``; messages may quote untrusted data, so controls are shown."""
    click.echo(f"error: {escape(message)}", err=True)
    if hint:
        click.echo(f"hint: {escape(hint)}", err=True)


def _debug() -> bool:
    return os.environ.get("NEXUS_DEBUG", "") not in ("", "0")


def _check_decodable(args: list[str]) -> None:
    """Refuse arguments holding bytes that are not UTF-8 (``surrogateescape``'d by Python)."""
    for index, arg in enumerate(args, 1):
        if arg.isascii() or not any("\ud800" <= ch <= "\udfff" for ch in arg):
            continue
        try:
            raw = arg.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = arg.encode("utf-8", "backslashreplace")
        shown = repr(raw)[1:]  # b'show\xff' -> 'show\xff'
        raise UsageError(
            f"argument {index} ({shown if len(shown) <= 60 else shown[:57] + '...'}) "
            "is not valid UTF-8",
            hint="Nexus takes UTF-8 arguments: check the locale (LANG, LC_ALL) or the caller",
        )


def _run(args: list[str], inv: invocation.Invocation) -> int:
    """Run the command tree; map every outcome to an exit code (the one error boundary)."""
    stdout = sys.stdout
    try:
        _check_decodable(args)
        rv = cli.main(args=args, prog_name="nexus", standalone_mode=False)
        return int(rv) if isinstance(rv, int) else ExitCode.OK
    except SystemExit:
        if sys.stdout is stdout:  # not Click's answer to a closed pipe (below)
            raise
        # Click's own answer to EPIPE while writing (`nexus ... | head`): it puts wrappers that
        # ignore the flush in place of stdout and stderr and exits 1, even when not standalone.
        return _pipe_closed(inv)
    except NexusError as exc:
        inv.fields.setdefault("error_category", exc.category)
        if _debug():  # the traceback as an uncaught exception's (the path below re-raises)
            sys.excepthook(type(exc), exc, exc.__traceback__)
        _report(exc.message, exc.hint)
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        return ExitCode.OK
    except click.UsageError as exc:
        inv.fields.setdefault("error_category", "usage")
        path = exc.ctx.command_path if exc.ctx else "nexus"
        _report(exc.format_message(), f"run '{path} --help' for usage")
        return ExitCode.USAGE
    except click.ClickException as exc:
        inv.fields.setdefault("error_category", "error")
        _report(exc.format_message())
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__cause__, EOFError):
            inv.fields.setdefault("error_category", "no_input")
            _report("no input available to answer a prompt", "pass --yes to skip confirmation")
            return ExitCode.ERROR
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return _interrupted(inv)
        inv.fields.setdefault("error_category", "interrupted")
        click.echo("aborted", err=True)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        return _interrupted(inv)
    except BrokenPipeError:
        return _pipe_closed(inv)
    except Exception as exc:
        if isinstance(exc, OSError) and _cwd_gone():  # read where no helper checked for it
            gone = CwdGoneError()
            inv.fields.setdefault("error_category", gone.category)
            _report(gone.message, gone.hint)
            return int(gone.exit_code)
        inv.fields.setdefault("error_category", "internal")
        if _debug():
            raise
        _report(
            f"unexpected {type(exc).__name__}: {exc}",
            "this is a bug in nexus; rerun with NEXUS_DEBUG=1 for the traceback and report it",
        )
        return ExitCode.ERROR


def _pipe_closed(inv: invocation.Invocation) -> int:
    """The reader went away (`nexus ... | head`): stop quietly, exit 1. Recorded as
    ``pipe_closed``, not as an error whose cause insights would ask you to fix."""
    inv.fields.setdefault("error_category", "pipe_closed")
    with contextlib.suppress(OSError, ValueError):  # later writes go nowhere, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
    return ExitCode.ERROR


def _cwd_gone() -> bool:
    """Whether the current directory was deleted (then any relative path fails)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return True
    return False


def _interrupted(inv: invocation.Invocation) -> int:
    """Ctrl-C exits 130; SIGTERM (which raised :class:`Terminated`) exits 143, SIGHUP 129."""
    inv.fields.setdefault("error_category", "interrupted")
    if terminated():
        code = _ending_code()
        with contextlib.suppress(OSError):  # after a hang-up the terminal may be gone
            click.echo("hung up" if code == ExitCode.HUNG_UP else "terminated", err=True)
        return code
    click.echo("interrupted", err=True)
    return ExitCode.INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Run nexus with ``argv`` (default ``sys.argv[1:]``), record the invocation, return the code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "_NEXUS_COMPLETE" in os.environ:
        # A shell asking for completions (every TAB press): answer, record nothing.
        importlib.import_module(COMPLETION).register_shells()
        cli.main(args=args, prog_name="nexus")
    with invocation.running(args) as inv:
        return _command(args, inv)


def _command(args: list[str], inv: invocation.Invocation) -> int:
    """Run the command of ``inv``, record it, return the exit code (143 after a SIGTERM, 129
    after a SIGHUP)."""
    previous = _install_sigterm()
    code: int = ExitCode.ERROR
    try:
        code = _run(args, inv)
        if terminated() and code not in (ExitCode.TERMINATED, ExitCode.HUNG_UP):
            code = _interrupted(inv)  # a --watch loop took the signal as its end
    except Terminated:
        code = _ending_code()
        inv.fields.setdefault("error_category", "interrupted")
    except BaseException:
        code = ExitCode.INTERRUPTED if sys.exc_info()[0] is KeyboardInterrupt else ExitCode.ERROR
        raise
    finally:
        _sigterm["raise"] = False  # from here on SIGTERM only marks the exit code
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        enabled, _ = settings.decide(inv.no_telemetry)
        if enabled:
            recorder.record(inv, int(code))
            autosync.after_command()  # one stat unless `sync auto on`
        _restore_sigterm(previous)
    if terminated():
        code = _ending_code()
    return int(code)
