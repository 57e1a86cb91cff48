"""Running a template's container hooks (``post_create``, ``post_start``) inside their services,
once they were approved (:func:`nexus_cli.tasks.workspace_hooks.container_hooks`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli.errors import NexusError
from nexus_cli.workspaces.handle import workdir_of
from nexus_cli.workspaces.service_model import Hook
from nexus_cli.workspaces.templates import substitute

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace
    from nexus_cli.workspaces.progress import Progress


def _exec(client: Any, container: Any, command: list[str] | str) -> tuple[int, bytes]:
    """Run ``command`` where commands run in the container (:func:`workdir_of`): (exit code,
    output). Streamed, and the exit code asked
    for afterwards: over an ``ssh://`` engine the Docker SDK's socket can raise BrokenPipeError
    when it is closed after the command ended (its ssh is gone by then); that is not a failure."""
    exec_id = client.api.exec_create(container.id, command, workdir=workdir_of(container))["Id"]
    chunks: list[bytes] = []
    try:
        for chunk in client.api.exec_start(exec_id, stream=True):
            chunks.append(bytes(chunk))
    except BrokenPipeError:
        pass
    return int(client.api.exec_inspect(exec_id).get("ExitCode") or 0), b"".join(chunks)


def run_hooks(
    client: Any, workspace: Workspace, hooks: list[Hook], kind: str, progress: Progress
) -> None:
    """Run ``post_create``/``post_start`` hooks inside their services; a failure stops here.

    Each runs as approved (:func:`nexus_cli.tasks.workspace_hooks.container_hooks`), with this
    workspace's ``${NEXUS_WORKSPACE}`` and ``${NEXUS_PROJECT_ID}`` filled in now."""
    names = {"NEXUS_WORKSPACE": workspace.name, "NEXUS_PROJECT_ID": workspace.project_id}
    for hook in hooks:
        container = client.containers.get(workspace.container_name(hook.service))
        written = substitute(hook.command, names, Path())
        command = ["sh", "-c", written] if isinstance(written, str) else written
        progress.begin(f"{kind} hook in {hook.service}")
        exit_code, output = _exec(client, container, command)
        if exit_code != 0:  # the step stays open: the command shows it failed (✗)
            tail = bytes(output or b"").decode("utf-8", "replace").strip().splitlines()[-10:]
            raise NexusError(
                f"{kind} hook in service {hook.service!r} failed with exit code {exit_code}"
                + (":\n" + "\n".join(tail) if tail else ""),
                hint="fix the hook in the template, then run the command again",
            )
        progress.end(f"{kind} hook in {hook.service}")
