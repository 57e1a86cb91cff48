"""A project's own Compose file as a workspace: translation, refusals, and two workspaces of one
file running at once on the real engine (build:, env_file, healthcheck, profile, conditions)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.project import find_project
from nexus_cli.workspaces.compose import load_compose
from tests.conftest import git, run_nexus

COMPOSE = """\
name: shop
x-common: &common
  image: {image}
services:
  db:
    <<: *common
    command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 100ms
      retries: 50
  migrate:
    <<: *common
    command: ["sh", "-c", "echo migrated > /data/migrated"]
    volumes: ["data:/data"]
    depends_on:
      db: {{condition: service_healthy}}
  web:
    build:
      context: ./app
      args: {{GREETING: hi}}
    env_file: .env
    environment:
      MODE: test
    ports: ["127.0.0.1:8080:8080"]
    command:
      - sh
      - -c
      - 'mkdir -p /tmp/www && echo "$$GREETING $$SECRET $$MODE" > /tmp/www/index.html
        && exec httpd -f -p 8080 -h /tmp/www'
    depends_on:
      db: {{condition: service_healthy}}
      migrate: {{condition: service_completed_successfully}}
    deploy:
      resources:
        limits: {{cpus: "0.5", memory: 64m}}
  debug:
    extends: {{file: compose/base.yaml, service: tool}}
    profiles: [debug]
volumes:
  data:
"""
BASE = """\
services:
  tool:
    image: {image}
    command: ["sleep", "3600"]
    environment: [ROLE=debug]
