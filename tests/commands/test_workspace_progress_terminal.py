"""``workspace create`` progress in a real terminal (tmux): ✓ for steps done, ✗ and the reason for
the step that failed, never a frozen spinner."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.tmux_terminal import Terminal, assert_fits, nexus_command, terminal
from tests.workspaces.conftest import cleanup_docker  # noqa: F401 (a fixture)

SPINNER = re.compile(r"[\u2800-\u28ff]")  # Rich's "dots" spinner frames (Braille)
TEMPLATE = """\
x-nexus:
  description: two services on one image that is not here (no registry to pull it from)
services:
  db:
    image: {image}
    command: ["sleep", "3600"]
    volumes: ["data:/data"]
  app:
    image: {image}
    command: ["sleep", "3600"]
"""


def _create(term: Terminal, project: Path, args: str) -> list[str]:
    term.start(nexus_command(f"workspace create {args}") + "; echo EXITED-$?", str(project))
    screen = term.wait(lambda s: "EXITED-" in s, seconds=60, history=True)
    return [line for line in screen.splitlines() if line]


@pytest.mark.parametrize("width", [60, 100])
def test_a_step_that_fails_ends_with_a_cross_and_the_reason(project: Path, width: int) -> None:
    ref = "no-such-reference-anywhere-in-this-repository"
    with terminal(width, 24) as term:
        lines = _create(term, project, f"broken --template bare --from {ref}")
    assert lines[-1] == "EXITED-2"
    progress = lines[: next(i for i, line in enumerate(lines) if line.startswith("error:"))]
    assert_fits(progress, width)
    assert re.match(rf"✗ worktree +'{ref[:20]}", progress[0]), progress
    assert re.search(r"\d:\d\d:\d\d$", progress[0])  # the time column kept its place
    reason = " ".join(line.split("0:00:0")[0].strip() for line in progress)
    assert "does not name a commit in this repository" in reason  # wrapped, not cut
    assert f"error: '{ref}' does not name a commit" in "\n".join(lines)
    assert not SPINNER.search("\n".join(lines)), lines  # nothing left spinning


def test_steps_that_succeed_end_with_a_tick(project: Path) -> None:
    with terminal(100, 24) as term:
        lines = _create(term, project, "fine --template bare")
    assert lines[-1] == "EXITED-0"
    assert re.match(r"✓ worktree ━+ +\d+:\d\d:\d\d$", lines[0]), lines
    assert lines[1] == "created workspace fine (template bare) on branch fine"
    assert not SPINNER.search("\n".join(lines))


@pytest.mark.docker
def test_a_missing_image_is_listed_once_and_fails_with_a_cross(
    project: Path,
    cleanup_docker: list[str],  # noqa: F811
) -> None:
    from nexus_cli.project import find_project

    cleanup_docker.append(find_project(project).project_id())
    image = "nexus-test-missing-image:never"
    (project / ".nexus" / "templates").mkdir(parents=True, exist_ok=True)
    (project / ".nexus" / "templates" / "gone.yaml").write_text(TEMPLATE.format(image=image))
    with terminal(120, 30) as term:
        lines = _create(term, project, "gone --template gone")
    assert lines[-1] != "EXITED-0"
    # progress rows start with their mark; the error line after them names the image too
    shown = [line for line in lines if re.match(rf"\S image {re.escape(image)} ", line)]
    assert len(shown) == 1, lines  # two services, one image: one step
    assert shown[0].startswith(f"✗ image {image} ")
    assert shown[0].split(f"✗ image {image}")[1].strip()  # with its reason
    assert not SPINNER.search("\n".join(lines)), lines


def test_a_step_met_twice_keeps_one_row_and_its_last_outcome(tmp_path: Path) -> None:
    script = tmp_path / "steps.py"
    script.write_text(
        "from nexus_cli.commands.workspace_progress import shown_progress\n"
        "from nexus_cli.errors import NexusError\n"
        "try:\n"
        "    with shown_progress() as p:\n"
        "        p.begin('image busybox'); p.end('image busybox')\n"
        "        p.begin('start db'); p.end('start db')\n"
        "        p.begin('image busybox')\n"
        "        raise NexusError('cannot pull image busybox: [red]no[/] registry\\nsecond line')\n"
        "except NexusError:\n"
        "    pass\n"
    )
    with terminal(100, 24) as term:
        term.start(f"env -u COLUMNS -u LINES {sys.executable} {script}; echo EXITED-$?")
        screen = term.wait(lambda s: "EXITED-" in s)
    lines = [line for line in screen.splitlines() if line]
    rows = [line.split()[:3] for line in lines if line[:1] in "✓✗"]
    assert rows == [["✗", "image", "busybox"], ["✓", "start", "db"]]
    # The reason's first line, literally (markup shown, not applied), before the time.
    assert re.search(r"cannot pull image busybox: \[red\]no\[/\] registry +0:00:0\d$", lines[0])
    assert "second line" not in screen and lines[-1] == "EXITED-0"
