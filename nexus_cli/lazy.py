"""A Click group that imports each subcommand's module only when that subcommand runs.

See Click's documentation, "Lazily Loading Subcommands". Every Nexus group uses
:class:`NexusGroup`, so the invocation recorder learns the full command path (``workspace create``)
and the names — never the values — of the options given.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from nexus_cli import long_lived
from nexus_cli.telemetry.journal import invocation


def _option_names(cmd: click.Command, args: list[str]) -> list[str]:
    """Names of ``cmd``'s options that appear in ``args``. Values are never looked at."""
    by_flag: dict[str, str] = {}
    for param in cmd.params:
        if isinstance(param, click.Option):
            for flag in (*param.opts, *param.secondary_opts):
                by_flag[flag] = param.name or flag
    found: list[str] = []
    for token in args:
        if token == "--":
            break
        if not token.startswith("-") or token == "-":
            continue
        flag = token.split("=", 1)[0]
        name = by_flag.get(flag) or (by_flag.get(token[:2]) if not token.startswith("--") else None)
        if name and name not in found:
            found.append(name)
    return found


class NexusGroup(click.Group):
    """A group whose subcommands are ``"module:attribute"`` strings, imported on first use.

    ``lazy_subcommands`` maps a command name to ``(import path, short help)``; the short help is
    kept here so that ``--help`` can list commands without importing their modules.
    With ``shorten_lazy_help`` that short help is the command's own (its docstring's first
    sentence), and ``--help`` shortens it to the width as Click does a command's help; without it,
    it is written as is (like Click's ``short_help``). ``hidden_lazy_subcommands`` maps a name to an
    import path only: such a command runs when named (or when the group's callback gets it with
    :meth:`get_command`) but is never listed.
    """

    def __init__(
        self,
        *args: Any,
        lazy_subcommands: dict[str, tuple[str, str]] | None = None,
        shorten_lazy_help: bool = False,
        hidden_lazy_subcommands: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})
        self.shorten_lazy_help = shorten_lazy_help
        self.hidden_lazy_subcommands = dict(hidden_lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands or cmd_name in self.hidden_lazy_subcommands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        if cmd_name in self.lazy_subcommands:
            import_path = self.lazy_subcommands[cmd_name][0]
        else:
            import_path = self.hidden_lazy_subcommands[cmd_name]
        module_name, _, attr = import_path.partition(":")
        with long_lived.imports():  # a command's modules live until the process ends
            command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{import_path} is not a click command")
        return command

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Subcommand names with their short help from the registry: completing imports nothing."""
        from click.shell_completion import CompletionItem  # as Click's own shell_complete does

        items = [
            CompletionItem(name, help=help_text)
            for name, (_, help_text) in sorted(self.lazy_subcommands.items())
            if name.startswith(incomplete)
        ]
        for name in super().list_commands(ctx):
            cmd = super().get_command(ctx, name)
            if name.startswith(incomplete) and cmd is not None and not cmd.hidden:
                items.append(CompletionItem(name, help=cmd.get_short_help_str(limit=150)))
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: list[tuple[str, str]] = []
        # Hidden commands' names count for the width, the lazy ones as the others.
        names = [*self.list_commands(ctx), *self.hidden_lazy_subcommands]
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        for name in self.list_commands(ctx):
            if name in self.lazy_subcommands:
                text = self.lazy_subcommands[name][1]
                if self.shorten_lazy_help:  # as Click shortens a loaded command's help
                    text = click.Command(name, help=text).get_short_help_str(limit)
                rows.append((name, text))
                continue
            cmd = super().get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            name, cmd, rest = super().resolve_command(ctx, args)
        except click.UsageError as exc:  # no such command: the nearest names, if any
            hint = _did_you_mean(args[0], self.list_commands(ctx)) if args else None
            if hint is None:
                raise
            raise click.UsageError(f"{exc.message.rstrip('.')}; {hint}", ctx) from None
        inv = invocation.current()
        if inv is not None and cmd is not None:
            inv.command_path.append(cmd.name or name or "")
            for option in _option_names(cmd, rest):
                if option not in inv.option_names:
                    inv.option_names.append(option)
        return name, cmd, rest


def _did_you_mean(typed: str, names: list[str]) -> str | None:
    """``did you mean 'task'?`` for a command name that matches none."""
    # difflib only on this error path: every command's start-up stays without it
    from nexus_cli.suggest import did_you_mean  # noqa: PLC0415

    return did_you_mean(typed, names)
