"""A Compose file's top-level ``include``: the included files' services, volumes and secrets
added with their paths starting at their own project directory and their own ``.env``; names
that clash, cycles, paths out of the project and override lists refused; and an included
service built and run on the real engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.workspaces.compose import load_compose
from tests.conftest import git, run_nexus


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _refusal(project: Path, files: dict[str, str]) -> str:
    _write(project, files)
    with pytest.raises(ConfigError) as caught:
        load_compose(project, "compose.yaml")
    assert "\n" not in caught.value.message
    return caught.value.message


def test_an_included_file_s_paths_start_at_its_own_folder(project: Path) -> None:
    _write(
        project,
        {
            "compose.yaml": (
                "include: [db/compose.yaml]\n"
                "services:\n"
                "  web:\n    image: web:1\n    depends_on: {db: {condition: service_healthy}}\n"
            ),
            "db/compose.yaml": (
                "services:\n"
                "  db:\n"
                "    build: .\n"
                "    env_file: db.env\n"
                "    environment: {TAG: '${DB_TAG}'}\n"
                "    volumes: [data:/var/lib/db, ./init:/init:ro]\n"
                "    healthcheck: {test: [CMD, 'true']}\n"
                "volumes:\n  data:\n"
                "secrets:\n  pw: {file: ./pw.txt}\n"
            ),
            "db/db.env": "USER=app\n",
            "db/.env": "DB_TAG=from-db-dotenv\n",
            "db/Dockerfile": "FROM scratch\n",
            "db/init/x.sql": "",
            "db/pw.txt": "hunter2\n",
        },
    )
    template = load_compose(project, "compose.yaml")
    db = template.services["db"]
    assert db.build is not None and db.build.context == "db"
    assert db.environment == {"USER": "app", "TAG": "from-db-dotenv"}
    assert {v.source for v in db.volumes} == {"data", "db/init"}
    assert [s.name for s in template.start_order()] == ["db", "web"]


def test_project_directory_and_env_file_are_the_entry_s_and_the_including_values_win(
    project: Path,
) -> None:
    _write(
        project,
        {
            "compose.yaml": (
                "include:\n"
                "  - path: stacks/cache.yaml\n"
                "    project_directory: stacks/cache\n"
                "    env_file: [stacks/cache.env]\n"
                "services:\n  web: {image: 'web:${SHARED}'}\n"
            ),
            ".env": "SHARED=outer\n",
            "stacks/cache.yaml": (
                "services:\n"
                "  cache:\n"
                "    image: 'cache:${CACHE_TAG}-${SHARED}'\n"
                "    volumes: [./conf:/etc/cache:ro]\n"
            ),
            "stacks/cache.env": "CACHE_TAG=7\nSHARED=inner\n",
            "stacks/cache/conf/c.conf": "",
        },
    )
    template = load_compose(project, "compose.yaml")
    assert template.services["cache"].image == "cache:7-outer"
    assert [v.source for v in template.services["cache"].volumes] == ["stacks/cache/conf"]
    assert template.services["web"].image == "web:outer"


def test_an_included_service_s_environment_reads_its_own_dot_env(project: Path) -> None:
    """A name without a value in its ``environment``, and its env file's ``${VAR}``, read the
    included project's ``.env``; the including file's services do not see it."""
    _write(
        project,
        {
            "compose.yaml": (
                "include: [sub/compose.yaml]\n"
                "services:\n  web: {image: w, environment: [FROM_INC, OUTER]}\n"
            ),
            ".env": "OUTER=o\n",
            "sub/compose.yaml": (
                "services:\n  s:\n    image: s\n    environment: [FROM_INC, OUTER]\n"
                "    env_file: s.env\n"
            ),
            "sub/.env": "FROM_INC=inc-dotenv\nINC_VAR=iv\n",
            "sub/s.env": "URL=x-${INC_VAR}\n",
        },
    )
    services = load_compose(project, "compose.yaml").services
    assert services["s"].environment == {"URL": "x-iv", "FROM_INC": "inc-dotenv", "OUTER": "o"}
    assert services["web"].environment == {"OUTER": "o"}


def test_a_file_of_includes_alone_and_includes_within_includes(project: Path) -> None:
    _write(
        project,
        {
            "compose.yaml": "include:\n  - a/compose.yaml\n",
            "a/compose.yaml": (
                "include: [b/compose.yaml]\nservices:\n  a: {image: a, depends_on: [b]}\n"
            ),
            "a/b/compose.yaml": "services:\n  b:\n    image: b\n    volumes: [./d:/d]\n",
            "a/b/d/f": "",
        },
    )
    template = load_compose(project, "compose.yaml")
    assert set(template.services) == {"a", "b"}
    assert [v.source for v in template.services["b"].volumes] == ["a/b/d"]


def test_the_same_definition_twice_is_kept_once(project: Path) -> None:
    _write(
        project,
        {
            "compose.yaml": "include: [one.yaml, two.yaml]\nservices:\n  app: {image: x}\n",
            "one.yaml": "services:\n  shared: {image: s}\nvolumes:\n  data:\n",
            "two.yaml": "services:\n  shared: {image: s}\nvolumes:\n  data:\n",
        },
    )
    assert set(load_compose(project, "compose.yaml").services) == {"app", "shared"}


@pytest.mark.parametrize(
    ("files", "words"),
    [
        (
            {
                "compose.yaml": "include: [db.yaml]\nservices:\n  db: {image: mine}\n",
                "db.yaml": "services:\n  db: {image: theirs}\n",
            },
            "include[0]: services.db of",
        ),
        (
            {
                "compose.yaml": "include: [a.yaml]\nservices:\n  x: {image: x}\n",
                "a.yaml": "include: [b.yaml]\nservices:\n  a: {image: a}\n",
                "b.yaml": "include: [a.yaml]\nservices:\n  b: {image: b}\n",
            },
            "an include cycle:",
        ),
        (
            {"compose.yaml": "include: [../elsewhere.yaml]\nservices:\n  x: {image: x}\n"},
            "resolves outside",
        ),
        (
            {"compose.yaml": "include: [/etc/compose.yaml]\nservices:\n  x: {image: x}\n"},
            "include[0].path: '/etc/compose.yaml' must be relative to",
        ),
        (
            {
                "compose.yaml": "include: [{path: [a.yaml, b.yaml]}]\nservices:\n  x: {image: x}\n",
                "a.yaml": "services:\n  a: {image: a}\n",
                "b.yaml": "services:\n  a: {image: b}\n",
            },
            "expected one file (a list of override files is not supported)",
        ),
        (
            {"compose.yaml": "include: [{file: a.yaml}]\nservices:\n  x: {image: x}\n"},
            "expected a file, or {path, project_directory, env_file}",
        ),
        (
            {"compose.yaml": "include: a.yaml\nservices:\n  x: {image: x}\n"},
            "include: expected a list of files",
        ),
        (
            {"compose.yaml": "include: [missing.yaml]\nservices:\n  x: {image: x}\n"},
            "include[0].path: 'missing.yaml' is not a file in the project",
        ),
        (
            {
                "compose.yaml": "include: [{path: a.yaml, env_file: nope.env}]\n",
                "a.yaml": "services:\n  a: {image: a}\n",
            },
            "include[0].env_file: 'nope.env' is not a file in the project",
        ),
        (
            {
                "compose.yaml": "include: [{path: a.yaml, project_directory: a.yaml}]\n",
                "a.yaml": "services:\n  a: {image: a}\n",
            },
            "project_directory: expected a folder in the project",
        ),
    ],
)
def test_what_compose_refuses_and_what_leaves_the_project_are_refused(
    project: Path, files: dict[str, str], words: str
) -> None:
    assert words in _refusal(project, files)


def test_includes_that_fan_out_stop_at_a_hundred_files(project: Path) -> None:
    """Each of five files includes the next ten times: 10^5 reads without the bound."""
    files = {"compose.yaml": "include: [f1.yaml]\nservices:\n  x: {image: x}\n"}
    for level in range(1, 5):
        files[f"f{level}.yaml"] = (
            f"include: [{', '.join([f'f{level + 1}.yaml'] * 10)}]\n"
            f"services:\n  s{level}: {{image: x}}\n"
        )
    files["f5.yaml"] = "services:\n  s5: {image: x}\n"
    assert "a Compose project of more than 100 files" in _refusal(project, files)


def test_a_file_many_services_extend_is_read_once(project: Path) -> None:
    services = "".join(
        f"  s{i}: {{extends: {{file: common.yaml, service: base}}}}\n" for i in range(150)
    )
    _write(
        project,
        {
            "compose.yaml": f"services:\n{services}",
            "common.yaml": "services:\n  base: {image: 'b:${TAG:-1}'}\n",
        },
    )
    template = load_compose(project, "compose.yaml")
    assert len(template.services) == 150 and template.services["s149"].image == "b:1"


def test_an_included_file_s_unsupported_keys_are_named_with_its_path(project: Path) -> None:
    message = _refusal(
        project,
        {
            "compose.yaml": "include: [sub/compose.yaml]\nservices:\n  x: {image: x}\n",
            "sub/compose.yaml": "services:\n  a: {image: a, privileged: true}\n",
        },
    )
    assert f"{project / 'sub' / 'compose.yaml'}: not supported: services.a.privileged" in message


def test_an_include_through_a_link_out_of_the_project_is_refused(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "compose.yaml").write_text("services:\n  evil: {image: x}\n")
    os.symlink(outside, project / "vendor")
    message = _refusal(
        project,
        {"compose.yaml": "include: [vendor/compose.yaml]\nservices:\n  x: {image: x}\n"},
    )
    assert "include[0].path: 'vendor/compose.yaml' resolves outside" in message


def test_a_bind_mount_out_of_the_project_from_an_included_file_is_refused(project: Path) -> None:
    message = _refusal(
        project,
        {
            "compose.yaml": "include: [sub/compose.yaml]\nservices:\n  x: {image: x}\n",
            "sub/compose.yaml": "services:\n  a: {image: a, volumes: ['../../../etc:/host']}\n",
        },
    )
    assert "services.a.volumes" in message


@pytest.mark.docker
def test_an_included_service_is_built_and_runs_beside_the_file_s_own(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    _write(
        project,
        {
            "compose.yaml": (
                "include: [backend/compose.yaml]\n"
                "services:\n"
                "  web:\n"
                f"    image: {test_image}\n"
                "    command: [sh, -c, 'wget -qO- http://api:8080/ > /tmp/got; exec sleep 3600']\n"
                "    depends_on: {api: {condition: service_healthy}}\n"
            ),
            "backend/compose.yaml": (
                "services:\n"
                "  api:\n"
                "    build: .\n"
                "    volumes: ['./www:/www:ro']\n"
                "    command: [httpd, -f, -p, '8080', -h, /www]\n"
                "    healthcheck: {test: [CMD, wget, -qO-, 'http://localhost:8080/'], "
                "interval: 100ms, retries: 50}\n"
            ),
            "backend/Dockerfile": f"FROM {test_image}\n",
            "backend/www/index.html": "from the included file\n",
        },
    )
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "include")
    cleanup_docker.append(find_project(project).project_id())
    created = run_nexus("workspace", "create", "inc", "--compose", "compose.yaml")
    assert created.exit_code == 0, created.stderr
    got = run_nexus("workspace", "exec", "inc", "--service", "api", "--", "cat", "/www/index.html")
    assert got.stdout == "from the included file\n", got.stderr
    status = run_nexus("workspace", "status", "inc", "--json").json()
    states = {s["service"]: s["status"] for s in status["services"]}
    assert states == {"api": "running", "web": "running"}, status
    assert run_nexus("workspace", "delete", "inc", "--force").exit_code == 0