"""
DOCKERFILE = """\
FROM {image}
ARG GREETING=none
ENV GREETING=$GREETING
"""


def write_project(root: Path, image: str) -> None:
    (root / "compose.yaml").write_text(COMPOSE.format(image=image))
    (root / "compose").mkdir()
    (root / "compose" / "base.yaml").write_text(BASE.format(image=image))
    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(DOCKERFILE.format(image=image))
    (root / ".env").write_text("# secrets\nSECRET='s3cret'\nexport EMPTY=\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "compose project")


def test_translation_of_a_compose_file(project: Path) -> None:
    write_project(project, "img:1")
    template = load_compose(project, "compose.yaml")
    assert set(template.services) == {"db", "migrate", "web"}  # debug: profile not selected
    web = template.services["web"]
    assert web.image == "(built from ./app)"  # tagged per workspace when built
    assert (
        web.build is not None
        and web.build.context == "app"
        and web.build.args == {"GREETING": "hi"}
    )
    assert web.environment == {"SECRET": "s3cret", "EMPTY": "", "MODE": "test"}
    assert [(p.container_port, p.preferred_host_port) for p in web.ports] == [(8080, 8080)]
    assert web.depends_conditions == {
        "db": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    assert (web.nano_cpus, web.mem_limit) == (500_000_000, 64 << 20)
    assert "$GREETING" in str(web.command)  # $$ is a literal $
    assert [s.name for s in template.start_order()] == ["db", "migrate", "web"]
    debug = load_compose(project, "compose.yaml", profiles=["debug"]).services["debug"]
    assert (debug.image, debug.command, debug.environment) == (
        "img:1",
        ["sleep", "3600"],
        {"ROLE": "debug"},
    )


def test_compose_watch_s_develop_section_is_ignored_as_up_ignores_it(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  web:\n    image: x\n    command: [serve]\n"
        "    develop:\n      watch:\n        - {action: sync, path: ./src, target: /app/src}\n"
        "        - {action: rebuild, path: package.json}\n"
    )
    (project / "plain.yaml").write_text("services:\n  web:\n    image: x\n    command: [serve]\n")
    watched = load_compose(project, "compose.yaml").services["web"]
    assert watched == load_compose(project, "plain.yaml").services["web"]


def test_unsupported_keys_are_named_in_one_error(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    privileged: true\n    storage_opt: {size: 1G}\n"
        "    healthcheck: {test: [CMD, 'true'], start_interval: 1s}\n    blkio_config: {weight: 300}\n"
        "secrets: {db: {external: true}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_compose(project, "compose.yaml")
    message = caught.value.message
    assert "\n" not in message and message.startswith(f"{project / 'compose.yaml'}: not supported")
    for key in (
        "secrets.db (only file",
        "services.app.privileged (refused",
        "services.app.storage_opt",
        "services.app.healthcheck.start_interval",
        "services.app.blkio_config",
    ):
        assert key in message


@pytest.mark.parametrize(
    ("service", "words"),
    [
        ("volumes: ['/etc:/host-etc']", "host paths are refused"),
        ("volumes: ['/var/run/docker.sock:/var/run/docker.sock']", "host paths are refused"),
        ("volumes: ['../outside:/x']", "a path inside the project"),
        ("ports: ['0.0.0.0:80:80']", "cannot publish ports beyond this machine"),
        ("network_mode: host", "services.app.network_mode (refused"),
        ("build: {context: ../elsewhere}", "a path inside the project"),
        ("env_file: ../secrets.env", "a path inside the project"),
    ],
)
def test_what_the_trust_rules_refuse(project: Path, service: str, words: str) -> None:
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: x\n    {service}\n")
    with pytest.raises(ConfigError, match=None) as caught:
        load_compose(project, "compose.yaml")
    assert words in caught.value.message


def test_paths_through_symlinks_out_of_the_project_are_refused(project: Path) -> None:
    outside = project.parent / "outside.env"
    outside.write_text("TOKEN=stolen\n")
    (project / "link.env").symlink_to(outside)
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    env_file: link.env\n"
    )
    with pytest.raises(ConfigError, match="resolves outside"):
        load_compose(project, "compose.yaml")
    with pytest.raises(UsageError, match="resolves outside"):
        load_compose(project, "../outside.env")


def test_profiles_select_services(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    depends_on: [tools]\n"
        "  tools:\n    image: x\n    profiles: [dev]\n"
    )
    with pytest.raises(ConfigError, match="select its profile"):
        load_compose(project, "compose.yaml")
    assert set(load_compose(project, "compose.yaml", profiles=["dev"]).services) == {"app", "tools"}
    with pytest.raises(UsageError, match="no service has the profile 'prod'"):
        load_compose(project, "compose.yaml", profiles=["prod"])


def test_a_file_whose_every_service_has_a_profile_needs_one_chosen(project: Path) -> None:
    """As `docker compose up`: nothing selected is an error, not a workspace with no services."""
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    profiles: [dev]\n"
        "  tools:\n    image: x\n    profiles: [debug]\n"
    )
    with pytest.raises(UsageError, match="no service selected") as raised:
        load_compose(project, "compose.yaml")
    assert raised.value.hint == "choose one with --profile (debug, dev)"
    assert set(load_compose(project, "compose.yaml", profiles=["dev"]).services) == {"app"}


def test_a_template_can_point_at_the_compose_file(project: Path) -> None:
    write_project(project, "img:1")
    folder = project / ".nexus" / "templates"
    folder.mkdir(parents=True)
    (folder / "shop.yaml").write_text(
        "x-nexus:\n  compose: compose.yaml\n  profiles: [debug]\n  default_service: web\n"
    )
    result = run_nexus("template", "show", "shop", "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert set(shown["services"]) == {"db", "migrate", "web", "debug"}
    assert shown["default_service"] == "web"
    assert shown["services"]["web"]["build"]["context"] == "app"


def test_cli_refuses_in_one_line(project: Path) -> None:
    (project / "compose.yaml").write_text("services:\n  app:\n    image: x\n    privileged: true\n")
    result = run_nexus("workspace", "create", "w1", "--compose", "compose.yaml")
    assert result.exit_code != 0
    assert "services.app.privileged (refused" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("error:") == 1
    outside = run_nexus("workspace", "create", "w2", "--compose", "/etc/passwd")
    assert outside.exit_code != 0 and "resolves outside" in outside.stderr
    both = run_nexus("workspace", "create", "w3", "-t", "bare", "--compose", "compose.yaml")
    assert both.exit_code == 2 and "give --template or --compose, not both" in both.stderr


def test_nexus_s_settings_in_the_project_s_own_file_are_named_not_dropped(project: Path) -> None:
    """`x-nexus` belongs in a template pointing at the file: in the file itself it was ignored
    without a word (host ports asked for there never came)."""
    (project / "compose.yaml").write_text(
        "x-nexus: {host_ports: [dev]}\nx-common: &c {image: x}\nservices:\n  app: *c\n"
    )
    with pytest.raises(ConfigError, match=re.escape("x-nexus (a Compose file runs as it is")):
        load_compose(project, "compose.yaml")


def test_extension_fields_are_ignored_wherever_compose_allows_them(project: Path) -> None:
    """Compose allows `x-…` fields in any of its structures and ignores them; a service's own
    (`x-develop`, another tool's settings) made the whole file "not supported". Data keeps
    them (`environment`, `labels`), and `x-nexus` in a service is still named."""
    (project / "e.env").write_text("A=1\n")
    (project / "compose.yaml").write_text(
        """
services:
  db:
    image: busybox
    x-tool: {any: thing}
    healthcheck: {test: ["CMD", "true"], interval: 1s, x-h: 1}
    deploy: {x-d: 1, resources: {x-r: 1, limits: {memory: 64M, x-l: 1}}}
    networks: {default: {aliases: [dbx], x-n: 1}}
    environment: {x-kept: "1"}
  app:
    image: busybox
    build: {context: ., x-b: 1}
    depends_on: {db: {condition: service_healthy, x-dep: 1}}
    ports: [{target: 80, published: "18081", host_ip: 127.0.0.1, x-p: 1}]
    volumes: [{type: volume, source: data, target: /data, x-v: 1, volume: {nocopy: true, x-w: 1}}]
    env_file: [e.env]
    labels: {x-label: "2"}
volumes:
  data: {x-vol: 1}
networks:
  default: {x-net: 1}
"""
    )
    template = load_compose(project, "compose.yaml")
    db, app = template.services["db"], template.services["app"]
    assert db.healthcheck is not None and db.healthcheck.interval_s == 1.0
    assert db.mem_limit == 64 * 1024 * 1024 and "dbx" in db.runtime.aliases
    assert db.environment == {"x-kept": "1"}
    assert app.depends_conditions == {"db": "service_healthy"}
    assert [(p.container_port, p.preferred_host_port) for p in app.ports] == [(80, 18081)]
    assert [(v.source, v.target, v.no_copy) for v in app.volumes] == [("data", "/data", True)]
    assert app.runtime.labels == {"x-label": "2"} and app.environment == {"A": "1"}
    (project / "compose.yaml").write_text("services:\n  app: {image: x, x-nexus: {a: 1}}\n")
    with pytest.raises(ConfigError, match=re.escape("services.app.x-nexus (a Compose file")):
        load_compose(project, "compose.yaml")


def test_a_tmpfs_volume_is_a_tmpfs_of_the_container(project: Path) -> None:
    """`volumes: [{type: tmpfs, …}]` was refused ("expected type volume or bind"); it is the
    container's tmpfs, as `tmpfs:` says, with Compose's size, mode (a number: 1777 is decimal,
    as Compose reads it) and read_only."""
    (project / "compose.yaml").write_text(
        """
services:
  app:
    image: busybox
    tmpfs: [/run]
    volumes:
      - data:/data
      - {type: tmpfs, target: /a, tmpfs: {size: 1048576, mode: 1777}}
      - {type: tmpfs, target: /b, tmpfs: {mode: 0o1777, size: 2m}}
      - {type: tmpfs, target: /c, read_only: true}
"""
    )
    app = load_compose(project, "compose.yaml").services["app"]
    assert app.runtime.tmpfs == {
        "/run": "",
        "/a": "size=1048576,mode=3361",
        "/b": "size=2m,mode=1777",
        "/c": "ro",
    }
    assert [v.target for v in app.volumes] == ["/data"]
    for entry, words in (
        ("{type: tmpfs, target: /run}", "volumes[0]: expected each path once (/run is a tmpfs"),
        ("{type: tmpfs, source: x, target: /a}", "volumes[0].source: expected no source"),
        ("{type: tmpfs, target: a}", "volumes[0].target: expected an absolute path"),
        ("{type: tmpfs, target: /a, tmpfs: {mode: 5000}}", "tmpfs.mode: expected permission bits"),
        ("{type: tmpfs, target: /a, tmpfs: {size: 1t}}", "tmpfs.size: expected bytes"),
        ("{type: tmpfs, target: /a, tmpfs: {uid: 1}}", "volumes[0].tmpfs.uid (not supported)"),
        ("{type: volume, source: d, target: /a, tmpfs: {}}", "tmpfs (only with type: tmpfs)"),
    ):
        (project / "compose.yaml").write_text(
            f"services:\n  app:\n    image: x\n    tmpfs: [/run]\n    volumes: [{entry}]\n"
        )
        with pytest.raises(ConfigError, match=re.escape(words)):
            load_compose(project, "compose.yaml")


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
        return str(answer.read().decode().strip())


@pytest.mark.docker
def test_one_compose_file_runs_in_two_workspaces_at_once(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: object
) -> None:
    write_project(project, test_image)
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    created = {}
    for name in ("w1", "w2"):
        result = run_nexus(
            "workspace", "create", name, "--compose", "compose.yaml", "--profile", "debug", "--json"
        )
        assert result.exit_code == 0, result.stderr
        created[name] = json.loads(result.stdout)
    web_ports = {
        name: next(p["host_port"] for p in data["ports"] if p["service"] == "web")
        for name, data in created.items()
    }
    assert len(set(web_ports.values())) == 2
    for port in web_ports.values():
        assert _get(port) == "hi s3cret test"  # build arg, env_file, environment
    client = docker_client
    for name in ("w1", "w2"):
        web = client.containers.get(f"nexus-{project_id}-{name}-web")  # type: ignore[attr-defined]
        assert web.attrs["HostConfig"]["NanoCpus"] == 500_000_000
        assert web.attrs["HostConfig"]["Memory"] == 64 << 20
        assert web.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
        debug = client.containers.get(f"nexus-{project_id}-{name}-debug")  # type: ignore[attr-defined]
        assert debug.status == "running"
    label = {"label": [f"dev.nexus.project={project_id}"]}
    networks = client.networks.list(filters=label)  # type: ignore[attr-defined]
    volumes = client.volumes.list(filters=label)  # type: ignore[attr-defined]
    assert len({n.name for n in networks}) == 2 and len({v.name for v in volumes}) == 2
    images = client.images.list(filters=label)  # type: ignore[attr-defined]
    assert {t for i in images for t in i.tags} == {
        f"nexus-build-{project_id}:w1.web",
        f"nexus-build-{project_id}:w2.web",
    }
    for name in ("w1", "w2"):
        result = run_nexus("workspace", "delete", name, "--force")
        assert result.exit_code == 0, result.stderr
    assert client.images.list(filters=label) == []  # type: ignore[attr-defined]
    assert client.volumes.list(filters=label) == []  # type: ignore[attr-defined]


@pytest.mark.docker
def test_a_build_that_fails_in_a_create_says_to_run_it_again_not_up(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    """The create undoes itself, so the hint may not send you to `up` (no workspace is left)."""
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_text(f"FROM {test_image}\nRUN false\n")
    (project / "compose.yaml").write_text(
        "services:\n  web:\n    build: {context: ./app}\n    command: [sleep, '60']\n"
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "bad build")
    cleanup_docker.append(find_project(project).project_id())
    created = run_nexus("workspace", "create", "b1", "--compose", "compose.yaml")
    assert created.exit_code == 1 and "cannot build the image of service 'web'" in created.stderr
    assert "then run the command again" in created.stderr and "workspace up" not in created.stderr
    assert "removed what this create had made" in created.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_interpolation_follows_compose(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_cli.workspaces.compose_interpolation import interpolate

    env = {"SET": "v", "EMPTY": ""}
    path = project / "compose.yaml"
    assert interpolate("${SET} $SET ${NOPE} $$SET", env, path) == "v v  $SET"
    assert interpolate("${EMPTY:-d} ${EMPTY-d} ${NOPE-d}", env, path) == "d  d"
    # the replacement forms were left as they were written: "${SET:+on}" reached the container
    assert interpolate("${SET:+on}|${EMPTY:+on}|${EMPTY+on}|${NOPE+on}", env, path) == "on||on|"
    # a default's word is interpolated in turn; $$ stays a $ inside it; a lone $ stays
    assert interpolate("${NOPE:-${SET}-x} ${NOPE:-$$HOME} ${NOPE:-${ALSO:-deep}}", env, path) == (
        "v-x $HOME deep"
    )
    assert interpolate("cost: 5$ or $1", env, path) == "cost: 5$ or $1"
    assert interpolate("${EMPTY?unused}|${SET:?unused}", env, path) == "|v"
    with pytest.raises(ConfigError, match="needs a value"):
        interpolate("${NOPE:?needs a value}", env, path)
    with pytest.raises(ConfigError, match="SET is empty"):
        interpolate("${EMPTY:?${SET:+SET} is empty}", {"EMPTY": "", "SET": "SET"}, path)
    for bad in ("${SET", "${SET:-x", "${}", "${1A}", "${SET*}", "${SET:=x}"):
        with pytest.raises(ConfigError) as caught:
            interpolate(bad, env, path)
        assert str(path) in caught.value.message and "\n" not in caught.value.message


LEAKY = """\
services:
  app:
    image: registry.example/app:${{TOKEN_FOR_TEST}}
    environment: [{passed}]
"""


def test_a_compose_file_reads_only_the_environment_variables_the_user_names(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository's file cannot send the user's secrets with an image pull or into a
    container: a variable that is set and not named in NEXUS_COMPOSE_ENV is one clear error,
    by ${VAR} and by `environment: [NAME]` alike; an unset one reads as unset."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "s3cret")
    monkeypatch.setenv("PASSED_FOR_TEST", "yes")
    monkeypatch.delenv("NEXUS_COMPOSE_ENV", raising=False)
    (project / "compose.yaml").write_text(LEAKY.format(passed="PASSED_FOR_TEST"))
    with pytest.raises(ConfigError, match=r"reads \$TOKEN_FOR_TEST from your environment") as e:
        load_compose(project, "compose.yaml")
    assert "s3cret" not in str(e.value) and "NEXUS_COMPOSE_ENV=TOKEN_FOR_TEST" in str(e.value.hint)

    monkeypatch.setenv("NEXUS_COMPOSE_ENV", "TOKEN_FOR_TEST")
    with pytest.raises(ConfigError, match=r"reads \$PASSED_FOR_TEST"):
        load_compose(project, "compose.yaml")  # environment: [NAME] is a read too

    monkeypatch.setenv("NEXUS_COMPOSE_ENV", " TOKEN_FOR_TEST, PASSED_FOR_TEST ")
    app = load_compose(project, "compose.yaml").services["app"]
    assert app.image == "registry.example/app:s3cret" and app.environment == {
        "PASSED_FOR_TEST": "yes"
    }

    monkeypatch.delenv("TOKEN_FOR_TEST")
    monkeypatch.setenv("NEXUS_COMPOSE_ENV", "")
    (project / "compose.yaml").write_text(LEAKY.format(passed="UNSET_FOR_TEST"))
    app = load_compose(project, "compose.yaml").services["app"]
    assert app.image == "registry.example/app:" and app.environment == {}
    assert app.unset_environment == ("UNSET_FOR_TEST",)  # unset in the container, as Compose

    result = run_nexus("workspace", "create", "leak", "--compose", "compose.yaml", env={
        "TOKEN_FOR_TEST": "s3cret", "NEXUS_COMPOSE_ENV": ""})  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert "TOKEN_FOR_TEST" in result.stderr and "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / ".nexus" / "worktrees" / "leak").exists()  # refused before anything


@pytest.mark.docker
def test_a_name_without_a_value_that_is_unset_is_unset_in_the_container(
    project: Path, test_image: str, cleanup_docker: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`environment: [NAME]` with NAME unset: Compose passes the bare name, and the engine then
    unsets it in the container, over the image's value and an env_file's (compared side by side
    with docker compose 2.26); one you name and have set is passed."""
    monkeypatch.delenv("FROM_IMAGE", raising=False)
    monkeypatch.delenv("FROM_FILE", raising=False)
    monkeypatch.setenv("PASSED", "p")
    monkeypatch.setenv("NEXUS_COMPOSE_ENV", "PASSED")
    (project / "Dockerfile").write_text(f"FROM {test_image}\nENV FROM_IMAGE=image KEPT=image\n")
    (project / "app.env").write_text("FROM_FILE=file\n")
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    build: .\n    command: [sleep, '600']\n"
        "    env_file: app.env\n    environment: [FROM_IMAGE, FROM_FILE, PASSED]\n"
    )
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "env")
    app = load_compose(project, "compose.yaml").services["app"]
    assert app.environment == {"PASSED": "p"}
    assert app.unset_environment == ("FROM_IMAGE", "FROM_FILE")
    cleanup_docker.append(find_project(project).project_id())
    assert run_nexus("workspace", "create", "env", "--compose", "compose.yaml").exit_code == 0
    shown = run_nexus("workspace", "exec", "env", "--", "env").stdout.splitlines()
    assert "KEPT=image" in shown and "PASSED=p" in shown
    assert not [line for line in shown if line.startswith(("FROM_IMAGE=", "FROM_FILE="))]
    assert run_nexus("workspace", "delete", "env", "--force").exit_code == 0


