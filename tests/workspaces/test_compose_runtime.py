"""The Compose keys that set how a container runs in its own namespace (labels, hostname, init,
tmpfs, shm_size, stop_signal, stop_grace_period, container_name, network aliases, and how it
resolves names: extra_hosts, dns, dns_search, dns_opt): read, refused when hostile, and
honoured by the engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.workspaces import engine_prep
from nexus_cli.workspaces.compose import load_compose
from tests.conftest import git, run_nexus


def _load(project: Path, settings: str) -> Any:
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: x\n{settings}")
    return load_compose(project, "compose.yaml").services["app"].runtime


def _refusal(project: Path, document: str) -> str:
    """The one error the Compose file ``document`` is refused with."""
    (project / "compose.yaml").write_text(document)
    with pytest.raises(ConfigError) as caught:
        load_compose(project, "compose.yaml")
    return caught.value.message


def test_each_key_is_read(project: Path) -> None:
    runtime = _load(
        project,
        "    labels: {com.example.role: db, traefik.enable: true, tier: 2}\n"
        "    hostname: db-1.local\n"
        "    domainname: shop.example\n"
        "    init: false\n"
        '    tmpfs: ["/run", "/tmp/cache:size=64m,mode=1777"]\n'
        "    stop_signal: INT\n"
        "    stop_grace_period: 1m30s\n"
        "    shm_size: 256m\n"
        "    container_name: shop-db\n"
        "    logging: {driver: local, options: {max-size: 10m, max-file: 3, compress: false, "
        "labels: 'service=db', tag: '{{.Name}}'}}\n"
        "    cap_drop: [ALL, CAP_NET_RAW, NET_RAW]\n"
        "    read_only: true\n"
        "    tty: true\n"
        "    stdin_open: true\n"
        "    ulimits: {nofile: {soft: 1024, hard: 65536}, memlock: {soft: -1, hard: -1}, "
        "nproc: 512}\n"
        '    extra_hosts: ["host.docker.internal:host-gateway", "api.local=10.1.2.3", '
        '"v6=[::1]", "v6b:::2", "two=10.0.0.1,10.0.0.2"]\n'
        "    dns: 9.9.9.9\n"
        "    dns_search: [corp.example, dev.example]\n"
        '    dns_opt: ["ndots:2", use-vc]\n',
    )
    assert runtime.labels == {"com.example.role": "db", "traefik.enable": "true", "tier": "2"}
    assert (runtime.hostname, runtime.init) == ("db-1.local", False)
    assert runtime.domainname == "shop.example"
    assert runtime.tmpfs == {"/run": "", "/tmp/cache": "size=64m,mode=1777"}
    assert (runtime.stop_signal, runtime.stop_grace_s) == ("SIGINT", 90)
    assert (runtime.shm_size, runtime.alias) == (256 << 20, "shop-db")
    assert runtime.logging == (
        "local",
        {
            "max-size": "10m",
            "max-file": "3",
            "compress": "false",
            "labels": "service=db",
            "tag": "{{.Name}}",
        },
    )
    assert (runtime.cap_drop, runtime.read_only) == (("ALL", "NET_RAW"), True)
    assert (runtime.tty, runtime.stdin_open) == (True, True)
    assert runtime.ulimits == (("nofile", 1024, 65536), ("memlock", -1, -1), ("nproc", 512, 512))
    assert runtime.extra_hosts == (
        ("host.docker.internal", "host-gateway"),
        ("api.local", "10.1.2.3"),
        ("v6", "::1"),
        ("v6b", "::2"),
        ("two", "10.0.0.1"),
        ("two", "10.0.0.2"),
    )
    assert runtime.dns == ("9.9.9.9",)
    assert runtime.dns_search == ("corp.example", "dev.example")
    assert runtime.dns_opt == ("ndots:2", "use-vc")


def test_the_other_spellings_compose_accepts(project: Path) -> None:
    runtime = _load(
        project,
        '    labels: ["com.example.a=1", "com.example.flag"]\n'
        "    tmpfs: /run\n"
        "    stop_signal: 15\n"
        "    stop_grace_period: 1.5s\n"
        "    shm_size: 1gb\n"
        "    extra_hosts: {db.local: 10.0.0.5, multi: [10.0.0.6, '[fe80::1]']}\n"
        "    dns: [1.1.1.1, 127.0.0.1, '2606:4700::1111']\n"
        "    dns_search: .\n",
    )
    assert runtime.labels == {"com.example.a": "1", "com.example.flag": ""}
    assert runtime.tmpfs == {"/run": ""}
    assert (runtime.stop_signal, runtime.stop_grace_s) == ("15", 2)  # whole seconds, rounded up
    assert runtime.shm_size == 1 << 30
    assert runtime.extra_hosts == (
        ("db.local", "10.0.0.5"),
        ("multi", "10.0.0.6"),
        ("multi", "fe80::1"),
    )
    # a loopback server is asked from the container's own namespace (compose_names.py)
    assert runtime.dns == ("1.1.1.1", "127.0.0.1", "2606:4700::1111")
    assert runtime.dns_search == (".",)


def test_a_service_without_them_keeps_nexus_s_defaults(project: Path) -> None:
    runtime = _load(project, "")
    assert (runtime.labels, runtime.hostname, runtime.init, runtime.tmpfs) == ({}, "", True, {})
    assert (runtime.stop_signal, runtime.stop_grace_s, runtime.shm_size) == ("", None, None)
    assert (runtime.alias, runtime.logging, runtime.cap_drop, runtime.read_only) == (
        "",
        None,
        (),
        False,
    )
    assert (runtime.extra_hosts, runtime.dns, runtime.dns_search, runtime.dns_opt) == (
        (),
        (),
        (),
        (),
    )


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        # Nexus's own labels mark what a workspace owns (and deletes): never the file's to set
        ("labels: {dev.nexus.workspace: other}", "a label outside dev.nexus.*"),
        ('labels: ["dev.nexus.managed=true"]', "a label outside dev.nexus.*"),
        ("labels: {com.docker.compose.project: x}", "com.docker.compose.*"),
        ('labels: {"a\\nb": x}', "a label key of letters"),
        ("labels: {a: {b: c}}", "a text, number or boolean value"),
        ('labels: {a: "\\x1b]0;owned\\x07"}', "no controls"),
        ("labels: a=b", "a mapping of KEY: VALUE or a list"),
        ("hostname: 'bad_host!'", "a host name of letters"),
        ('hostname: "db\\n"', "a host name of letters"),
        ("hostname: -db", "a host name of letters"),
        ("init: 'yes'", "true or false"),
        ("tmpfs: run", "an absolute path in the container"),
        ("tmpfs: /a/../b", "an absolute path in the container"),
        ('tmpfs: ["/run:size=1m;rm -rf /"]', "mount options such as"),
        ("tmpfs: [/run, /run]", "each path once"),
        ("tmpfs: {a: b}", "a path, or a list"),
        ("stop_signal: 'KILL; rm'", "a signal such as SIGINT"),
        ("stop_signal: true", "a signal such as SIGINT"),
        ("stop_grace_period: 10m", "a duration of at most 5m"),
        ("stop_grace_period: -1", "a duration between 0 and 24h"),
        ("stop_grace_period: soon", "a duration such as 500ms"),
        ("shm_size: 0", "a size above 0"),
        ("shm_size: lots", "a size such as 512m"),
        ("shm_size: 99999999999999g", "a size such as 512m"),
        ("shm_size: true", "a size such as 512m"),
        ('container_name: "db\\n"', "a name of letters, digits"),
        ("container_name: -db", "a name of letters, digits"),
        ("container_name: {a: b}", "a name of letters, digits"),
        (f"container_name: {'x' * 64}", "at most 63"),
        # logs leave the engine's files: to the host's syslog or over the network
        ("logging: {driver: syslog}", "json-file or local (other drivers send the logs out"),
        ("logging: {driver: gelf, options: {gelf-address: 'udp://x:1'}}", "json-file or local"),
        ("logging: {options: {syslog-address: 'tcp://x'}}", "one of max-size, max-file, compress"),
        ("logging: {options: {max-size: '10m; x'}}", "labels, env, tag: a plain value"),
        ("logging: {options: {tag: '$(reboot)'}}", "logging.options.tag: expected one of"),
        ("logging: {options: {labels: {a: b}}}", "logging.options.labels: expected one of"),
        ("logging: {driver: local, extra: 1}", "a mapping of driver and options"),
        ("logging: json-file", "a mapping of driver and options"),
        ("cap_drop: ALL", "a list of capability names"),
        ('cap_drop: ["net_raw; x"]', "a capability name such as ALL"),
        ("read_only: 'yes'", "true or false"),
        ("ulimits: {rtprio: 99}", "ulimits.rtprio: expected a limit other than nice, rtprio"),
        ("ulimits: {nice: -20}", "raise its own priority over the host's"),
        ("ulimits: {bogus: 1}", "ulimits.bogus: expected one of core, cpu"),
        ("ulimits: {nofile: {soft: 10, hard: 5}}", "a soft limit no higher than the hard one"),
        ("ulimits: {nofile: {soft: -1, hard: 5}}", "a soft limit no higher than the hard one"),
        ("ulimits: {nofile: many}", "a whole number from -1 (unlimited) up"),
        ("ulimits: {nofile: {soft: 1, max: 2}}", "a whole number from -1 (unlimited) up"),
        ("ulimits: [nofile]", "ulimits: expected a mapping of NAME: LIMIT"),
        ("tty: 1", "services.app.tty: expected true or false"),
        ("stdin_open: 'true'", "services.app.stdin_open: expected true or false"),
        ("networks: {back: {aliases: api}}", "a list of at most 32 names"),
        ("networks: {back: {aliases: ['a b']}}", "names of letters, digits"),
        ("networks: {back: {aliases: [x], ipv4_address: 10.0.0.9}}", "ipv4_address"),
        # a line of /etc/hosts the engine would read otherwise than the file means
        ('extra_hosts: ["nohost"]', "extra_hosts[0]: expected NAME:ADDRESS or NAME=ADDRESS"),
        ('extra_hosts: ["a b:1.2.3.4"]', "a host name of letters, digits"),
        ('extra_hosts: [":1.2.3.4"]', "a host name of letters, digits"),
        ('extra_hosts: ["a:1.2.3.4\\nevil 6.6.6.6"]', "an IP address or host-gateway"),
        ('extra_hosts: ["a:999.1.1.1"]', "extra_hosts[0]: expected an IP address or host-gateway"),
        ('extra_hosts: ["a:"]', "an IP address or host-gateway"),
        ("extra_hosts: {a: null}", "extra_hosts.a: expected an IP address or host-gateway"),
        ("extra_hosts: {a: {b: c}}", "an IP address or host-gateway"),
        ("extra_hosts: a:1.2.3.4", "a list of NAME:ADDRESS or a mapping"),
        ("extra_hosts: [{a: 1.2.3.4}]", "NAME:ADDRESS or NAME=ADDRESS"),
        (f"extra_hosts: [{', '.join(f'h{i}:10.0.0.1' for i in range(65))}]", "at most 64"),
        ("dns: dns.example", "services.app.dns: expected an IP address"),
        ("dns: [8.8.8.8, x]", "services.app.dns[1]: expected an IP address"),
        ("dns: {a: b}", "dns: expected a value or a list of them"),
        ("dns_search: 'a b'", "a domain name such as corp.example"),
        ("dns_search: [-bad.example]", "dns_search[0]: expected a domain name"),
        ('dns_opt: ["ndots:2\\noptions x"]', "a resolver option such as ndots:2"),
        ("dns_opt: ndots:2", "services.app.dns_opt: expected a list"),
    ],
)
def test_hostile_values_are_refused_in_one_error(project: Path, setting: str, words: str) -> None:
    message = _refusal(project, f"services:\n  app:\n    image: x\n    {setting}\n")
    assert words in message and "\n" not in message


@pytest.mark.parametrize(
    ("services", "words"),
    [
        ("  db: {image: x, container_name: web}\n  web: {image: x}\n", "('web' is a service)"),
        (
            "  a: {image: x, container_name: db}\n  b: {image: x, container_name: db}\n",
            "('db' is also 'a''s)",
        ),
    ],
)
def test_a_container_name_names_one_service(project: Path, services: str, words: str) -> None:
    assert words in _refusal(project, f"services:\n{services}")


def test_network_aliases_are_more_names_on_the_workspace_s_network(project: Path) -> None:
    runtime = _load(
        project,
        "    networks:\n      back: {aliases: [api, api-v1]}\n      front: {aliases: [api]}\n"
        "      other:\n",
    )
    assert runtime.aliases == ("api", "api-v1")
    (project / "compose.yaml").write_text(
        "services:\n  a: {image: x, networks: {n: {aliases: [cache]}}}\n"
        "  b: {image: x, networks: {n: {aliases: [cache]}}}\n"
    )
    services = load_compose(project, "compose.yaml").services  # one alias, two services: both
    assert services["a"].runtime.aliases == services["b"].runtime.aliases == ("cache",)
    for clash, owner in (("b", "b"), ("pg", "b")):
        message = _refusal(
            project,
            f"services:\n  a: {{image: x, networks: {{n: {{aliases: [{clash}]}}}}}}\n"
            "  b: {image: x, container_name: pg}\n",
        )
        assert "services.a.networks: expected aliases no other service is named by" in message
        assert f"({clash!r} is {owner!r}'s name)" in message


def test_a_service_may_name_itself(project: Path) -> None:
    (project / "compose.yaml").write_text("services:\n  db: {image: x, container_name: db}\n")
    assert load_compose(project, "compose.yaml").services["db"].runtime.alias == "db"


@pytest.mark.docker
def test_a_shell_service_with_tty_and_stdin_open_keeps_running(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    """The dev-container pattern `tty: true` + `stdin_open: true` around a bare shell: the shell
    waits for input instead of exiting at once (which fails the create)."""
    body = f"services:\n  box:\n    image: {test_image}\n    command: [sh]\n"
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    (project / "compose.yaml").write_text(body)
    failed = run_nexus("workspace", "create", "t0", "--compose", "compose.yaml")
    assert failed.exit_code != 0 and "exited" in failed.stderr  # what the keys are there for
    (project / "compose.yaml").write_text(body + "    tty: true\n    stdin_open: true\n")
    result = run_nexus("workspace", "create", "t1", "--compose", "compose.yaml")
    assert result.exit_code == 0, result.stderr
    (container,) = docker_client.containers.list(
        filters={"label": [f"dev.nexus.project={project_id}"]}
    )
    config = container.attrs["Config"]
    assert (config["Tty"], config["OpenStdin"]) == (True, True)
    shown = run_nexus("workspace", "exec", "t1", "--", "sh", "-c", "echo in-box")
    assert (shown.exit_code, shown.stdout) == (0, "in-box\n")
    assert run_nexus("workspace", "logs", "t1").exit_code == 0  # a TTY's log is not framed
    assert run_nexus("workspace", "delete", "t1", "--force").exit_code == 0


@pytest.mark.docker
def test_two_workspaces_of_a_file_with_container_names_run_at_once(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    """`container_name` is a name on each workspace's own network, as are a network alias and a
    link's: the other service reaches the db by each, in both workspaces, and the engine has two
    containers, one per workspace."""
    (project / "compose.yaml").write_text(
        "services:\n"
        "  db:\n"
        f"    image: {test_image}\n"
        "    container_name: shop-postgres\n"
        "    networks: {backend: {aliases: [pg]}}\n"
        "    command: [sh, -c, 'mkdir -p /www && echo db-of-$$NEXUS_WORKSPACE > /www/index.html"
        " && exec httpd -f -p 5432 -h /www']\n"
        "  web:\n"
        f"    image: {test_image}\n"
        "    command: [sleep, '3600']\n"
        "    links: ['db:database']\n"
    )
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    for name in ("c1", "c2"):
        result = run_nexus("workspace", "create", name, "--compose", "compose.yaml")
        assert result.exit_code == 0, result.stderr
    for name in ("c1", "c2"):
        for host in ("shop-postgres", "pg", "database"):  # container_name, alias, link
            fetch = f"wget -q -O- http://{host}:5432/"
            shown = run_nexus("workspace", "exec", name, "-s", "web", "--", "sh", "-c", fetch)
            assert (shown.exit_code, shown.stdout.strip()) == (0, f"db-of-{name}"), shown.stderr
    names = {
        c.name
        for c in docker_client.containers.list(
            filters={"label": [f"dev.nexus.project={project_id}"]}
        )
    }
    assert "shop-postgres" not in names and len(names) == 4
    for name in ("c1", "c2"):
        assert run_nexus("workspace", "delete", name, "--force").exit_code == 0


@pytest.mark.docker
def test_the_engine_runs_the_container_as_the_file_says(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    """Labels sit beside Nexus's own, the host name, tmpfs, init and stop settings reach the
    container; `down` stops it with its stop signal and waits its grace period (longer than
    Nexus's own 5 s: the trap's last line is written after 6 s)."""
    trap = "echo got-int > /w/stopped; sleep 6; echo clean >> /w/stopped; exit 0"
    (project / "compose.yaml").write_text(
        "services:\n  app:\n"
        f"    image: {test_image}\n"
        "    labels: {com.example.role: worker}\n"
        "    hostname: worker-1\n"
        "    init: false\n"
        "    tmpfs: ['/scratch:size=8m']\n"
        "    shm_size: 32m\n"
        "    logging: {options: {max-size: 1m, max-file: '2'}}\n"
        "    cap_drop: [ALL]\n"
        "    read_only: true\n"
        "    ulimits: {nofile: {soft: 512, hard: 1024}}\n"
        '    extra_hosts: ["host.docker.internal:host-gateway", "api.local=10.1.2.3"]\n'
        "    dns: [9.9.9.9]\n"
        "    dns_search: corp.example\n"
        '    dns_opt: ["ndots:3"]\n'
        "    stop_signal: SIGINT\n"
        "    stop_grace_period: 20s\n"
        "    volumes: ['./:/w']\n"
        f"    command: [sh, -c, 'trap \"{trap}\" INT; while :; do sleep 0.1; done']\n"
    )
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    result = run_nexus("workspace", "create", "rt", "--compose", "compose.yaml")
    assert result.exit_code == 0, result.stderr
    (container,) = docker_client.containers.list(
        filters={"label": [f"dev.nexus.project={project_id}"]}
    )
    labels = container.attrs["Config"]["Labels"]
    assert labels["com.example.role"] == "worker" and labels["dev.nexus.service"] == "app"
    assert container.attrs["Config"]["Hostname"] == "worker-1"
    assert container.attrs["Config"]["StopSignal"] == "SIGINT"
    assert labels["dev.nexus.stop-grace"] == "20"  # Nexus waits it out (no stop timeout in the SDK)
    assert container.attrs["HostConfig"]["Init"] is False
    assert container.attrs["HostConfig"]["Tmpfs"] == {"/scratch": "size=8m"}
    assert container.attrs["HostConfig"]["ShmSize"] == 32 << 20
    log_config = container.attrs["HostConfig"]["LogConfig"]
    assert log_config == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
    assert container.attrs["HostConfig"]["CapDrop"] == ["ALL"]
    assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True
    # the root file system is read-only, and without CAP_CHOWN not even root changes an owner
    for command, words in (
        ("touch /rootfile", "Read-only file system"),
        ("chown 1 /scratch", "Operation not permitted"),
    ):
        refused = run_nexus("workspace", "exec", "rt", "--", "sh", "-c", command)
        assert refused.exit_code != 0 and words in refused.stdout + refused.stderr, refused
    shown = run_nexus(
        "workspace", "exec", "rt", "--", "sh", "-c", "hostname; grep /scratch /proc/mounts"
    )
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == "worker-1" and "tmpfs" in shown.stdout
    limits = run_nexus("workspace", "exec", "rt", "--", "cat", "/proc/1/limits").stdout
    assert re.search(r"Max open files\s+512\s+1024", limits), limits
    host = container.attrs["HostConfig"]
    assert host["ExtraHosts"] == ["host.docker.internal:host-gateway", "api.local:10.1.2.3"]
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"]) == (
        ["9.9.9.9"],
        ["corp.example"],
        ["ndots:3"],
    )
    names = run_nexus("workspace", "exec", "rt", "--", "cat", "/etc/hosts", "/etc/resolv.conf")
    assert names.exit_code == 0, names.stderr
    lines = [line.split() for line in names.stdout.splitlines()]
    assert ["10.1.2.3", "api.local"] in lines
    # host-gateway: the engine wrote its host's address on the container's network
    (gateway,) = [line[0] for line in lines if line[1:] == ["host.docker.internal"]]
    assert gateway.count(".") == 3 and not gateway.startswith("127.")
    assert ["search", "corp.example"] in lines and ["options", "ndots:3"] in lines
    assert run_nexus("workspace", "down", "rt").exit_code == 0
    stopped = project / ".nexus" / "worktrees" / "rt" / "stopped"
    assert stopped.read_text().split() == ["got-int", "clean"]
    assert run_nexus("workspace", "delete", "rt", "--force").exit_code == 0


# --- secrets and configs from files: read-only binds (compose_secrets.py) ---


def test_file_secrets_and_configs_become_read_only_binds(project: Path) -> None:
    (project / "secrets").mkdir()
    (project / "secrets" / "db_password.txt").write_text("s3cret\n")
    (project / "app.conf").write_text("mode=dev\n")
    (project / "compose.yaml").write_text(
        "services:\n  db:\n    image: x\n"
        "    secrets: [db_password, {source: db_password, target: pw/again}]\n"
        "    configs: [app_conf, {source: app_conf, target: /etc/app.conf}]\n"
        "secrets:\n  db_password: {file: ./secrets/db_password.txt}\n"
        "configs:\n  app_conf: {file: app.conf}\n"
    )
    volumes = load_compose(project, "compose.yaml").services["db"].volumes
    assert [(v.source, v.target, v.named, v.read_only) for v in volumes] == [
        ("secrets/db_password.txt", "/run/secrets/db_password", False, True),
        ("secrets/db_password.txt", "/run/secrets/pw/again", False, True),
        ("app.conf", "/app_conf", False, True),
        ("app.conf", "/etc/app.conf", False, True),
    ]


USES = "services: {app: {image: x, secrets: [pw]}}\n"
DECLARES = "secrets: {pw: {file: pw.txt}}\n"


def _uses(entry: str) -> str:
    return f"services: {{app: {{image: x, secrets: [{entry}]}}}}\n{DECLARES}"


@pytest.mark.parametrize(
    ("document", "words"),
    [
        # what Compose reads from elsewhere than a file in the project
        (USES + "secrets: {pw: {environment: DB_PASSWORD}}", "secrets.pw (only file"),
        (USES + "secrets: {pw: {external: true}}", "secrets.pw (only file"),
        (USES + "configs: {c: {content: x}}", "configs.c (only file"),
        (USES + "secrets: [pw]", "secrets (a mapping of names"),
        (_uses("{source: pw, mode: 0400}"), "secrets[0].mode (not supported)"),
        (_uses("{source: pw, uid: '0'}"), "secrets[0].uid (not supported)"),
        # a file outside the project, however it is spelt
        (USES + "secrets: {pw: {file: /etc/shadow}}", "secrets.pw.file: expected a path inside"),
        (USES + "secrets: {pw: {file: ~/.ssh/id_ed25519}}", "secrets.pw.file: expected a path"),
        (USES + "secrets: {pw: {file: ../outside}}", "expected a path inside the project"),
        # names and targets
        (_uses("nosuch"), "('nosuch' is not)"),
        ("services: {app: {image: x, secrets: pw}}\n" + DECLARES, "a list of secrets names"),
        (_uses("{source: pw, target: ../../etc/x}"), "without '..'"),
        (_uses("'-pw'"), "a secret name of letters"),
    ],
)
def test_secrets_and_configs_that_are_not_files_in_the_project_are_refused(
    project: Path, document: str, words: str
) -> None:
    (project / "pw.txt").write_text("x")
    message = _refusal(project, document)
    assert words in message and "\n" not in message


def test_a_secret_through_a_committed_link_out_of_the_project_is_refused(project: Path) -> None:
    (project / "pw").symlink_to("/etc/hostname")
    message = _refusal(
        project,
        "services: {app: {image: x, secrets: [pw]}}\nsecrets: {pw: {file: ./pw}}\n",
    )
    assert "secrets[0]: 'pw' resolves outside" in message


@pytest.mark.docker
def test_a_file_secret_is_read_only_in_the_container(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    (project / "secrets").mkdir()
    (project / "secrets" / "db_password.txt").write_text("s3cret\n")
    (project / "compose.yaml").write_text(
        "services:\n  db:\n"
        f"    image: {test_image}\n"
        "    command: [sleep, '3600']\n"
        "    secrets: [db_password]\n"
        "secrets:\n  db_password: {file: ./secrets/db_password.txt}\n"
    )
    git(project, "add", ".")
    git(project, "commit", "-qm", "a compose file with a secret")
    cleanup_docker.append(find_project(project).project_id())
    result = run_nexus("workspace", "create", "sec", "--compose", "compose.yaml")
    assert result.exit_code == 0, result.stderr
    shown = run_nexus("workspace", "exec", "sec", "--", "cat", "/run/secrets/db_password")
    assert (shown.exit_code, shown.stdout) == (0, "s3cret\n"), shown.stderr
    write = run_nexus(
        "workspace", "exec", "sec", "--", "sh", "-c", "echo x > /run/secrets/db_password"
    )
    assert write.exit_code != 0 and "Read-only file system" in write.stdout + write.stderr
    assert run_nexus("workspace", "delete", "sec", "--force").exit_code == 0


@pytest.mark.docker
def test_a_secret_git_ignores_is_named_before_anything_is_made_then_copied(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    """A secret is usually git-ignored, so a new worktree lacks it: the create says so (and how
    to have it copied) before any container is made; listed in .worktreeinclude, it is there."""
    (project / "secrets").mkdir()
    (project / "secrets" / "pw.txt").write_text("s3cret\n")
    (project / ".gitignore").write_text("secrets/\n")
    (project / "compose.yaml").write_text(
        "services:\n  db:\n"
        f"    image: {test_image}\n"
        "    command: [sleep, '3600']\n"
        "    secrets: [pw]\n"
        "secrets:\n  pw: {file: ./secrets/pw.txt}\n"
    )
    git(project, "add", ".")
    git(project, "commit", "-qm", "a compose file whose secret git ignores")
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    result = run_nexus("workspace", "create", "ig", "--compose", "compose.yaml")
    assert result.exit_code == 1
    assert "./secrets/pw.txt is not in the workspace's worktree" in result.stderr
    assert ".worktreeinclude" in result.stderr and result.stderr.count("error:") == 1
    labels = {"label": [f"dev.nexus.project={project_id}"]}
    assert docker_client.containers.list(all=True, filters=labels) == []
    (project / ".worktreeinclude").write_text("secrets/\n")
    result = run_nexus("workspace", "create", "ig", "--compose", "compose.yaml")
    assert result.exit_code == 0, result.stderr
    shown = run_nexus("workspace", "exec", "ig", "--", "cat", "/run/secrets/pw")
    assert shown.stdout == "s3cret\n", shown.stderr
    assert run_nexus("workspace", "delete", "ig", "--force").exit_code == 0


# --- pull_policy: when the image is pulled or built ---


@pytest.mark.parametrize(
    ("value", "policy"),
    [("", "missing"), ("if_not_present", "missing"), ("always", "always"), ("never", "never")],
)
def test_the_pull_policy_is_read(project: Path, value: str, policy: str) -> None:
    setting = f"    pull_policy: {value}\n" if value else ""
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: x\n{setting}")
    assert load_compose(project, "compose.yaml").services["app"].pull_policy == policy


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("pull_policy: daily", "missing, always, never or build"),
        ("pull_policy: every_12h", "missing, always, never or build"),
        ("pull_policy: build", "build only with a build: section"),
        ("pull_policy: [always]", "missing, always, never or build"),
    ],
)
def test_a_pull_policy_nexus_cannot_keep_is_refused(
    project: Path, setting: str, words: str
) -> None:
    message = _refusal(project, f"services:\n  app:\n    image: x\n    {setting}\n")
    assert words in message


@pytest.mark.docker
@pytest.mark.parametrize(
    ("image", "policy", "words"),
    [
        # never: the image must be on the engine; nothing is pulled
        ("nexus-no-such-image:1", "never", "image nexus-no-such-image:1 is not on the engine"),
        # always: pulled even when it is on the engine (no registry answers here)
        (None, "always", "cannot pull image nexus-test-busybox:latest"),
    ],
)
def test_never_and_always_ask_the_engine_as_they_say(
    project: Path,
    test_image: str,
    cleanup_docker: list[str],
    image: str | None,
    policy: str,
    words: str,
) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app:\n"
        f"    image: {image or test_image}\n    pull_policy: {policy}\n    command: [sleep, '60']\n"
    )
    cleanup_docker.append(find_project(project).project_id())
    result = run_nexus("workspace", "create", "pp", "--compose", "compose.yaml")
    assert result.exit_code != 0 and words in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1 and "bug" not in result.stderr
    assert not (project / ".nexus" / "worktrees" / "pp").exists()


@pytest.mark.docker
def test_never_runs_an_image_the_engine_has(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    (project / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    pull_policy: never\n"
        "    command: [sleep, '60']\n"
    )
    cleanup_docker.append(find_project(project).project_id())
    assert run_nexus("workspace", "create", "pn", "--compose", "compose.yaml").exit_code == 0
    assert run_nexus("workspace", "delete", "pn", "--force").exit_code == 0


@pytest.mark.docker
def test_build_rebuilds_the_image_at_every_start(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    """`up` after `down` reuses a built image, unless the policy is build: then the Dockerfile
    as the worktree has it now is built again."""
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_text(f"FROM {test_image}\nENV MARK=first\n")
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    build: ./app\n    pull_policy: build\n"
        "    command: [sh, -c, 'echo mark=$$MARK; exec sleep 3600']\n"
    )
    git(project, "add", ".")
    git(project, "commit", "-qm", "a service built at every start")
    cleanup_docker.append(find_project(project).project_id())
    assert run_nexus("workspace", "create", "pb", "--compose", "compose.yaml").exit_code == 0
    assert run_nexus("workspace", "down", "pb").exit_code == 0
    dockerfile = project / ".nexus" / "worktrees" / "pb" / "app" / "Dockerfile"
    dockerfile.write_text(f"FROM {test_image}\nENV MARK=second\n")
    up = run_nexus("workspace", "up", "pb")
    assert up.exit_code == 0, up.stderr
    shown = run_nexus("workspace", "exec", "pb", "--", "sh", "-c", "echo $MARK")
    assert shown.stdout.strip() == "second", shown.stderr
    assert run_nexus("workspace", "delete", "pb", "--force").exit_code == 0


# --- platform: the image's OS and architecture ---


def test_the_platform_is_read_and_checked(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    platform: linux/arm64/v8\n"
    )
    assert load_compose(project, "compose.yaml").services["app"].platform == "linux/arm64/v8"
    for value in ("linux", "'linux/amd64; x'", "[linux/amd64]", "Linux/AMD64"):
        message = _refusal(project, f"services:\n  app:\n    image: x\n    platform: {value}\n")
        assert "services.app.platform: expected OS/ARCH[/VARIANT]" in message


@pytest.mark.parametrize(
    ("found", "wanted", "same"),
    [
        ("linux/amd64", "", True),
        ("linux/amd64", "linux/amd64", True),
        ("linux/arm64/v8", "linux/arm64", True),
        ("linux/arm64", "linux/arm64/v8", True),
        ("linux/arm/v7", "linux/arm/v6", False),
        ("linux/amd64", "linux/arm64", False),
        ("windows/amd64", "linux/amd64", False),
    ],
)
def test_an_image_s_platform_is_the_one_named(found: str, wanted: str, same: bool) -> None:
    assert engine_prep.same_platform(found, wanted) is same


@pytest.mark.docker
def test_the_platform_picks_the_image_the_engine_runs(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    """The engine's own platform (what a file written on another machine often names) runs the
    local image; another one is never the local image: with pull_policy never, one error naming
    both; otherwise a pull of that platform is tried (no registry answers here)."""
    version = docker_client.version()
    own = f"{version['Os']}/{version['Arch']}"
    other = "linux/s390x" if own != "linux/s390x" else "linux/amd64"
    cleanup_docker.append(find_project(project).project_id())

    def create(platform: str, policy: str = "missing") -> Any:
        (project / "compose.yaml").write_text(
            f"services:\n  app:\n    image: {test_image}\n    platform: {platform}\n"
            f"    pull_policy: {policy}\n    command: [sleep, '60']\n"
        )
        return run_nexus("workspace", "create", "pf", "--compose", "compose.yaml")

    assert create(own, "never").exit_code == 0
    (container,) = docker_client.containers.list(filters={"label": ["dev.nexus.workspace=pf"]})
    assert container.attrs["Platform"] == version["Os"]
    assert run_nexus("workspace", "delete", "pf", "--force").exit_code == 0
    refused = create(other, "never")
    words = f"image {test_image} on the engine is {own}, not {other}, and its pull_policy is never"
    assert refused.exit_code != 0 and words in refused.stderr, refused.stderr
    pulled = create(other)
    assert pulled.exit_code != 0 and f"cannot pull image {test_image}" in pulled.stderr
    assert not (project / ".nexus" / "worktrees" / "pf").exists()


# --- links: Compose's older way to reach a service and start after it ---


def test_links_start_after_the_service_and_name_it(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n"
        "  web: {image: x, links: ['db:database', cache], depends_on: {db: {condition: "
        "service_healthy}}}\n"
        "  worker: {image: x, links: ['db:pg']}\n"
        "  db: {image: x, healthcheck: {test: [CMD, 'true']}}\n"
        "  cache: {image: x}\n"
    )
    template = load_compose(project, "compose.yaml")
    web = template.services["web"]
    # a link waits for the start; a depends_on of the same service says more and wins
    assert web.depends_conditions == {"db": "service_healthy", "cache": "service_started"}
    assert template.services["worker"].depends_conditions == {"db": "service_started"}
    assert template.services["db"].runtime.aliases == ("database", "pg")
    assert template.services["cache"].runtime.aliases == ()
    order = [s.name for s in template.start_order()]
    assert order.index("db") < order.index("web") and order.index("cache") < order.index("web")


@pytest.mark.parametrize(
    ("links", "words"),
    [
        ("[nope]", "links[0]: expected SERVICE or SERVICE:ALIAS of a service that runs"),
        ("db", "links: expected a list of SERVICE or SERVICE:ALIAS"),
        ("['db:a b']", "links[0]: expected an alias of letters"),
        ("[{db: x}]", "links[0]: expected SERVICE or SERVICE:ALIAS"),
        ("['db:cache']", "links[0]: expected an alias that is not a service ('cache')"),
    ],
)
def test_a_link_that_cannot_be_kept_is_refused(project: Path, links: str, words: str) -> None:
    message = _refusal(
        project,
        f"services:\n  web: {{image: x, links: {links}}}\n  db: {{image: x}}\n"
        "  cache: {image: x}\n",
    )
    assert "services.web." + words in message and "\n" not in message
