"""The concrete fix each insight carries. Plain text, no user data (names are never stored)."""

from __future__ import annotations

from collections import Counter

from nexus_cli.plural import plural

_SLOW = {
    "workspace create": (
        "pre-pull or pre-build the template's images (`docker pull`/`docker build` once) so "
        "creates start from a cached image instead of downloading layers every time"
    ),
    "workspace up": "keep the workspace's images cached and drop services you do not use today",
    "task complete": (
        "run `nexus task verify ID` while you work, and split the slowest gate so quick gates "
        "fail first"
    ),
    "task verify": (
        "split the slowest gate so quick gates fail first, or bound it "
        "(`nexus task gate add ID COMMAND --timeout 120`)"
    ),
    "gpu impact": "pass --checkpoint-dir so the checkpoint search does not walk the whole tree",
    "stats": "lower telemetry.retention_days in $NEXUS_HOME/config.json to keep the database small",
}

_ERRORS = {
    "docker_unavailable": (
        "start the Docker engine before working (`sudo systemctl enable --now docker`) or point "
        "Nexus at the right one with DOCKER_HOST / `docker context use`"
    ),
    "address_pool_exhausted": (
        "each workspace has a Docker network of its own: delete the workspaces you no longer use "
        "and `docker network prune`, or raise `default-address-pools` in the engine's daemon.json"
    ),
    "gate_failed": (
        "run `nexus task verify ID` before `nexus task complete` (the gates are plain shell "
        "commands, listed by `nexus task show ID`) so failures show up early"
    ),
    "health_timeout": (
        "raise the service's healthcheck start period in the template, or fix the service that "
        "starts slowly (check `nexus workspace logs`)"
    ),
    "usage": "turn on shell completion (`nexus completion bash --install`) to avoid mistyped commands",
    "not_found": "list what exists first (`nexus workspace list`, `nexus task list`) or enable completion",
    "config_invalid": "validate the YAML named in the error (its file and key are in the message)",
    "conflict": (
        "the thing already existed or another Nexus command held it: choose another name, pass "
        "`--force` where the message offers it, or wait for the other command to finish"
    ),
    "state_corrupt": "run `nexus doctor`; it names the damaged database and how to move it aside",
    "interrupted": (
        "commands were stopped by Ctrl-C or SIGTERM: `nexus workspace repair NAME` fixes a "
        "workspace left half-made, and `nexus task show ID` says where a task stopped"
    ),
    "internal": "rerun with NEXUS_DEBUG=1 and report the traceback: this is a bug in nexus",
}


def for_slow_command(command: str, p95_ms: int, median_ms: int | None) -> str:
    for prefix, fix in _SLOW.items():
        if command.startswith(prefix):
            return f"'{command}': {fix}."
    spread = f" (p95 is {p95_ms / median_ms:.1f}x the median)" if median_ms else ""
    return (
        f"look at the slow runs of '{command}'{spread}: `nexus export --format ndjson` shows the "
        "step timings each run recorded (its metrics); the slow runs are outliers worth chasing."
    )


def for_port_conflict(ports: Counter[int]) -> str:
    if not ports:
        return "free the port or choose another host port in the workspace template."
    port, times = ports.most_common(1)[0]
    alternative = port + 1
    while alternative in ports:
        alternative += 1
    return (
        f"port {port} was busy {plural(times, 'time')}: consider using port {alternative} for that service "
        "(set its host port in the template) or stop what holds it (`ss -ltnp`)."
    )


def for_error(category: str) -> str:
    fix = _ERRORS.get(category)
    if fix is None:
        return (
            f"look at the hint line printed with the '{category}' errors and fix that cause once."
        )
    return fix[0].upper() + fix[1:] + "."


def for_retry(command: str, category: str | None) -> str:
    cause = _ERRORS.get(category or "")
    base = f"'{command}' is often rerun right after failing; read its `hint:` line before retrying"
    return f"{base}; most of these failures were '{category}': {cause}." if cause else base + "."


REJECTION_FIX = (
    "the same review reason keeps rejecting tasks: encode it as a gate in the task template so it "
    "fails automatically before review, and add it to the persona's checklist."
)
SHORT_LIVED_FIX = (
    "workspaces are deleted minutes after creation: keep one scratch workspace for quick checks "
    "(`nexus workspace exec NAME -- COMMAND` runs a command in it) or use a lighter template, "
    "instead of paying setup each time."
)