def test_the_dot_env_beside_the_file_sets_its_variables(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's `.env` beside the Compose file feeds ${VAR} and `environment: [NAME]`
    without naming; a variable you name and have set wins over it, as your environment does in
    Compose; a `.env` that is a link out of the project is refused."""
    monkeypatch.setenv("TOKEN_FOR_TEST", "from-shell")
    monkeypatch.delenv("NEXUS_COMPOSE_ENV", raising=False)
    (project / "compose.yaml").write_text(LEAKY.format(passed="PASSED_FOR_TEST"))
    (project / ".env").write_text("TOKEN_FOR_TEST=from-file\nPASSED_FOR_TEST=yes\n")
    app = load_compose(project, "compose.yaml").services["app"]
    assert app.image == "registry.example/app:from-file"
    assert app.environment == {"PASSED_FOR_TEST": "yes"}

    monkeypatch.setenv("NEXUS_COMPOSE_ENV", "TOKEN_FOR_TEST")
    assert load_compose(project, "compose.yaml").services["app"].image.endswith(":from-shell")

    outside = project.parent / "outside.env"
    outside.write_text("TOKEN_FOR_TEST=secret\n")
    (project / ".env").unlink()
    (project / ".env").symlink_to(outside)
    with pytest.raises(ConfigError, match="outside"):
        load_compose(project, "compose.yaml")


def test_env_files_are_interpolated_like_compose(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value of `.env` or of an `env_file` may use the variables before it (and, for an
    env_file, the `.env`'s); single quotes keep it as written; a variable of your environment
    that you did not name is refused there too."""
    monkeypatch.delenv("NEXUS_COMPOSE_ENV", raising=False)
    monkeypatch.setenv("SHELL_SECRET_FOR_TEST", "from-shell")
    (project / ".env").write_text(
        "DB_USER=app\nURL=postgres://${DB_USER}@db/${DB_NAME:-shop}\nRAW='${DB_USER}'\n"
        'QUOTED="user $DB_USER"\nCOST=5$$\n'
    )
    (project / "app.env").write_text("GREETING=hi ${DB_USER}\nBOTH=${GREETING}!\n")
    (project / "more.env").write_text("LOUD=${BOTH}!\n")  # sees the files before it
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    env_file: [app.env, more.env]\n"
        "    environment: [URL, RAW, QUOTED, COST]\n"
    )
    assert load_compose(project, "compose.yaml").services["app"].environment == {
        "GREETING": "hi app",
        "BOTH": "hi app!",
        "LOUD": "hi app!!",
        "URL": "postgres://app@db/shop",
        "RAW": "${DB_USER}",
        "QUOTED": "user app",
        "COST": "5$",
    }
    (project / "compose.yaml").write_text(  # format: raw keeps every value as written
        "services:\n  app:\n    image: x\n    env_file: [{path: app.env, format: raw}]\n"
    )
    raw = load_compose(project, "compose.yaml").services["app"].environment
    assert raw == {"GREETING": "hi ${DB_USER}", "BOTH": "${GREETING}!"}
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    env_file: [app.env, more.env]\n"
    )
    (project / "more.env").write_text("")
    (project / "app.env").write_text("LEAK=${SHELL_SECRET_FOR_TEST}\n")
    with pytest.raises(ConfigError, match=r"reads \$SHELL_SECRET_FOR_TEST from your environment"):
        load_compose(project, "compose.yaml")
    (project / "app.env").write_text("")
    (project / ".env").write_text("A=${SHELL_SECRET_FOR_TEST}\n")
    with pytest.raises(ConfigError, match=r"\.env: reads \$SHELL_SECRET_FOR_TEST"):
        load_compose(project, "compose.yaml")
    (project / ".env").write_text("A=ok\nB=${A\n")
    with pytest.raises(ConfigError, match=r"\.env:2: '\$\{A': a '\$\{' with no '\}'"):
        load_compose(project, "compose.yaml")


