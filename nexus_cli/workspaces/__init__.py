"""Workspaces: a git worktree plus its own Docker services, ports and volumes.

Modules: :mod:`names` (validation, Docker object names and labels), :mod:`templates` (the Compose
subset), :mod:`ports` (the machine-wide allocation table), :mod:`git_worktrees`, :mod:`records`
(the project's workspace records), :mod:`docker_services` (containers, networks, volumes through
the Docker SDK), :mod:`lifecycle` (create/up/down/delete), :mod:`recovery` (list, status, repair).
"""
