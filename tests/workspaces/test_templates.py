from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError, NotFoundError, UsageError
from nexus_cli.workspaces.templates import available, load_template

SHIPPED = ("bare", "node-postgres", "python-postgres", "go-postgres")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_templates_parse(name: str) -> None:
    template = load_template(name, None, {})
    assert template.origin == "builtin"
    if name == "bare":
        assert template.services == {}
    else:
        assert [s.name for s in template.start_order()] == ["db", "app"]
        db = template.services["db"]
        assert db.image == "postgres:16"
        assert db.healthcheck is not None and db.healthcheck.test[0] == "CMD-SHELL"
        assert db.ports[0].container_port == 5432
        assert db.volumes[0].named


def test_variables_substitute_and_override(tmp_path: Path) -> None:
    template = load_template("node-postgres", None, {"NODE_VERSION": "22", "APP_PORT": "4000"})
    app = template.services["app"]
    assert app.image == "node:22"
    assert app.ports[0].container_port == 4000
    assert "PORT=4000" in template.files[".env.nexus"]


def test_a_hook_keeps_the_workspaces_own_names_until_it_runs(tmp_path: Path) -> None:
    """What a person approves is one text for every workspace: ``${NEXUS_WORKSPACE}`` stays in a
    hook's command (run_hooks fills it in) while a --var value is substituted, and a file gets
    both; an argv hook is approved as the shell line that runs that same argv."""
    _write(
        tmp_path,
        "named",
        "x-nexus:\n  variables: {WHO: you}\n"
        "  files: {a.txt: '${NEXUS_WORKSPACE} ${WHO}'}\n  hooks:\n"
        "    post_create: [{service: app, command: 'echo ${NEXUS_WORKSPACE:-x} ${WHO}'}]\n"
        "    post_start: [{service: app, command: [echo, '${WHO} it', \"it's\"]}]\n"
        "services:\n  app: {image: img}\n",
    )
    template = load_template("named", tmp_path, {"WHO": "me", "NEXUS_WORKSPACE": "w1"})
    assert template.files["a.txt"] == "w1 me"
    assert template.hooks["post_create"][0].text == "echo ${NEXUS_WORKSPACE} me"
    assert template.hooks["post_start"][0].text == "echo 'me it' 'it'\"'\"'s'"


def test_unknown_variable_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no variable 'NOPE'"):
        load_template("node-postgres", None, {"NOPE": "1"})


def _write(root: Path, name: str, text: str) -> Path:
    folder = root / ".nexus" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def test_scalars_reach_the_container_as_compose_writes_them(tmp_path: Path) -> None:
    """`true` is "true" (it was "True", Python's spelling), a whole float has no fraction."""
    _write(
        tmp_path,
        "scalars",
        "services:\n  app:\n    image: x\n    command: [run, true, 1e3, 2.5]\n"
        "    environment: {FLAG: true, BIG: 1e3, N: 7}\n"
        "    build: {context: ., args: {DEBUG: false, SIZE: 1e3}}\n",
    )
    app = load_template("scalars", tmp_path, {}).services["app"]
    assert app.command == ["run", "true", "1000", "2.5"]
    assert app.environment == {"FLAG": "true", "BIG": "1000", "N": "7"}
    assert app.build is not None and app.build.args == {"DEBUG": "false", "SIZE": "1000"}


def test_project_template_wins_over_builtin(tmp_path: Path) -> None:
    _write(tmp_path, "bare", "x-nexus: {description: mine}\nservices: {}\n")
    template = load_template("bare", tmp_path, {})
    assert template.origin == "project"
    assert template.description == "mine"
    assert available(tmp_path)["bare"][0] == "project"
    assert available(tmp_path)["node-postgres"][0] == "builtin"


def test_user_template_is_found(isolated_home: Path) -> None:
    folder = isolated_home / ".config" / "nexus" / "templates"
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text("services:\n  s:\n    image: alpine\n")
    assert load_template("mine", None, {}).origin == "user"