def test_numbers_reach_the_container_as_compose_writes_them(project: Path) -> None:
    """YAML 1.2's numbers (go-yaml's, as Compose reads them), written as Go writes them: a whole
    float without a fraction. Compared side by side with docker compose 2.26."""
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    environment:\n"
        "      BIG: 1e3\n      OCT: 0o17\n      NUM: 1.50\n      INT: 007\n      HEX: 0x1f\n"
        "      SMALL: 1.5e-3\n      HUGE: 1e21\n      TEXT: 1e3x\n      FLAG: true\n"
        "    build: {context: ., args: {V: 1e3, W: true}}\n"
    )
    app = load_compose(project, "compose.yaml").services["app"]
    assert app.build is not None and app.build.args == {"V": "1000", "W": "true"}
    environment = app.environment
    assert environment == {
        "BIG": "1000",
        "OCT": "15",
        "NUM": "1.5",
        "INT": "7",
        "HEX": "31",
        "SMALL": "0.0015",
        "HUGE": "1e+21",
        "TEXT": "1e3x",
        "FLAG": "true",
    }


def test_env_files_are_read_like_compose(tmp_path: Path) -> None:
    from nexus_cli.workspaces.compose_service import read_env_file

    env = tmp_path / ".env"
    env.write_text("# c\n\nA=1 # note\nexport B=\"two\\nlines\"\nC='$raw'\nD=\n")
    assert read_env_file(env) == {"A": "1", "B": "two\nlines", "C": "$raw", "D": ""}
    env.write_text("A=1\nnot a pair\n")
    with pytest.raises(ConfigError, match=r"\.env:2: expected NAME=VALUE"):
        read_env_file(env)


