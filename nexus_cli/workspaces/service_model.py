"""The parsed form of a template's services and hooks (what :mod:`service_parsing` produces)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PortSpec:
    container_port: int
    preferred_host_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class VolumeSpec:
    source: str
    target: str
    named: bool
    read_only: bool = False
    no_copy: bool = False  # a new named volume is not filled from the image (``nocopy``)


@dataclass(frozen=True)
class HealthSpec:
    test: list[str]
    interval_s: float = 2.0
    timeout_s: float = 5.0
    retries: int = 3
    start_period_s: float = 0.0


@dataclass(frozen=True)
class BuildSpec:
    """An image built from the worktree (a Compose ``build:``): paths relative to the worktree."""

    context: str
    dockerfile: str = "Dockerfile"  # relative to the context
    args: dict[str, str] = field(default_factory=dict)
    target: str | None = None


@dataclass(frozen=True)
class Runtime:
    """How a container runs inside its own namespace, from a Compose file's ``labels``,
    ``hostname``, ``domainname``, ``init``, ``tmpfs``, ``shm_size``, ``stop_signal``,
    ``stop_grace_period``, ``container_name`` and the rest :mod:`compose_runtime` reads, with
    how it resolves names (:mod:`compose_names`); a Nexus template keeps the defaults."""

    labels: dict[str, str] = field(default_factory=dict)
    hostname: str = ""  # "" is the engine's (the container id)
    domainname: str = ""  # the container's DNS domain name; "" is none
    init: bool = True  # an init process as PID 1 (Nexus's default; the file may say false)
    tmpfs: dict[str, str] = field(default_factory=dict)  # path in the container -> options
    stop_signal: str = ""  # "" is the image's (SIGTERM unless it says otherwise)
    stop_grace_s: int | None = None  # seconds before SIGKILL; None is Nexus's own wait
    shm_size: int | None = None  # bytes of /dev/shm; None is the engine's 64m
    # the file's container_name: the container keeps Nexus's per-workspace name, and this is a
    # second name for it on the workspace's own network (other services reach it by it)
    alias: str = ""
    # the file's network aliases (``networks.NAME.aliases``): more names of the service there
    aliases: tuple[str, ...] = ()
    # a logging driver that keeps the logs in the engine's files, and its rotation options
    logging: tuple[str, dict[str, str]] | None = None
    cap_drop: tuple[str, ...] = ()  # capabilities given up (narrowing: cap_add is refused)
    read_only: bool = False  # a read-only root file system
    # a terminal and an open standard input for the main process (a shell image's command
    # then keeps running, as with `docker run -it`)
    tty: bool = False
    stdin_open: bool = False
    ulimits: tuple[tuple[str, int, int], ...] = ()  # (name, soft, hard); -1 is unlimited
    # lines of the container's /etc/hosts: (name, IP address or "host-gateway")
    extra_hosts: tuple[tuple[str, str], ...] = ()
    dns: tuple[str, ...] = ()  # the servers its resolver asks; () is the engine's
    dns_search: tuple[str, ...] = ()  # its resolver's search domains
    dns_opt: tuple[str, ...] = ()  # its resolv.conf options (ndots:2, use-vc)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    command: list[str] | str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    # names a Compose file lists without a value that your environment does not set: the engine
    # unsets them in the container (the image's value and an env_file's go), as Compose does
    unset_environment: tuple[str, ...] = ()
    ports: list[PortSpec] = field(default_factory=list)
    volumes: list[VolumeSpec] = field(default_factory=list)
    healthcheck: HealthSpec | None = None
    depends_on: list[str] = field(default_factory=list)
    working_dir: str = "/workspace"  # "" keeps the image's own working directory
    # The rest comes only from a project's Compose file (nexus_cli/workspaces/compose.py).
    build: BuildSpec | None = None
    entrypoint: list[str] | str | None = None
    # dependency -> service_started | service_healthy | service_completed_successfully; a
    # dependency not named here is waited for until healthy (or running, without a healthcheck)
    depends_conditions: dict[str, str] = field(default_factory=dict)
    # dependencies whose new container (``up`` recreating one that died) restarts this service
    # too (``depends_on.NAME.restart: true``)
    restarts_with: frozenset[str] = frozenset()
    healthcheck_off: bool = False  # the image's own HEALTHCHECK turned off (``disable: true``)
    nano_cpus: int | None = None
    mem_limit: int | None = None  # bytes
    mem_reservation: int | None = None  # bytes (a Compose file's; compose_resources.py)
    cpu_shares: int | None = None
    pids_limit: int | None = None
    restart: str = ""  # a restart policy name; "" is "no"
    user: str = ""  # USER[:GROUP] (names or ids) the command runs as; "" keeps the image's own
    # when the image is pulled or built: "missing" (when absent), "always" (pulled at every
    # start), "never" (it must be on the engine), "build" (built at every start)
    pull_policy: str = "missing"
    platform: str = ""  # OS/ARCH[/VARIANT] of the image to pull, build and run; "": the engine's
    runtime: Runtime = field(default_factory=Runtime)


@dataclass(frozen=True)
class Hook:
    service: str
    command: list[str] | str

    @property
    def text(self) -> str:
        """The command as one line of shell: a string as written, an argv list quoted (``sh -c``
        on it runs that same argv). What a person approves and what approvals are keyed by."""
        return self.command if isinstance(self.command, str) else shlex.join(self.command)