def test_missing_template_lists_available() -> None:
    with pytest.raises(NotFoundError) as info:
        load_template("nope", None, {})
    assert info.value.hint is not None and "node-postgres" in info.value.hint


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        (
            "services:\n  db:\n    image: x\n    ports: ['abc']\n",
            "services.db.ports[0]",
            "CONTAINER_PORT",
        ),
        ("services:\n  db:\n    command: x\n", "services.db.image", "an image name"),
        (
            "services:\n  db:\n    image: x\n    restart: always\n",
            "services.db.restart",
            "supported keys",
        ),
        (
            "services:\n  db:\n    image: x\n    depends_on: [web]\n",
            "services.db.depends_on",
            "names of services",
        ),
        (
            "services:\n  db:\n    image: x\n    volumes: ['./../up:/x']\n",
            "services.db.volumes[0]",
            "inside the worktree",
        ),
        (
            "services:\n  db:\n    image: x\n    healthcheck: {test: 'true', interval: soon}\n",
            "services.db.healthcheck.interval",
            "a duration",
        ),
        ("services: [a]\n", "services", "a mapping"),
        (
            "x-nexus:\n  files:\n    ../evil: x\nservices: {}\n",
            "x-nexus.files.../evil",
            "relative path",
        ),
        (
            "x-nexus:\n  hooks:\n    post_create: [{service: nope, command: x}]\nservices: {}\n",
            "x-nexus.hooks.post_create[0].service",
            "one of the services",
        ),
        ("bogus: 1\n", "bogus", "unsupported top-level key"),
    ],
)
def test_invalid_template_names_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = _write(tmp_path, "bad", text)
    with pytest.raises(ConfigError) as info:
        load_template("bad", tmp_path, {})
    assert str(path) in info.value.message
    assert f": {key}:" in info.value.message
    assert expected in info.value.message


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad", "services:\n  db: [\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+") as info:
        load_template("bad", tmp_path, {})
    assert str(path) in info.value.message


def test_dependency_cycle_is_reported(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "cyc",
        "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
    )
    with pytest.raises(ConfigError, match="dependency cycle"):
        load_template("cyc", tmp_path, {})


def test_required_variable_needs_a_value(tmp_path: Path) -> None:
    _write(tmp_path, "req", "x-nexus:\n  variables:\n    TOKEN: {}\nservices: {}\n")
    with pytest.raises(UsageError, match="needs a value for 'TOKEN'"):
        load_template("req", tmp_path, {})
    assert load_template("req", tmp_path, {"TOKEN": "t"}).variables == {"TOKEN": None}


def test_a_misspelt_template_suggests_the_closest() -> None:
    with pytest.raises(NotFoundError) as info:
        load_template("bar", None, {})
    assert info.value.hint == "did you mean 'bare'?"


# What would widen a container's reach beyond its workspace (issue 25, cause 2): each is refused
# by name, never silently dropped. docs/security.md lists them.
SERVICE = "services:\n  app:\n    image: x\n"
WIDENING = {
    "privileged": "privileged: true",
    "network_mode": "network_mode: host",
    "pid": "pid: host",
    "ipc": "ipc: host",
    "cap_add": "cap_add: [SYS_ADMIN]",
    "devices": "devices: ['/dev/sda:/dev/sda']",
    "security_opt": "security_opt: ['seccomp:unconfined']",
    "userns_mode": "userns_mode: host",
    "sysctls": "sysctls: {net.ipv4.ip_forward: 1}",
    "networks": "networks: [host]",
    "volumes_from": "volumes_from: [other]",
    "cgroup_parent": "cgroup_parent: /",
}


@pytest.mark.parametrize("key", sorted(WIDENING))
def test_service_keys_that_widen_exposure_are_refused(tmp_path: Path, key: str) -> None:
    path = _write(tmp_path, "wide", SERVICE + f"    {WIDENING[key]}\n")
    with pytest.raises(ConfigError, match="one of the supported keys") as info:
        load_template("wide", tmp_path, {})
    assert f"{path}: services.app.{key}:" in info.value.message


@pytest.mark.parametrize(
    ("volume", "key"),
    [
        ("/var/run/docker.sock:/var/run/docker.sock", "services.app.volumes[0]"),
        ("/:/host", "services.app.volumes[0]"),
        ("/etc:/etc:ro", "services.app.volumes[0]"),
        ("~/.ssh:/root/.ssh", "services.app.volumes[0]"),
        ("./../up:/x", "services.app.volumes[0]"),
    ],
)
def test_host_path_and_socket_mounts_are_refused(tmp_path: Path, volume: str, key: str) -> None:
    path = _write(tmp_path, "wide", SERVICE + f"    volumes: ['{volume}']\n")
    with pytest.raises(ConfigError) as info:
        load_template("wide", tmp_path, {})
    assert f"{path}: {key}:" in info.value.message


@pytest.mark.parametrize(
    "port",
    [
        "'0.0.0.0:8080:80'",
        "'127.0.0.1:8080:80'",
        "{target: 80, published: 8080, host_ip: 0.0.0.0}",
        "{target: 80, mode: host}",
    ],
)
def test_a_template_cannot_choose_the_host_interface(tmp_path: Path, port: str) -> None:
    path = _write(tmp_path, "wide", SERVICE + f"    ports: [{port}]\n")
    with pytest.raises(ConfigError) as info:
        load_template("wide", tmp_path, {})
    assert f"{path}: services.app.ports[0]" in info.value.message


@pytest.mark.parametrize(("value", "user"), [("1000", "1000"), ("'app:app'", "app:app")])
def test_a_service_may_name_its_user(tmp_path: Path, value: str, user: str) -> None:
    _write(tmp_path, "who", SERVICE + f"    user: {value}\n")
    assert load_template("who", tmp_path, {}).services["app"].user == user
    path = _write(tmp_path, "bad", SERVICE + "    user: '0;rm'\n")
    with pytest.raises(ConfigError, match=f"{path}: services.app.user: expected USER or"):
        load_template("bad", tmp_path, {})


def test_a_container_port_published_twice_is_refused_not_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path, "twice", SERVICE + "    ports: ['8080:80', '5432', '9090:80']\n")
    with pytest.raises(ConfigError) as info:
        load_template("twice", tmp_path, {})
    assert info.value.message == (
        f"{path}: services.app.ports[2]: container port 80/tcp is already published by "
        "services.app.ports[0]; a workspace publishes it once"
    )
    _write(tmp_path, "protocols", SERVICE + "    ports: ['53:53', '53:53/udp']\n")
    ports = load_template("protocols", tmp_path, {}).services["app"].ports
    assert [(p.container_port, p.protocol) for p in ports] == [(53, "tcp"), (53, "udp")]


@pytest.mark.parametrize(
    ("declaration", "key"),
    [
        ("{driver_opts: {type: none, o: bind, device: /}}", "volumes.data.driver_opts"),
        ("{driver: local}", "volumes.data.driver"),
        ("{external: true}", "volumes.data.external"),
        ("{name: other-project-data}", "volumes.data.name"),
        ("bind", "volumes.data"),
    ],
)
def test_volume_declarations_cannot_bind_host_folders(
    tmp_path: Path, declaration: str, key: str
) -> None:
    text = SERVICE + f"    volumes: ['data:/data']\nvolumes:\n  data: {declaration}\n"
    path = _write(tmp_path, "wide", text)
    with pytest.raises(ConfigError, match="by name only") as info:
        load_template("wide", tmp_path, {})
    assert f"{path}: {key}:" in info.value.message


def test_plain_volume_declarations_still_parse(tmp_path: Path) -> None:
    text = SERVICE + "    volumes: ['data:/data']\nvolumes:\n  data:\n  more: {}\n"
    _write(tmp_path, "plain", text)
    assert load_template("plain", tmp_path, {}).services["app"].volumes[0].named