def test_the_strongest_condition_on_a_dependency_wins(project: Path) -> None:
    from nexus_cli.workspaces.services_up import awaited

    (project / "compose.yaml").write_text(
        "services:\n  db: {image: x}\n  job: {image: x}\n"
        "  a: {image: x, depends_on: [db, job]}\n"
        "  b: {image: x, depends_on: {db: {condition: service_healthy},"
        " job: {condition: service_completed_successfully}}}\n"
    )
    assert awaited(load_compose(project, "compose.yaml")) == {
        "db": "service_healthy",
        "job": "service_completed_successfully",
    }


# --- hostile Compose files: each case escaped once (crash, silent acceptance or a link out) ---


@pytest.mark.parametrize(
    ("service", "words"),
    [
        # a trailing newline slipped past `$` in the patterns: a volume name Docker then refuses
        ('volumes: ["data\\n:/data"]', "expected a volume name"),
        ('restart: "always\\n"', "no, always, unless-stopped"),
        ('ports: ["8080:80\\n"]', "CONTAINER_PORT or HOST_PORT:CONTAINER_PORT"),
        ('user: "node\\n"', "USER or USER:GROUP"),
        ('user: "a;b"', "USER or USER:GROUP"),
        ("user: {name: root}", "USER or USER:GROUP"),
        ("user: -1", "USER or USER:GROUP"),
        # a second mapping of one container port was dropped without a word
        ('ports: ["80", {target: 80, published: 9090}]', "80/tcp is already published by"),
        # variable names a container cannot have
        ("environment: {'A=B': x}", "variable names without '='"),
        ('environment: ["\\x1b[2J=x"]', "variable names without '='"),
        # values Docker cannot take (an infinite interval crashed the create)
        ("healthcheck: {test: 'true', interval: .inf}", "a duration between 0 and 24h"),
        ("healthcheck: {test: 'true', interval: -5}", "a duration between 0 and 24h"),
        ("healthcheck: {test: 'true', retries: true}", "a whole number from 1 to 10000"),
        # non-mappings where a mapping belongs: an AttributeError ("this is a bug") before
        ("deploy: x", "services.app.deploy: expected a mapping"),
        ("deploy: {resources: [1]}", "services.app.deploy.resources: expected a mapping"),
        ("deploy: {resources: {limits: [1]}}", "deploy.resources.limits: expected a mapping"),
        # swarm's mode, and volume options that are not a volume's
        ("ports: [{target: 80, mode: ingress}]", "ports[0].mode: expected host (ingress is"),
        ("ports: [{target: 80, name: [x]}]", "ports[0].name: expected text"),
        ('volumes: ["./:/w:nocopy"]', "nocopy only for a named volume"),
        ('volumes: ["d:/d:ro,rw"]', "ro or rw, nocopy for a volume"),
        ('volumes: ["d:/d:z"]', "ro or rw, nocopy for a volume"),
        ('volumes: ["./:/w:Z"]', "ro or rw, nocopy for a volume"),
        ("volumes: [{type: volume, source: d, target: /d, volume: {nocopy: 1}}]", "nocopy: true"),
    ],
)
def test_hostile_values_are_refused_in_one_error(project: Path, service: str, words: str) -> None:
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: x\n    {service}\n")
    with pytest.raises(ConfigError) as caught:
        load_compose(project, "compose.yaml")
    assert words in caught.value.message


def test_restart_true_names_the_dependencies_that_restart_a_service(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n"
        "  web:\n    image: x\n    depends_on:\n"
        "      db: {condition: service_healthy, restart: true}\n"
        "      cache: {condition: service_started, restart: false}\n"
        "      extra: {condition: service_started, restart: true, required: false}\n"
        "  db: {image: x, healthcheck: {test: [CMD, 'true']}}\n"
        "  cache: {image: x}\n"
        "  extra: {image: x, profiles: [more]}\n"
    )
    assert load_compose(project, "compose.yaml").services["web"].restarts_with == {"db"}
    (project / "compose.yaml").write_text(
        "services:\n  web: {image: x, depends_on: {db: {restart: 'yes'}}}\n  db: {image: x}\n"
    )
    with pytest.raises(ConfigError, match=r"depends_on\.db\.restart: expected true or false"):
        load_compose(project, "compose.yaml")


def _running_ids(docker_client: Any, project_id: str) -> dict[str, str]:
    """The project's running containers: service -> container id."""
    found = docker_client.containers.list(filters={"label": [f"dev.nexus.project={project_id}"]})
    return {c.labels["dev.nexus.service"]: c.id for c in found}


