"""Generate docs/cli.md from the commands' own --help (``--check`` fails when it is stale)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nexus_cli.cli import cli  # noqa: E402

TARGET = HERE / "cli.md"


def _walk(group: click.Group, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found: list[tuple[list[str], click.Command]] = []
    ctx = click.Context(group, info_name=" ".join(path))
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        found.append(([*path, name], cmd))
        if isinstance(cmd, click.Group):
            found.extend(_walk(cmd, [*path, name]))
    return found


def render() -> str:
    lines = [
        "# CLI reference",
        "",
        "Generated from `--help` by `docs/gen_cli_reference.py`; do not edit by hand",
        "(`make docs` regenerates it, `make test` checks it is current).",
        "",
    ]
    root_ctx = click.Context(cli, info_name="nexus", terminal_width=100, **cli.context_settings)
    lines += ["## nexus", "", "```text", cli.get_help(root_ctx), "```", ""]
    for path, cmd in _walk(cli, ["nexus"]):
        full = " ".join(path)
        parent = root_ctx
        for name in path[1:-1]:
            sub = parent.command.get_command(parent, name)  # type: ignore[attr-defined]
            parent = click.Context(
                sub, info_name=name, parent=parent, terminal_width=100, max_content_width=100
            )
        ctx = click.Context(
            cmd, info_name=path[-1], parent=parent, terminal_width=100, max_content_width=100
        )
        lines += [f"## {full}", "", "```text", cmd.get_help(ctx), "```", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/cli.md is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("docs/cli.md is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
