"""Host ports for dev servers on the host: allocated from the machine-wide table, exported by
``nexus workspace env``, never equal to a container's or another workspace's port."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from nexus_cli import home_state
from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.workspaces import exposure, ports
from nexus_cli.workspaces.host_ports import preferred_port, service_variables, variable
from nexus_cli.workspaces.template_parsing import parse_host_ports
from tests.conftest import REPO_ROOT, nexus_exe, run_nexus
from tests.workspaces.conftest import write_test_template


def test_names_become_variables_and_preferred_ports_are_stable() -> None:
    assert variable("web") == "NEXUS_PORT_WEB" and variable("dev-api") == "NEXUS_PORT_DEV_API"
    first = preferred_port("p1", "w1", "web")
    assert first == preferred_port("p1", "w1", "web")
    assert 41000 <= first < 49000
    assert len({preferred_port("p1", f"w{i}", "web") for i in range(20)}) > 15


def test_each_published_port_is_an_address_the_host_reaches() -> None:
    def allocation(service: str, port: int, host_port: int, protocol: str = "tcp") -> Any:
        return ports.Allocation("p", "w", service, port, protocol, host_port)

    published = [
        allocation("web", 80, 41001),
        allocation("web", 443, 41002),
        allocation("dns-cache", 53, 41003, "udp"),
    ]
    assert service_variables(published, "127.0.0.1") == {
        "NEXUS_SERVICE_WEB_ADDR": "127.0.0.1:41001",  # the service's first port
        "NEXUS_SERVICE_WEB_80_ADDR": "127.0.0.1:41001",
        "NEXUS_SERVICE_WEB_443_ADDR": "127.0.0.1:41002",
        "NEXUS_SERVICE_DNS_CACHE_ADDR": "127.0.0.1:41003",
        "NEXUS_SERVICE_DNS_CACHE_53_UDP_ADDR": "127.0.0.1:41003",
    }
    assert service_variables(published[:1], "::1")["NEXUS_SERVICE_WEB_ADDR"] == "[::1]:41001"
    # as `workspace env --json` prints them, with its published schema
    schema = json.loads(
        (REPO_ROOT / "docs" / "schemas" / "v1" / "workspace-env.schema.json").read_text()
    )
    shown = {"NEXUS_WORKSPACE": "w", "NEXUS_WORKTREE": "/w", **service_variables(published, "::1")}
    assert list(Draft202012Validator(schema).iter_errors(shown)) == []


@pytest.mark.parametrize(
    "value",
    [
        ["Web"],
        ["web", "web"],
        "web",
        [1],
        ["x" * 33],
        [f"p{i}" for i in range(17)],
        ["web\n"],  # passed `$` before: `export NEXUS_PORT_WEB<newline>=…` broke `eval`
        ["a=b"],
        ["$(x)"],
    ],
)
def test_bad_template_host_ports_are_refused(value: object) -> None:
    with pytest.raises(ConfigError, match=r"x-nexus\.host_ports"):
        parse_host_ports(value, "t.yaml")


def test_create_env_ports_and_delete(project: Path, isolated_home: Path) -> None:
    created = run_nexus("workspace", "create", "hp", "--host-port", "web", "--host-port", "api")
    assert created.exit_code == 0, created.stderr
    env = run_nexus("workspace", "env", "hp", "--json").json()
    web, api = int(env["NEXUS_PORT_WEB"]), int(env["NEXUS_PORT_API"])
    assert web != api and env["PORT"] == str(web)
    assert env["NEXUS_WORKSPACE"] == "hp"
    rows = run_nexus("workspace", "ports", "hp", "--json").json()
    assert {(r["service"], r["kind"], r["container_port"], r["host_port"]) for r in rows} == {
        ("web", "host", None, web),
        ("api", "host", None, api),
    }
    # What a shell gets from `eval "$(nexus workspace env hp)"`.
    shell = subprocess.run(
        [
            "bash",
            "-c",
            'eval "$("$@" workspace env hp)" && echo "$PORT $NEXUS_PORT_API"',
            "-",
            *nexus_exe(),
        ],
        capture_output=True,
        text=True,
        cwd=project,
        env=os.environ.copy(),
        timeout=120,
        check=True,
    )
    assert shell.stdout.split() == [str(web), str(api)]
    # Rows of container ports stay in the form earlier versions of Nexus read.
    table = json.loads((isolated_home / "nexus-home" / ports.TABLE_FILE).read_text())
    assert all(row["host"] is True for row in table["allocations"])
    assert run_nexus("workspace", "delete", "hp", "--force").exit_code == 0
    assert ports.allocations_for(isolated_home / "nexus-home", "x", "hp") == []
    assert json.loads((isolated_home / "nexus-home" / ports.TABLE_FILE).read_text()) == {
        "version": 1,
        "allocations": [],
    }


def test_a_bad_name_on_the_command_line_is_a_usage_error(project: Path) -> None:
    result = run_nexus("workspace", "create", "hp", "--host-port", "Web!")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --host-port 'Web!' is not a name")
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_env_of_a_missing_workspace_suggests(project: Path) -> None:
    assert run_nexus("workspace", "create", "feature-x").exit_code == 0
    result = run_nexus("workspace", "env", "feature")
    assert result.exit_code != 0 and "no workspace named 'feature'" in result.stderr
    assert "did you mean 'feature-x'?" in result.stderr


@pytest.mark.docker
def test_six_parallel_workspaces_get_distinct_host_ports_never_a_containers(
    ws_project: Path, test_image: str
) -> None:
    template = write_test_template(ws_project, test_image, name="duohost")
    text = template.read_text().replace(
        "  default_service: db\n", "  default_service: db\n  host_ports: [web, api]\n"
    )
    template.write_text(text)
    names = [f"par{i}" for i in range(6)]
    started = [
        subprocess.Popen(
            [*nexus_exe(), "workspace", "create", name, "-t", "duohost", "--json"],
            cwd=ws_project,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    results = []
    for child in started:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err.decode()
        results.append(json.loads(out))
    host = [port for r in results for port in r["host_ports"].values()]
    containers = [a["host_port"] for r in results for a in r["ports"]]
    assert len(host) == 12 and len(set(host)) == 12
    assert len(containers) == 6 and len(set(containers)) == 6
    assert not set(host) & set(containers)
    for name, result in zip(names, results, strict=True):
        env = run_nexus("workspace", "env", name, "--json").json()
        assert env["NEXUS_PORT_WEB"] == str(result["host_ports"]["web"])
        # where a process on the host reaches the workspace's services
        [published] = result["ports"]
        service, address = published["service"].upper(), f"127.0.0.1:{published['host_port']}"
        assert env[f"NEXUS_SERVICE_{service}_ADDR"] == address
        assert env[f"NEXUS_SERVICE_{service}_{published['container_port']}_ADDR"] == address


@pytest.mark.parametrize("name", ["web\n", "a=b", "$(touch x)", "web\x1b[2J"])
def test_a_hostile_name_on_the_command_line_is_refused_before_anything_is_made(
    project: Path, name: str
) -> None:
    result = run_nexus("workspace", "create", "hp", "--host-port", name)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: --host-port ") and "is not a name" in result.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_the_template_and_the_command_line_together_stay_within_the_limit(
    project: Path, isolated_home: Path
) -> None:
    names = [f"t{i}" for i in range(16)]
    folder = project / ".nexus" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "many.yaml").write_text(f"x-nexus:\n  host_ports: [{', '.join(names)}]\n")
    result = run_nexus("workspace", "create", "hp", "--template", "many", "--host-port", "extra")
    assert result.exit_code == 2, result.stderr
    assert "at most 16 per workspace" in result.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    table = isolated_home / "nexus-home" / ports.TABLE_FILE
    assert not table.exists() or json.loads(table.read_text())["allocations"] == []
    assert not (project / ".nexus" / "worktrees" / "hp").exists()
    wide = run_nexus(
        "workspace", "create", "hp", "-t", "many", "--host-port", "extra", "--bind-all"
    )
    assert wide.exit_code == 2 and "at most 16 per workspace" in wide.stderr, wide.stderr
    grants = home_state.document_path(exposure.GRANTS_DIR, find_project().machine_key())
    assert not os.path.exists(grants)  # refused before the wider address was remembered