@pytest.mark.docker
def test_up_restarts_what_asked_to_restart_with_a_dependency_it_renews(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    """The example of Docker's "Control startup order" page: `restart: true` on a dependency.
    When `up` gives the dependency a new container (it died), the service restarts after it;
    one without the flag keeps running."""
    (project / "compose.yaml").write_text(
        "services:\n"
        f"  db: {{image: {test_image}, command: [sleep, '3600']}}\n"
        f"  web:\n    image: {test_image}\n    command: [sleep, '3600']\n"
        "    depends_on: {db: {condition: service_started, restart: true}}\n"
        f"  worker:\n    image: {test_image}\n    command: [sleep, '3600']\n"
        "    depends_on: [db]\n"
    )
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    assert run_nexus("workspace", "create", "rs", "--compose", "compose.yaml").exit_code == 0

    before = _running_ids(docker_client, project_id)
    docker_client.containers.get(before["db"]).kill()
    up = run_nexus("workspace", "up", "rs", "--json")
    assert up.exit_code == 0, up.stderr
    assert sorted(up.json()["started"]) == ["db", "web"] and up.json()["kept"] == ["worker"]
    after = _running_ids(docker_client, project_id)
    assert after["worker"] == before["worker"]
    assert after["db"] != before["db"] and after["web"] != before["web"]
    assert run_nexus("workspace", "delete", "rs", "--force").exit_code == 0


@pytest.mark.docker
def test_up_makes_again_the_containers_whose_definition_changed(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    """As `docker compose up` recreates a service whose definition changed: `up` after an edit
    of the file makes that service's container again and keeps the others; with no change, or
    one to the order of the start only, it keeps them all (the digest is the same in every
    process)."""

    def write(web_env: str, restart: str = "true") -> None:
        (project / "compose.yaml").write_text(
            "services:\n"
            f"  db: {{image: {test_image}, command: [sleep, '3600']}}\n"
            f"  web:\n    image: {test_image}\n    command: [sleep, '3600']\n"
            f"    environment: {{COLOUR: {web_env}}}\n"
            f"    depends_on: {{db: {{condition: service_started, restart: {restart}}}}}\n"
        )

    write("blue")
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    assert run_nexus("workspace", "create", "ch", "--compose", "compose.yaml").exit_code == 0

    before = _running_ids(docker_client, project_id)
    same = run_nexus("workspace", "up", "ch", "--json")
    assert same.exit_code == 0, same.stderr
    assert same.json()["started"] == [] and sorted(same.json()["kept"]) == ["db", "web"]
    write("blue", restart="false")  # the order of the start only: the containers stay
    order = run_nexus("workspace", "up", "ch", "--json")
    assert order.exit_code == 0 and order.json()["started"] == [], order.stderr
    write("green")
    changed = run_nexus("workspace", "up", "ch", "--json")
    assert changed.exit_code == 0, changed.stderr
    assert changed.json()["started"] == ["web"] and changed.json()["kept"] == ["db"]
    assert "web: its definition changed" in changed.stderr
    after = _running_ids(docker_client, project_id)
    assert after["db"] == before["db"] and after["web"] != before["web"]
    env = docker_client.containers.get(after["web"]).attrs["Config"]["Env"]
    assert "COLOUR=green" in env
    assert run_nexus("workspace", "delete", "ch", "--force").exit_code == 0


def test_a_dependency_the_file_does_not_have_is_named_as_such(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  web: {image: x, depends_on: [backend]}\n  api: {image: x}\n"
        "  debug: {image: x, profiles: [debug]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_compose(project, "compose.yaml")
    words = "services.web.depends_on.backend: expected a service of this file (api, debug, web)"
    assert words in caught.value.message


def test_a_healthcheck_that_only_says_disable_false_keeps_the_image_s_own(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app: {image: x, healthcheck: {disable: false}}\n"
        "  quiet: {image: x, healthcheck: {disable: true}}\n"
        "  none: {image: x, healthcheck: {test: [NONE]}}\n"
    )
    services = load_compose(project, "compose.yaml").services
    assert services["app"].healthcheck is None and not services["app"].healthcheck_off
    assert services["quiet"].healthcheck is None and services["quiet"].healthcheck_off
    assert services["none"].healthcheck_off
    (project / "compose.yaml").write_text(
        "services:\n  app: {image: x, healthcheck: {disable: 1}}\n"
    )
    with pytest.raises(ConfigError, match=r"healthcheck\.disable: expected true or false"):
        load_compose(project, "compose.yaml")


@pytest.mark.docker
def test_disable_true_turns_the_image_s_own_healthcheck_off(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_text(f"FROM {test_image}\nHEALTHCHECK CMD true\n")
    (project / "compose.yaml").write_text(
        "services:\n"
        "  quiet: {build: ./app, command: [sleep, '3600'], healthcheck: {disable: true}}\n"
        "  own: {build: ./app, command: [sleep, '3600']}\n"
    )
    git(project, "add", ".")
    git(project, "commit", "-qm", "an image with a healthcheck")
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    created = run_nexus("workspace", "create", "hc", "--compose", "compose.yaml")
    assert created.exit_code == 0, created.stderr
    found = docker_client.containers.list(filters={"label": [f"dev.nexus.project={project_id}"]})
    tests = {c.labels["dev.nexus.service"]: c.attrs["Config"]["Healthcheck"]["Test"] for c in found}
    assert tests == {"quiet": ["NONE"], "own": ["CMD-SHELL", "true"]}
    assert run_nexus("workspace", "delete", "hc", "--force").exit_code == 0


def test_a_dependency_that_is_not_a_mapping_is_a_config_error(project: Path) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app: {image: x, depends_on: {db: 5}}\n  db: {image: x}\n"
    )
    with pytest.raises(ConfigError, match=r"services\.app\.depends_on\.db: expected a mapping"):
        load_compose(project, "compose.yaml")


@pytest.mark.parametrize(
    "volume",
    [
        "./rootlink:/host",  # a committed link to /
        "./sub/etc:/host",  # a link in a folder below the top
        "./sub/etc/ssl:/host",  # a path through a linked folder
        "{type: bind, source: ./rootlink, target: /host}",
        "{type: bind, source: rootlink, target: /host}",  # relative long form: a bind, not a volume
    ],
)
def test_bind_sources_through_a_link_out_of_the_project_are_refused_when_read(
    project: Path, volume: str
) -> None:
    (project / "rootlink").symlink_to("/")
    (project / "sub").mkdir()
    (project / "sub" / "etc").symlink_to("/etc")
    (project / "compose.yaml").write_text(
        f"services:\n  app:\n    image: x\n    volumes: [{volume}]\n"
    )
    with pytest.raises(ConfigError, match="resolves outside"):
        load_compose(project, "compose.yaml")


def test_a_relative_bind_in_the_long_form_stays_a_bind(project: Path) -> None:
    (project / "data").mkdir()
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n    volumes: [{type: bind, source: data, target: /d}]\n"
    )
    (volume,) = load_compose(project, "compose.yaml").services["app"].volumes
    assert (volume.source, volume.named) == ("data", False)


def test_an_anonymous_volume_is_a_volume_of_the_workspace(project: Path) -> None:
    """`- /app/node_modules` (the usual way to keep a bind of the project from hiding the
    image's packages) and its long form become volumes named after the service and the path."""
    (project / "compose.yaml").write_text(
        "services:\n"
        "  app: {image: x, volumes: ['./:/app', /app/node_modules, {type: volume, target: /c}]}\n"
        "  other: {image: x, volumes: [/app/node_modules]}\n"
        "volumes: {cache: {driver: local}}\n"
    )
    services = load_compose(project, "compose.yaml").services
    bind, modules, cache = services["app"].volumes
    assert (bind.named, modules.named, cache.named) == (False, True, True)
    assert modules.target == "/app/node_modules" and modules.source.startswith("anon-app-")
    assert cache.source.startswith("anon-app-") and cache.source != modules.source
    (other,) = services["other"].volumes
    assert other.source.startswith("anon-other-")  # each service its own, as in Compose
    again = load_compose(project, "compose.yaml").services["app"].volumes[1]
    assert again.source == modules.source  # the same volume at the next `up`


@pytest.mark.docker
def test_an_anonymous_volume_hides_the_bind_below_it_and_lives_with_the_workspace(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    (project / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    command: [sleep, '3600']\n"
        "    volumes: ['./:/app', /app/deps]\n"
    )
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    assert run_nexus("workspace", "create", "av", "--compose", "compose.yaml").exit_code == 0
    wrote = run_nexus("workspace", "exec", "av", "--", "sh", "-c", "echo kept > /app/deps/x")
    assert wrote.exit_code == 0, wrote.stderr
    assert not (project / ".nexus" / "worktrees" / "av" / "deps" / "x").exists()  # not the bind
    assert run_nexus("workspace", "down", "av").exit_code == 0
    assert run_nexus("workspace", "up", "av").exit_code == 0
    shown = run_nexus("workspace", "exec", "av", "--", "cat", "/app/deps/x")
    assert (shown.exit_code, shown.stdout) == (0, "kept\n")
    label = {"label": [f"dev.nexus.project={project_id}"]}
    assert len(docker_client.volumes.list(filters=label)) == 1
    assert run_nexus("workspace", "delete", "av", "--force").exit_code == 0
    assert docker_client.volumes.list(filters=label) == []


def test_the_long_forms_compose_writes_are_read(project: Path) -> None:
    """What `docker compose config` writes out: a port's mode, name and app_protocol, and a
    volume's nocopy, in the long form and the short one."""
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: x\n"
        "    ports: [{target: 80, published: '8080', mode: host, name: web, app_protocol: http}]\n"
        "    volumes:\n"
        "      - {type: volume, source: d, target: /d, volume: {nocopy: true}}\n"
        "      - e:/e:ro,nocopy\n"
        "      - f:/f:rw\n"
        "      - ./:/w:cached\n"
        "      - g:/g:ro,delegated\n"
    )
    app = load_compose(project, "compose.yaml").services["app"]
    assert [(p.container_port, p.preferred_host_port) for p in app.ports] == [(80, 8080)]
    assert [(v.source, v.read_only, v.no_copy) for v in app.volumes] == [
        ("d", False, True),
        ("e", True, True),
        ("f", False, False),
        (".", False, False),
        ("g", True, False),
    ]


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_a_deeply_nested_file_is_one_clear_error(project: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    deep = opening * 5000 + "1" + closing * 5000
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: x\n    command: {deep}\n")
    result = run_nexus("workspace", "create", "w1", "--compose", "compose.yaml")
    assert result.exit_code == 1, result.stderr  # a config error, never "unexpected ... bug"
    assert result.stderr.count("\n") == 1 and "nested too deeply" in result.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_an_oversized_compose_or_extends_file_is_refused_before_it_is_read(project: Path) -> None:
    (project / "big.yaml").write_text("services:\n  app: {image: x}\n" + "#" * (4 << 20))
    with pytest.raises(ConfigError, match="at most 4,194,304 bytes"):
        load_compose(project, "big.yaml")
    (project / "compose.yaml").write_text(
        "services:\n  app: {extends: {file: big.yaml, service: app}}\n"
    )
    with pytest.raises(ConfigError, match=r"big\.yaml: expected a Compose file"):
        load_compose(project, "compose.yaml")


@pytest.mark.docker
def test_every_published_port_of_a_compose_file_ends_on_loopback(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: object
) -> None:
    """`80:80`, a bare container port, `localhost:`, `127.0.0.2:` and the long form: the engine
    binds each to 127.0.0.1 only, whatever the file says (it cannot say 0.0.0.0)."""
    (project / "compose.yaml").write_text(
        "services:\n  app:\n"
        f"    image: {test_image}\n"
        '    command: ["sleep", "3600"]\n'
        "    ports:\n"
        '      - "80:80"\n'
        '      - "81"\n'
        '      - "localhost:82:82"\n'
        '      - "127.0.0.2:83:83/udp"\n'
        "      - {target: 84, published: 84}\n"
    )
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    result = run_nexus("workspace", "create", "lo", "--compose", "compose.yaml", "--json")
    assert result.exit_code == 0, result.stderr
    app = docker_client.containers.get(f"nexus-{project_id}-lo-app")  # type: ignore[attr-defined]
    bindings = app.attrs["HostConfig"]["PortBindings"]
    assert set(bindings) == {"80/tcp", "81/tcp", "82/tcp", "83/udp", "84/tcp"}
    assert {b["HostIp"] for spec in bindings.values() for b in spec} == {"127.0.0.1"}
    assert run_nexus("workspace", "delete", "lo", "--force").exit_code == 0


@pytest.mark.parametrize(("value", "user"), [("1000", "1000"), ("'node:staff'", "node:staff")])
def test_the_user_a_service_runs_as_is_read(project: Path, value: str, user: str) -> None:
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: x\n    user: {value}\n")
    assert load_compose(project, "compose.yaml").services["app"].user == user


@pytest.mark.docker
def test_a_service_runs_as_the_user_its_file_names(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    """`user` does not widen anything (the file also chooses the image, which may run as root):
    the service's command, and what `workspace exec` runs in it, run as that user."""
    (project / "compose.yaml").write_text(
        "services:\n  app:\n"
        f"    image: {test_image}\n"
        '    user: "1234:2345"\n'
        '    command: ["sh", "-c", "echo started as $(id -u); exec sleep 3600"]\n'
    )
    cleanup_docker.append(find_project(project).project_id())
    result = run_nexus("workspace", "create", "u1", "--compose", "compose.yaml")
    assert result.exit_code == 0, result.stderr
    logs = run_nexus("workspace", "logs", "u1", "app")
    assert "started as 1234" in logs.stdout, logs.stderr
    shown = run_nexus("workspace", "exec", "u1", "--", "sh", "-c", "id -u; id -g")
    assert (shown.exit_code, shown.stdout.split()) == (0, ["1234", "2345"]), shown.stderr
    assert run_nexus("workspace", "delete", "u1", "--force").exit_code == 0


@pytest.mark.docker
@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("user: nosuch", "could not start service 'app': unable to find user nosuch"),
        # a file written on a bigger machine: the engine refuses the create
        ("deploy: {resources: {limits: {cpus: '1024'}}}", "could not create service 'app': "),
    ],
)
def test_what_the_engine_refuses_is_one_clear_error_and_nothing_is_left(
    project: Path,
    test_image: str,
    cleanup_docker: list[str],
    docker_client: object,
    setting: str,
    words: str,
) -> None:
    """The engine refuses the start (no such user in the image) or the create (more CPUs than
    it has): its words in one line, not "unexpected APIError … this is a bug", and the create
    is undone."""
    (project / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    {setting}\n    command: sleep 60\n"
    )
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    result = run_nexus("workspace", "create", "u2", "--compose", "compose.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: the engine {words}"), result.stderr
    assert result.stderr.count("error:") == 1 and "bug" not in result.stderr
    labels = {"label": [f"dev.nexus.project={project_id}"]}
    assert docker_client.containers.list(all=True, filters=labels) == []  # type: ignore[attr-defined]
    assert not (project / ".nexus" / "worktrees" / "u2").exists()


@pytest.mark.docker
def test_a_variable_named_at_create_is_not_needed_again_to_exec_or_stop(
    project: Path,
    test_image: str,
    cleanup_docker: list[str],
    docker_client: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`exec`, `down`, `status` and `template show` need only the services' names: a variable
    the file may not read reads as unset there; `up` (which starts containers) still asks."""
    (project / "compose.yaml").write_text(
        "services:\n  app:\n"
        f"    image: {test_image}\n"
        '    command: ["sh", "-c", "echo $$ROLE; exec sleep 3600"]\n'
        "    environment: {ROLE: '${ROLE_FOR_TEST}'}\n"
    )
    cleanup_docker.append(find_project(project).project_id())
    monkeypatch.setenv("ROLE_FOR_TEST", "worker")
    monkeypatch.setenv("NEXUS_COMPOSE_ENV", "ROLE_FOR_TEST")
    created = run_nexus("workspace", "create", "w1", "--compose", "compose.yaml")
    assert created.exit_code == 0, created.stderr

    monkeypatch.setenv("NEXUS_COMPOSE_ENV", "")  # a later shell, without the name
    ran = run_nexus("workspace", "exec", "w1", "--", "sh", "-c", "echo $ROLE")
    assert ran.exit_code == 0 and ran.stdout.strip() == "worker", ran.stderr
    status = run_nexus("workspace", "status", "w1", "--json")
    assert status.exit_code == 0, status.stderr
    assert run_nexus("workspace", "down", "w1").exit_code == 0
    up = run_nexus("workspace", "up", "w1")
    assert up.exit_code == 1 and "reads $ROLE_FOR_TEST" in up.stderr
    assert run_nexus("workspace", "delete", "w1", "--force").exit_code == 0


def test_showing_a_template_that_points_at_the_file_needs_no_variable(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_FOR_TEST", "s3cret")
    monkeypatch.delenv("NEXUS_COMPOSE_ENV", raising=False)
    (project / "compose.yaml").write_text(LEAKY.format(passed="PASSED_FOR_TEST"))
    folder = project / ".nexus" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop.yaml").write_text("x-nexus:\n  compose: compose.yaml\n")
    shown = run_nexus("template", "show", "shop", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert "s3cret" not in shown.stdout
    assert load_compose(project, "compose.yaml", lenient_env=True).services["app"].image == (
        "registry.example/app:"
    )


def test_a_port_mapping_below_60_is_read_as_compose_reads_it(project: Path) -> None:
    """`- 22:22` unquoted: YAML 1.1 would make it the number 1342 (base 60), and the workspace
    would publish a port nobody asked for; Compose reads the mapping 22 -> 22."""
    (project / "compose.yaml").write_text(
        "services:\n  ssh:\n    image: x\n    ports:\n      - 22:22\n      - 53:53/udp\n"
    )
    ports = load_compose(project, "compose.yaml").services["ssh"].ports
    assert [(p.container_port, p.preferred_host_port, p.protocol) for p in ports] == [
        (22, 22, "tcp"),
        (53, 53, "udp"),
    ]


@pytest.mark.parametrize(
    ("entry", "ports"),
    [
        ('"8000-8002:9000-9002"', [(8000, 9000, "tcp"), (8001, 9001, "tcp"), (8002, 9002, "tcp")]),
        ('"127.0.0.1:7000-7001:7000-7001/udp"', [(7000, 7000, "udp"), (7001, 7001, "udp")]),
        ('"127.0.0.1::5000-5001"', [(5000, 5000, "tcp"), (5001, 5001, "tcp")]),
        ('"6000-6001"', [(6000, 6000, "tcp"), (6001, 6001, "tcp")]),
        ('"[::1]:9000-9001:9000-9001"', [(9000, 9000, "tcp"), (9001, 9001, "tcp")]),
        ('"[::1]:8080:80"', [(8080, 80, "tcp")]),  # IPv6 loopback, bound on 127.0.0.1 as any
    ],
)
def test_a_port_range_is_one_port_per_number(
    project: Path, entry: str, ports: list[tuple[int, int, str]]
) -> None:
    (project / "compose.yaml").write_text(
        f"services:\n  app:\n    image: x\n    ports: [{entry}]\n"
    )
    found = load_compose(project, "compose.yaml").services["app"].ports
    assert [(p.preferred_host_port, p.container_port, p.protocol) for p in found] == ports


@pytest.mark.parametrize(
    "entry",
    [
        '"1-200"',
        '"10-9"',
        '"8000-8002:9000-9001"',
        '"0.0.0.0:8000-8001:8000-8001"',
        '"[::]:8000-8001:8000-8001"',
        '"[::]:8080:80"',
        '"70000-70001"',
    ],
)
def test_a_range_too_long_uneven_reversed_or_wide_is_refused(project: Path, entry: str) -> None:
    (project / "compose.yaml").write_text(
        f"services:\n  app:\n    image: x\n    ports: [{entry}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_compose(project, "compose.yaml")
    assert "services.app.ports[0]" in caught.value.message


def test_a_port_a_range_already_publishes_names_the_file_s_entries(project: Path) -> None:
    (project / "compose.yaml").write_text(
        'services:\n  app:\n    image: x\n    ports: ["8000-8001:8000-8001", "9000:8001"]\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_compose(project, "compose.yaml")
    assert "services.app.ports[1]: container port 8001/tcp is already published by " in (
        caught.value.message
    )
    assert caught.value.message.endswith("by services.app.ports[0]; a workspace publishes it once")
